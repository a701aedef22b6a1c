"""Input shapes of the controls actions (validated by the runner)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from molam_ops.lib.fields import AsciiIntegerField, UUIDStringField


class FutureDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed <= timezone.now():
            raise serializers.ValidationError(_("Must be in the future."))
        return parsed


class PauseBankInput(serializers.Serializer):
    target_fields = ("bank_profile_id",)
    bank_profile_id = UUIDStringField()
    reason = serializers.CharField(max_length=500, trim_whitespace=True)
    expires_at = FutureDateTimeField(required=False, allow_null=True)
    # figures behind an automatic pause (the circuit breaker's), kept in audit
    evidence = serializers.DictField(required=False)


class ResumeBankInput(serializers.Serializer):
    target_fields = ("bank_profile_id",)
    bank_profile_id = UUIDStringField()
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["global"]},
            {
                "type": "object",
                "properties": {"bank_profile_id": {"type": "string", "format": "uuid"}},
                "required": ["bank_profile_id"],
                "additionalProperties": False,
            },
        ]
    }
)
class ScopeField(serializers.Field):
    """``"global"`` or ``{"bank_profile_id": "<uuid>"}``."""

    default_error_messages = {
        # braces doubled: DRF formats this message with str.format
        "invalid": _('Expected "global" or {{"bank_profile_id": "<uuid>"}}.'),
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if data == "global":
            return {"kind": "global"}
        if isinstance(data, dict) and set(data) == {"bank_profile_id"}:
            bank_id = UUIDStringField().run_validation(data["bank_profile_id"])
            return {"kind": "bank", "bank_profile_id": bank_id}
        self.fail("invalid")
        raise AssertionError("unreachable")

    def to_representation(self, value: dict[str, Any]) -> Any:
        if value["kind"] == "global":
            return "global"
        return {"bank_profile_id": str(value["bank_profile_id"])}


MAX_TTL_SECONDS = 30 * 24 * 3600


class FreezeInput(serializers.Serializer):
    target_fields = ("scope",)
    scope = ScopeField()
    reason = serializers.CharField(max_length=500)
    expires_at = FutureDateTimeField(required=False, allow_null=True)
    ttl_seconds = AsciiIntegerField(
        required=False, min_value=1, max_value=MAX_TTL_SECONDS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("expires_at") and attrs.get("ttl_seconds"):
            raise serializers.ValidationError(
                {"ttl_seconds": [_("Give expires_at or ttl_seconds, not both.")]}
            )
        return attrs


class UnfreezeInput(serializers.Serializer):
    target_fields = ("scope",)
    scope = ScopeField()
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
