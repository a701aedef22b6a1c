from django.urls import path

from approvals.api import views

urlpatterns = [
    path(
        "pending-approvals",
        views.PendingApprovalListApi.as_view(),
        name="pending-approvals",
    ),
    path("approvals", views.ApprovalListApi.as_view(), name="approval-list"),
    path(
        "approvals/<uuid:approval_id>",
        views.ApprovalDetailApi.as_view(),
        name="approval-detail",
    ),
]
