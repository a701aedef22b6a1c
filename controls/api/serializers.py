from __future__ import annotations

from rest_framework import serializers

from controls.keys import FREEZE_SCOPES
from controls.selectors import BankView
from payouts.choices import BankStatus, CircuitState


class BankSerializer(serializers.Serializer):
    """A bank as DESIGN §6 names it, with its pause and freeze state."""

    id = serializers.UUIDField(source="bank.id")
    code = serializers.CharField(source="bank.code")
    name = serializers.CharField(source="bank.name")
    country = serializers.CharField(source="bank.country")
    currencies = serializers.ListField(
        child=serializers.CharField(), source="bank.currencies"
    )
    status = serializers.ChoiceField(BankStatus.choices, source="bank.status")
    circuit_state = serializers.ChoiceField(
        CircuitState.choices, source="bank.circuit_state"
    )
    success_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, source="bank.success_rate"
    )
    avg_latency_ms = serializers.IntegerField(source="bank.avg_latency_ms")
    paused = serializers.BooleanField()
    frozen = serializers.BooleanField()
    freeze_scope = serializers.ChoiceField(FREEZE_SCOPES, allow_null=True)
    last_health_check_at = serializers.DateTimeField(
        source="bank.last_health_check_at", allow_null=True
    )

    def to_representation(self, instance: BankView) -> dict:
        return super().to_representation(instance)
