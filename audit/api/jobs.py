"""``/api/ops/audit/jobs``: the caller's exports and verifications that run on
a worker (audit/jobs.py), their progress and their result files.

A job is seen by the person who asked for it, and no one else: any operator
may read the audit log (every GET is open to the three roles, DESIGN §4) and
so ask for the same job; another's job is ``404`` as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import jobs
from audit.choices import JobKind, JobStatus
from audit.exports import CONTENT_TYPES
from audit.models import AuditJob, OpsActionLog
from audit.verification import Start, rows_after
from molam_ops.errors import OpsError
from molam_ops.identity import required_principal
from molam_ops.lib.fields import iso_utc
from molam_ops.lib.query import query_flag
from molam_ops.schema import ErrorSerializer

# ``?async=1`` asks for a job whatever the size (``0``, the default: only past
# AUDIT_SYNC_MAX_ROWS rows)
ASYNC_PARAM = "async"
ASYNC_DESCRIPTION = (
    "Run as a job (202) whatever the size; without it, only past"
    " AUDIT_SYNC_MAX_ROWS rows."
)


def job_data(request: Request, job: AuditJob) -> dict[str, Any]:
    done = job.status == JobStatus.DONE
    download = reverse("audit-job-download", args=[job.id]) if done else None
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "total": job.total,
        "created_at": iso_utc(job.created_at),
        "finished_at": iso_utc(job.finished_at),
        "download": request.build_absolute_uri(download) if download else None,
        "error": job.error or None,
    }


def _accepted(request: Request, job: AuditJob) -> Response:
    url = request.build_absolute_uri(reverse("audit-job", args=[job.id]))
    return Response(
        {"ok": True, "job": job_data(request, job)},
        status=202,
        headers={"Location": url},
    )


def export_job(
    request: Request, qs: QuerySet[OpsActionLog], fmt: str
) -> Response | None:
    """The 202 of an export too big for a request (or asked as a job);
    ``None``: stream it."""
    asked = query_flag(request, ASYNC_PARAM)
    if not (asked or jobs.more_rows_than(qs, settings.AUDIT_SYNC_MAX_ROWS)):
        return None
    job = jobs.start_export(
        fmt=fmt,
        query=request.query_params,
        requested_by=required_principal(request).id,
    )
    return _accepted(request, job)


def verify_job(request: Request, begin: Start) -> Response | None:
    """The 202 of a verification with more rows to walk (after ``begin``)
    than a request may; ``None``: verify inline."""
    limit = settings.AUDIT_SYNC_MAX_ROWS
    asked = query_flag(request, ASYNC_PARAM)
    if not (asked or rows_after(begin.after_seq, cap=limit + 1) > limit):
        return None
    job = jobs.start_verify(
        full=query_flag(request, "full"),
        after_seq=begin.after_seq,
        requested_by=required_principal(request).id,
    )
    return _accepted(request, job)


JOB_SCHEMA = inline_serializer(
    "AuditJob",
    {
        "id": serializers.UUIDField(),
        "kind": serializers.ChoiceField(JobKind.choices),
        "status": serializers.ChoiceField(JobStatus.choices),
        "progress": serializers.IntegerField(),
        "total": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
        "finished_at": serializers.DateTimeField(allow_null=True),
        "download": serializers.URLField(allow_null=True),
        "error": serializers.CharField(allow_null=True),
    },
)
JOB_RESPONSE = inline_serializer(
    "AuditJobResponse", {"ok": serializers.BooleanField(), "job": JOB_SCHEMA}
)


class _JobSerializer(serializers.BaseSerializer):
    def to_representation(self, instance: AuditJob) -> dict[str, Any]:
        return job_data(self.context["request"], instance)


@extend_schema(tags=["audit"], responses=JOB_SCHEMA)
class AuditJobListApi(generics.ListAPIView):
    """The caller's audit jobs, newest first."""

    serializer_class = _JobSerializer
    queryset = AuditJob.objects.none()  # for the schema; the caller's below

    def get_queryset(self) -> QuerySet[AuditJob]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return self.queryset
        return jobs.job_list(requested_by=required_principal(self.request).id)


class AuditJobApi(APIView):
    """One of the caller's audit jobs: its status and progress."""

    @extend_schema(tags=["audit"], responses=JOB_RESPONSE)
    def get(self, request: Request, job_id: str) -> Response:
        job = jobs.job_get(job_id=job_id, requested_by=required_principal(request).id)
        return Response({"ok": True, "job": job_data(request, job)})


class AuditJobDownloadApi(APIView):
    """The result file of a finished job; 409 ``job_not_ready`` before."""

    @extend_schema(
        tags=["audit"],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            409: ErrorSerializer,
        },
    )
    def get(self, request: Request, job_id: str) -> FileResponse:
        job = jobs.job_get(job_id=job_id, requested_by=required_principal(request).id)
        if job.status != JobStatus.DONE:
            raise OpsError(
                "job_not_ready",
                _("The job has not finished (%(status)s).") % {"status": job.status},
                status=409,
                fields={"status": job.status},
            )
        fmt = job.params.get("format", "json")
        stem = "ops_actions_log" if job.kind == JobKind.EXPORT else "audit_verify"
        try:
            result = jobs.result_path(job).open("rb")
        except FileNotFoundError:  # removed from the volume by hand
            raise OpsError(
                "not_found", _("No such endpoint or resource."), status=404
            ) from None
        return FileResponse(
            result,
            as_attachment=True,
            filename=f"{stem}.{fmt}",
            content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8",
        )
