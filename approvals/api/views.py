from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.filters import ApprovalFilter
from approvals.models import ApprovalRequest
from approvals.selectors import (
    approval_get,
    approval_list,
    approval_pending_list,
    approval_signable_by,
)
from approvals.serializers import ApprovalSerializer
from molam_ops.errors import OpsError
from molam_ops.identity import request_principal

FLAGS = [
    OpenApiParameter("mine", bool, description="Only the caller's own requests."),
    OpenApiParameter(
        "signable", bool, description="Only the requests the caller may sign."
    ),
]


def _mine_or_signable(
    request: Request, queryset: QuerySet[ApprovalRequest]
) -> QuerySet[ApprovalRequest]:
    """``?mine=true``: the caller's own requests; ``?signable=true``: those the
    caller may sign (not theirs, not decided by them, an approver role)."""
    principal = request_principal(request)
    flags = request.query_params
    if principal is None:
        return queryset.none()
    if flags.get("mine") in {"1", "true"}:
        queryset = queryset.filter(initiator_id=principal.id)
    if flags.get("signable") in {"1", "true"}:
        queryset = approval_signable_by(queryset, principal)
    return queryset


@extend_schema(tags=["approvals"])
class PendingApprovalListApi(generics.ListAPIView):
    """Open multi-signature requests (pending, not expired), newest first."""

    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter

    @extend_schema(parameters=FLAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        return _mine_or_signable(self.request, approval_pending_list())


@extend_schema(tags=["approvals"])
class ApprovalListApi(generics.ListAPIView):
    """Every request, including expired, declined and executed ones."""

    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter

    @extend_schema(parameters=FLAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        return _mine_or_signable(self.request, approval_list())


class ApprovalDetailApi(APIView):
    @extend_schema(
        tags=["approvals"],
        responses=inline_serializer(
            "ApprovalDetail",
            {"ok": serializers.BooleanField(), "approval": ApprovalSerializer()},
        ),
    )
    def get(self, request: Request, approval_id: uuid.UUID) -> Response:
        """One request; its approval_token only for the initiator and signers."""
        approval = approval_get(approval_id)
        if approval is None:
            raise OpsError(
                "approval_not_found", _("No approval request with this id."), status=404
            )
        data = ApprovalSerializer(approval, context={"request": request}).data
        return Response({"ok": True, "approval": data})
