"""set_flag: feature flags stored as ``feature:<name>`` controls (DESIGN §9).

``set-flag`` sets the whole flag (like a PUT): fields left out take their
defaults (``percentage`` 100, empty ``allow`` and ``deny``, no expiry), so what
the request says is exactly what is in force afterwards, and the audit row
holds both the new state and the one it replaced.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from controls.inputs import FutureDateTimeField
from controls.keys import feature_key
from controls.models import TreasuryControl
from controls.serializers import ControlSerializer, FlagSerializer
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.lib.fields import AsciiDecimalField

MAX_SUBJECTS = 1000
FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField also turns numbers into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: DRF's also takes "yes", 1, "on"..."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _subjects() -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=255),
        max_length=MAX_SUBJECTS,
        required=False,
        default=list,
    )


class SetFlagInput(serializers.Serializer):
    target_fields = ("name",)
    name = StrictCharField(max_length=64)
    enabled = StrictBooleanField()
    percentage = AsciiDecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
        default=Decimal(100),
    )
    allow = _subjects()
    deny = _subjects()
    expires_at = FutureDateTimeField(required=False, allow_null=True)

    def validate_name(self, value: str) -> str:
        if not FLAG_NAME.match(value):
            raise serializers.ValidationError(
                _("Use lowercase letters, digits, hyphens and underscores (a slug).")
            )
        return value


def _state(control: TreasuryControl) -> dict[str, Any]:
    """What the audit row keeps of a flag's state."""
    return {
        "enabled": control.enabled,
        "expires_at": control.expires_at.isoformat() if control.expires_at else None,
        **control.value,
    }


@ops_action(
    "set_flag", roles={"pay_admin", "finance_ops"}, input=SetFlagInput, resource="flag"
)
def set_flag(
    ctx: ActionContext,
    *,
    name: str,
    enabled: bool,
    percentage: Decimal = Decimal(100),
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    expires_at: datetime | None = None,
) -> Outcome:
    """Create or replace a feature flag: on/off, rollout percentage, allow/deny."""
    now = timezone.now()
    key = feature_key(name)
    _row, created = TreasuryControl.objects.get_or_create(
        key=key, defaults={"created_at": now, "updated_at": now, "enabled": False}
    )
    # PostgreSQL: lock the row so the "previous" state in the audit row is the
    # one this write replaces, not one a concurrent set-flag already replaced.
    current = TreasuryControl.objects.select_for_update().get(key=key)
    previous = None if created else _state(current)
    value = {
        "percentage": str(percentage.quantize(Decimal("0.01"))),
        "allow": sorted(set(allow or [])),
        "deny": sorted(set(deny or [])),
    }
    TreasuryControl.objects.filter(pk=current.pk).update(
        enabled=enabled,
        value=value,
        expires_at=expires_at,
        description=f"Feature flag {name}"[:255],
        updated_by=ctx.actor_id,
        updated_at=now,
    )
    current.refresh_from_db()
    return Outcome(
        target={"name": name, "control_key": key},
        resource={
            "flag": FlagSerializer(current, context={"now": now}).data,
            "control": ControlSerializer(current).data,
        },
        details={"new": _state(current), "previous": previous},
    )
