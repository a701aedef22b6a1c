from django.urls import path

from audit.api import views

urlpatterns = [
    path("actions", views.ActionLogListApi.as_view(), name="action-log-list"),
    path(
        "actions/export", views.ActionLogExportApi.as_view(), name="action-log-export"
    ),
    path("audit/verify", views.ChainVerifyApi.as_view(), name="audit-verify"),
]
