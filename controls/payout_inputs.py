"""Input shapes of the payout and report actions (validated by the runner)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from controls.inputs import UUIDStringField


class PastDateTimeField(serializers.DateTimeField):
    """A time that has already happened (a ``since``)."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed > timezone.now():
            raise serializers.ValidationError(_("Must not be in the future."))
        return parsed


class PastDateField(serializers.DateField):
    """A day that has begun (UTC): there is nothing to settle for tomorrow."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):  # DRF also takes date objects; JSON cannot
            self.fail("invalid", format="YYYY-MM-DD")
        parsed = super().to_internal_value(value)
        if parsed > timezone.now().date():
            raise serializers.ValidationError(_("Must not be in the future."))
        return parsed


class RetryPayoutInput(serializers.Serializer):
    target_fields = ("payout_id",)
    payout_id = UUIDStringField()
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class MarkDisputeInput(serializers.Serializer):
    target_fields = ("payout_id",)
    payout_id = UUIDStringField()
    reason = serializers.CharField(max_length=500)


class RetryFailedPayoutsInput(serializers.Serializer):
    target_fields = ("bank_profile_id", "since")
    bank_profile_id = UUIDStringField(required=False, allow_null=True, default=None)
    since = PastDateTimeField(required=False, allow_null=True, default=None)


class RegenerateSettlementReportInput(serializers.Serializer):
    target_fields = ("date", "bank_profile_id")
    date = PastDateField()
    bank_profile_id = UUIDStringField(required=False, allow_null=True, default=None)


class ForceReconciliationInput(serializers.Serializer):
    target_fields = ("bank_profile_id",)
    bank_profile_id = UUIDStringField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=500)
