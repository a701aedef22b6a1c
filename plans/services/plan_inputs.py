"""The inputs of plan generation (DESIGN §8): ``generate_plan``'s
``plan_params`` and the system action ``record_plan``'s record.

``plan_params``:

- ``type``: ``routing_optimization``, ``float_rebalance`` or ``risk_mitigation``;
- ``timeframe``: the horizon the plan covers, in hours: an integer, or a string
  ``"<n>h"`` or ``"<n>d"`` (``"24h"``, ``"7d"``); from 1 hour to 30 days,
  default 24 hours; stored as ``timeframe_hours``;
- ``constraints`` (all optional), as the local planner defines them
  (``plans.planner.types.Constraints``): ``max_cost`` (USD of fees after the
  plan, 0 to 1e12), ``min_success_rate`` (0 to 1), ``max_bank_share`` (0.01
  to 1), ``failure_rate_threshold`` (0 to 1), ``buffer_percent`` (0 to 10),
  ``min_saving_per_payout`` (USD, 0 to 1000). An unknown constraint is
  refused (400), so a typo never passes silently as "no constraint". An
  omitted ``min_success_rate`` is 0.90 (below it a bank is red), and whatever
  the constraints say, no step sends payouts or funds into a bank that is
  paused, frozen, red or whose breaker is open or half-open
  (``plans.planner.safety``); the plan states every value it used, given or
  default, in ``details.constraints_used``;
- ``currencies``, ``banks`` (optional lists of currency codes and bank ids):
  the plan touches only these; an unknown one is refused (400);
- ``override`` (optional): ``{"allow_banks": [bank ids], "reason": "..."}``
  lets the named banks receive despite the safety rule (never a currency
  they do not serve); the reason is required, and the override is recorded in
  the plan's ``details.override`` and the ``generate_plan`` audit row.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payouts.models import BankProfile
from plans.choices import PlanType
from plans.planner.types import ConstraintError, Constraints

MAX_TIMEFRAME_HOURS = 30 * 24
TIMEFRAME = re.compile(r"^\s*([0-9]{1,4})\s*([hd])\s*$")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_TIMEFRAME_HOURS},
            {"type": "string", "pattern": "^[0-9]{1,4}[hd]$", "example": "24h"},
        ],
        "description": "Hours, or a string like 24h or 7d; 1 hour to 30 days.",
    }
)
class TimeframeField(serializers.Field):
    """Hours, as an integer or ``"<n>h"`` / ``"<n>d"``; 1 h to 30 days."""

    default_error_messages = {
        "invalid": _('Expected hours as an integer, or a string like "24h" or "7d".'),
        "range": _("Must be from 1 hour to 30 days."),
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            hours = data
        elif isinstance(data, str) and (match := TIMEFRAME.match(data)):
            hours = int(match[1]) * (24 if match[2] == "d" else 1)
        else:
            self.fail("invalid")
        if not 1 <= hours <= MAX_TIMEFRAME_HOURS:
            self.fail("range")
        return hours

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {
                "type": "string",
                "format": "decimal",
                "description": f"{low} to {high}",
            }
            for name, (low, high) in Constraints.LIMITS.items()
        },
    }
)
class ConstraintsField(serializers.Field):
    """``constraints``: checked by the planner's own ``Constraints`` (one
    definition of names and ranges); kept as decimal strings."""

    default_error_messages = {"invalid": _("Expected an object.")}

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            self.fail("invalid")
        try:
            Constraints.from_params(data)
        except ConstraintError as exc:
            raise serializers.ValidationError(exc.fields) from None
        return {
            k: str(Decimal(str(v))) for k, v in sorted(data.items()) if v is not None
        }

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


def _unknown_banks(ids: list[uuid.UUID]) -> list[str]:
    known = set(BankProfile.objects.filter(id__in=ids).values_list("id", flat=True))
    return [str(i) for i in ids if i not in known]


class OverrideInput(serializers.Serializer):
    """``override``: banks an operator lets receive despite the safety rule."""

    allow_banks = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=100
    )
    reason = serializers.CharField(max_length=500, trim_whitespace=True)

    def validate_allow_banks(self, value: list[uuid.UUID]) -> list[str]:
        if unknown := _unknown_banks(value):
            raise serializers.ValidationError(
                _("Unknown bank(s): %(ids)s") % {"ids": ", ".join(unknown)}
            )
        return sorted({str(v) for v in value})


class PlanParamsInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=PlanType.choices)
    timeframe = TimeframeField(required=False, default=24)
    constraints = ConstraintsField(required=False, default=dict)
    currencies = serializers.ListField(
        child=serializers.RegexField(r"^[A-Z]{3}$"),
        required=False,
        min_length=1,
        max_length=50,
    )
    banks = serializers.ListField(
        child=serializers.UUIDField(), required=False, min_length=1, max_length=500
    )
    override = OverrideInput(required=False)

    def validate_currencies(self, value: list[str]) -> list[str]:
        served: set[str] = set()
        for currencies in BankProfile.objects.values_list("currencies", flat=True):
            served.update(currencies or ())
        if unknown := sorted(set(value) - served):
            raise serializers.ValidationError(
                _("No bank serves: %(codes)s") % {"codes": ", ".join(unknown)}
            )
        return sorted(set(value))

    def validate_banks(self, value: list[uuid.UUID]) -> list[str]:
        if unknown := _unknown_banks(value):
            raise serializers.ValidationError(
                _("Unknown bank(s): %(ids)s") % {"ids": ", ".join(unknown)}
            )
        return sorted({str(v) for v in value})


class GeneratePlanInput(serializers.Serializer):
    target_fields = ("plan_params",)
    plan_params = PlanParamsInput()


class RecordPlanInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = serializers.UUIDField()
    record = serializers.DictField()
