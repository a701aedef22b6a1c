"""Input shapes of the controls actions (validated by the runner)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class FutureDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed <= timezone.now():
            raise serializers.ValidationError(_("Must be in the future."))
        return parsed


class PauseBankInput(serializers.Serializer):
    target_fields = ("bank_profile_id",)
    bank_profile_id = serializers.UUIDField()
    reason = serializers.CharField(max_length=500, trim_whitespace=True)
    expires_at = FutureDateTimeField(required=False, allow_null=True)


class ResumeBankInput(serializers.Serializer):
    target_fields = ("bank_profile_id",)
    bank_profile_id = serializers.UUIDField()
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
