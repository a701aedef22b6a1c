from django.urls import path

from audit.api import jobs, views

urlpatterns = [
    path("actions", views.ActionLogListApi.as_view(), name="action-log-list"),
    path(
        "actions/export", views.ActionLogExportApi.as_view(), name="action-log-export"
    ),
    path("audit/verify", views.ChainVerifyApi.as_view(), name="audit-verify"),
    path("audit/jobs", jobs.AuditJobListApi.as_view(), name="audit-job-list"),
    path("audit/jobs/<str:job_id>", jobs.AuditJobApi.as_view(), name="audit-job"),
    path(
        "audit/jobs/<str:job_id>/download",
        jobs.AuditJobDownloadApi.as_view(),
        name="audit-job-download",
    ),
]
