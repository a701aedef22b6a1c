from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.filters import ApprovalFilter
from approvals.models import ApprovalRequest
from approvals.selectors import approval_get, approval_list, approval_pending_list
from approvals.serializers import approval_data
from molam_ops.errors import OpsError
from molam_ops.identity import request_principal


class ApproverSerializer(serializers.Serializer):
    signer_id = serializers.CharField()
    role = serializers.CharField()
    decision = serializers.CharField()
    comment = serializers.CharField()
    signed_at = serializers.DateTimeField()


class ApprovalSerializer(serializers.Serializer):
    """Renders ``approval_data``; the declared fields document it (OpenAPI)."""

    id = serializers.UUIDField()
    action_reference = serializers.UUIDField()
    action_type = serializers.CharField()
    summary = serializers.DictField()
    initiator_id = serializers.CharField()
    required_approvals = serializers.IntegerField()
    current_approvals = serializers.IntegerField()
    approvers = ApproverSerializer(many=True)
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    approval_token = serializers.CharField(
        required=False, help_text="Only for the initiator and the signers."
    )
    token_used = serializers.BooleanField(required=False)

    def to_representation(self, instance: ApprovalRequest) -> dict[str, Any]:
        principal = request_principal(self.context["request"])
        return approval_data(instance, viewer_id=principal.id if principal else None)


@extend_schema(tags=["approvals"])
class PendingApprovalListApi(generics.ListAPIView):
    """Open multi-signature requests (pending, not expired), newest first."""

    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        return approval_pending_list()


@extend_schema(tags=["approvals"])
class ApprovalListApi(generics.ListAPIView):
    """Every request, including expired, declined and executed ones."""

    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilter

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        return approval_list()


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
        principal = request_principal(request)
        return Response(
            {
                "ok": True,
                "approval": approval_data(
                    approval, viewer_id=principal.id if principal else None
                ),
            }
        )
