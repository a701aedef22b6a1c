"""``GET /api/ops/actions``, its streamed export, and the chain check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.jobs import ASYNC_DESCRIPTION, JOB_RESPONSE, export_job, verify_job
from audit.api.serializers import ChainReportSerializer, verification_json
from audit.exports import CONTENT_TYPES, FORMATS, encoder
from audit.filters import ActionLogFilter
from audit.models import OpsActionLog
from audit.selectors import action_log_chunks, action_log_list
from audit.serializers import audit_row
from audit.verification import start, verify
from molam_ops.api import AuditRowSerializer
from molam_ops.errors import OpsError
from molam_ops.lib.query import query_flag
from molam_ops.pagination import KeysetPagination


class ActionLogSerializer(serializers.BaseSerializer):
    def to_representation(self, instance: OpsActionLog) -> dict[str, Any]:
        return audit_row(instance)


@extend_schema(tags=["audit"], responses=AuditRowSerializer(many=True))
class ActionLogListApi(generics.ListAPIView):
    """Audit rows, newest first; filters actor_id, action_type, action_id,
    status, from, to; paged by keyset (``next``), whatever the log's size."""

    serializer_class = ActionLogSerializer
    filterset_class = ActionLogFilter
    pagination_class = KeysetPagination

    def get_queryset(self) -> QuerySet[OpsActionLog]:
        return action_log_list()


def _filtered(request: Request, view: Any) -> QuerySet[OpsActionLog]:
    fs = ActionLogFilter(request.query_params, queryset=action_log_list())
    if not fs.is_valid():
        raise OpsError(
            "validation_error",
            _("Some fields are invalid."),
            fields={k: [str(e) for e in v] for k, v in fs.errors.items()},
        )
    return fs.qs


def _next_chunk(chunks: Iterator[list[OpsActionLog]]) -> list[OpsActionLog] | None:
    return next(chunks, None)


async def _rows(qs: QuerySet[OpsActionLog]) -> AsyncIterator[list[dict[str, Any]]]:
    # An async iterator: under ASGI a sync one would be read whole into memory.
    chunks = action_log_chunks(qs)
    while True:
        rows = await sync_to_async(_next_chunk, thread_sensitive=True)(chunks)
        if rows is None:
            return
        yield [audit_row(r) for r in rows]


async def _stream(qs: QuerySet[OpsActionLog], fmt: str) -> AsyncIterator[str]:
    enc = encoder(fmt)
    yield enc.start()
    async for rows in _rows(qs):  # one piece per page of rows, not per row
        yield enc.page(rows)
    yield enc.end()


class ActionLogExportApi(APIView):
    """Every matching row, oldest first, streamed as CSV or a JSON array."""

    @extend_schema(
        tags=["audit"],
        parameters=[
            OpenApiParameter("format", str, enum=["csv", "json"]),
            OpenApiParameter("async", bool, description=ASYNC_DESCRIPTION),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): AuditRowSerializer(many=True),
            (202, "application/json"): JOB_RESPONSE,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse | Response:
        fmt = request.query_params.get("format", "csv")
        if fmt not in FORMATS:
            raise OpsError(
                "validation_error",
                _("Some fields are invalid."),
                fields={"format": [_("Expected csv or json.")]},
            )
        qs = _filtered(request, self)
        # past AUDIT_SYNC_MAX_ROWS rows (or with ?async=1): 202 and a job
        if accepted := export_job(request, qs, fmt):
            return accepted
        resp = StreamingHttpResponse(
            _stream(qs, fmt), content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8"
        )
        resp["Content-Disposition"] = f'attachment; filename="ops_actions_log.{fmt}"'
        return resp


class ChainVerifyApi(APIView):
    """Walk the hash chain and name every broken row (the first 100)."""

    @extend_schema(
        tags=["audit"],
        parameters=[
            OpenApiParameter(
                "full",
                bool,
                description="Walk every row and check every checkpoint "
                "(default: only the rows after the newest trusted checkpoint).",
            ),
            OpenApiParameter("async", bool, description=ASYNC_DESCRIPTION),
        ],
        responses={200: ChainReportSerializer, 202: JOB_RESPONSE},
    )
    def get(self, request: Request) -> Response:
        full = query_flag(request, "full")
        begin = start(full=full)
        # more than AUDIT_SYNC_MAX_ROWS rows to walk: 202 and a job
        if accepted := verify_job(request, begin):
            return accepted
        return Response(verification_json(verify(full=full, at=begin)))
