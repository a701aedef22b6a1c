"""The JSON shape of a control (DESIGN §6), used by responses and lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from controls.models import TreasuryControl


class ControlSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = TreasuryControl
        fields = [
            "id",
            "key",
            "value",
            "enabled",
            "expires_at",
            "active",
            "description",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_active(self, obj: TreasuryControl) -> bool:
        return obj.is_active(self.context.get("now") or timezone.now())


def _datetime(value: datetime | None) -> str | None:
    """As DRF's DateTimeField renders it: in the current time zone, ISO 8601,
    ``Z`` for UTC."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def control_data(control: TreasuryControl) -> dict[str, Any]:
    """The :class:`ControlSerializer` shape, built directly: each action's
    response renders one control, and building the serializer cost more CPU
    than the control's SQL (benchmarks/README.md). tests/controls holds the two
    to the same output."""
    description = control.description
    return {
        "id": str(control.id),
        "key": control.key,
        "value": control.value,
        "enabled": control.enabled,
        "expires_at": _datetime(control.expires_at),
        "active": control.is_active(timezone.now()),
        "description": None if description is None else str(description),
        "updated_by": control.updated_by,
        "created_at": _datetime(control.created_at),
        "updated_at": _datetime(control.updated_at),
    }
