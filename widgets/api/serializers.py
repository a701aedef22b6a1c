"""The documented shape of the KPI summary (``widgets.selectors.kpi_summary``):
served by ``GET /api/metrics/summary`` and pushed on ``/ws/kpis/``, so the
OpenAPI and AsyncAPI documents share this one description."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from controls.keys import FREEZE_SCOPES
from payouts.choices import BankStatus, CircuitState

Money = serializers.DecimalField  # a decimal string with its currency beside it


def _money(**kwargs: Any) -> serializers.DecimalField:
    return Money(max_digits=20, decimal_places=2, **kwargs)


class TreasuryFigureSerializer(serializers.Serializer[Any]):
    """Balance and float of one currency's treasury accounts."""

    currency = serializers.CharField()
    balance = _money()
    float = _money(help_text="The minimum float the accounts must keep.")
    headroom = _money(help_text="What stands above the float (may be negative).")
    accounts = serializers.IntegerField()
    accounts_below_float = serializers.IntegerField()


class CurrencyAmountSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    amount = _money()


class PayoutCurrencyFigureSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    pending = serializers.IntegerField()
    processing = serializers.IntegerField()
    failed = serializers.IntegerField()
    sent_24h = serializers.IntegerField()
    settled_24h = serializers.IntegerField()
    settled_amount_24h = _money()


class PayoutFiguresSerializer(serializers.Serializer[Any]):
    """Open payouts now, and those sent and settled in the last 24 hours."""

    pending = serializers.IntegerField()
    processing = serializers.IntegerField()
    failed = serializers.IntegerField()
    sent_24h = serializers.IntegerField()
    settled_24h = serializers.IntegerField()
    settled_amount_24h = CurrencyAmountSerializer(many=True)
    by_currency = PayoutCurrencyFigureSerializer(many=True)


class BankHealthSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    names = serializers.DictField(
        child=serializers.CharField(), help_text="The name in each UI language."
    )
    status = serializers.ChoiceField(BankStatus.choices)
    circuit_state = serializers.ChoiceField(CircuitState.choices)
    paused = serializers.BooleanField()
    frozen = serializers.BooleanField()
    freeze_scope = serializers.ChoiceField(FREEZE_SCOPES, allow_null=True)
    success_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    avg_latency_ms = serializers.IntegerField()
    currencies = serializers.ListField(child=serializers.CharField())
    last_health_check_at = serializers.DateTimeField(allow_null=True)


class ActiveFreezeSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    scope = serializers.ChoiceField(FREEZE_SCOPES)
    bank_profile_id = serializers.UUIDField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    since = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class FreezeFiguresSerializer(serializers.Serializer[Any]):
    # "global" is a keyword of Python: the field is declared below
    count = serializers.IntegerField()
    active = ActiveFreezeSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {"global": serializers.BooleanField(), **super().get_fields()}


class ApprovalFiguresSerializer(serializers.Serializer[Any]):
    pending = serializers.IntegerField()
    revision = serializers.CharField(
        help_text="Changes whenever a request appears, is signed or closes."
    )


class SuggestionFiguresSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    open = serializers.IntegerField()


class KpiSummarySerializer(serializers.Serializer[Any]):
    """Every KPI of the widgets, computed at ``computed_at``."""

    computed_at = serializers.DateTimeField()
    treasury = TreasuryFigureSerializer(many=True)
    payouts = PayoutFiguresSerializer()
    banks = BankHealthSerializer(many=True)
    freezes = FreezeFiguresSerializer()
    approvals = ApprovalFiguresSerializer()
    suggestions = SuggestionFiguresSerializer()


class MetricsSummarySerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    summary = KpiSummarySerializer()
