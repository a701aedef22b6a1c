from django.urls import path

from audit.api import checkpoints, jobs, views

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
    path(
        "audit/checkpoints",
        checkpoints.CheckpointListApi.as_view(),
        name="audit-checkpoints",
    ),
    path(
        "audit/checkpoint-key",
        checkpoints.CheckpointKeyApi.as_view(),
        name="audit-checkpoint-key",
    ),
    path(
        "audit/checkpoint.note",
        checkpoints.CheckpointNoteApi.as_view(),
        name="audit-checkpoint-note",
    ),
    path("audit/proof", checkpoints.ProofApi.as_view(), name="audit-proof"),
    path(
        "audit/consistency",
        checkpoints.ConsistencyApi.as_view(),
        name="audit-consistency",
    ),
]
