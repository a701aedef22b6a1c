"""The JSON shape of a control (DESIGN §6), used by responses and lists."""

from __future__ import annotations

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


def control_data(control: TreasuryControl) -> dict[str, Any]:
    return dict(ControlSerializer(control).data)
