"""The JSON shape of an approval (DESIGN §6).

Who reads it matters: ``approval_token`` is shown only to the initiator and
the signers while it can still be used, and ``can_sign`` tells the viewer
whether a signature of theirs would count. The viewer is
``context["viewer_id"]`` (and ``viewer_roles``), or else the principal of
``context["request"]``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from approvals import binding
from approvals.choices import ApprovalStatus
from approvals.lifecycle import effective_status
from approvals.models import ApprovalRequest, ApprovalSignature
from approvals.summaries import summary
from molam_ops.identity import request_principal
from molam_ops.schema import resource_schema


class ApproverSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="signer_role")
    signed_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ApprovalSignature
        fields = ["signer_id", "role", "decision", "comment", "signed_at"]
        read_only_fields = fields


class _LeftOutWhenNone:
    """A field read from the serializer's ``get_<name>``, absent from the
    object when that returns None (hence optional in the schema)."""

    field_name: str | None  # Field's: set when DRF binds the field
    parent: Any

    def get_attribute(self, instance: Any) -> Any:
        value = getattr(self.parent, f"get_{self.field_name}")(instance)
        if value is None:
            raise SkipField
        return value


class _OptionalChar(_LeftOutWhenNone, serializers.CharField):
    pass


class _OptionalBoolean(_LeftOutWhenNone, serializers.BooleanField):
    pass


class ApprovalSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField(
        help_text="One sentence in the reader's language: who asks for what, on "
        "which target, how much, why, the signatures so far, until when."
    )
    target = serializers.SerializerMethodField(
        help_text="What the action acts on, by name."
    )
    approvers = ApproverSerializer(many=True, source="signatures")
    status = serializers.SerializerMethodField()
    can_sign = serializers.SerializerMethodField(
        help_text="Whether a signature of the caller would count: pending, not "
        "theirs, not signed by them yet, and they hold an approver role."
    )
    approval_token = _OptionalChar(
        required=False,
        help_text="Once approved and until used or expired; only for the "
        "initiator and the signers.",
    )
    token_used = _OptionalBoolean(required=False)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "action_reference",
            "action_type",
            "summary",
            "target",
            "initiator_id",
            "required_approvals",
            "current_approvals",
            "approvers",
            "status",
            "expires_at",
            "created_at",
            "decided_at",
            "can_sign",
            "approval_token",
            "token_used",
        ]
        read_only_fields = fields

    def to_representation(self, instance: ApprovalRequest) -> dict[str, Any]:
        # several fields read the signatures: fetched once (a no-op when the
        # selector prefetched them)
        prefetch_related_objects([instance], "signatures")
        return super().to_representation(instance)

    def _viewer(self) -> tuple[str | None, Collection[str]]:
        if "viewer_id" in self.context:
            return self.context["viewer_id"], self.context.get("viewer_roles", ())
        request = self.context.get("request")
        principal = request_principal(request) if request is not None else None
        return (principal.id, principal.roles) if principal else (None, ())

    @staticmethod
    def _signers(obj: ApprovalRequest) -> set[str]:
        return {s.signer_id for s in obj.signatures.all()}

    def get_summary(self, obj: ApprovalRequest) -> str:
        return summary(obj)

    def get_target(self, obj: ApprovalRequest) -> dict[str, Any]:
        return (obj.facts or {}).get("target") or {}

    @extend_schema_field(serializers.ChoiceField(ApprovalStatus.choices))
    def get_status(self, obj: ApprovalRequest) -> str:
        return effective_status(obj)

    def get_can_sign(self, obj: ApprovalRequest) -> bool:
        viewer_id, viewer_roles = self._viewer()
        return bool(
            effective_status(obj) == ApprovalStatus.PENDING
            and viewer_id
            and viewer_id != obj.initiator_id
            and viewer_id not in self._signers(obj)
            and set(viewer_roles) & set(settings.APPROVER_ROLES)
        )

    def _insider(self, obj: ApprovalRequest) -> bool:
        viewer_id, _roles = self._viewer()
        return obj.mode == "token" and viewer_id in {
            obj.initiator_id,
            *self._signers(obj),
        }

    def get_approval_token(self, obj: ApprovalRequest) -> str | None:
        usable = (
            effective_status(obj) == ApprovalStatus.APPROVED and not obj.token_used_at
        )
        return binding.token_for(obj) if usable and self._insider(obj) else None

    def get_token_used(self, obj: ApprovalRequest) -> bool | None:
        return obj.token_used_at is not None if self._insider(obj) else None


resource_schema("approval", ApprovalSerializer)
