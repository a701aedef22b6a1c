"""The JSON shapes of a control and a feature flag (DESIGN §6, §9), used by
responses and lists."""

from __future__ import annotations

from typing import Any, cast

from django.utils import timezone
from rest_framework import serializers

from controls.flags import flag_state
from controls.models import TreasuryControl
from molam_ops.lib.fields import AsciiDecimalField
from molam_ops.schema import resource_schema


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


class _FlagStateMixin:
    """Reads its value from the flag's state (``controls.flags``), as the
    evaluator sees it, rather than from a column."""

    field_name: str | None  # Field's: None until DRF binds the field

    def get_attribute(self, instance: TreasuryControl) -> Any:
        # DRF binds every declared field (setting its name) before reading it
        value = getattr(flag_state(instance), cast(str, self.field_name))
        return sorted(value) if isinstance(value, frozenset) else value


class _FlagName(_FlagStateMixin, serializers.CharField):
    pass


class _FlagPercentage(_FlagStateMixin, AsciiDecimalField):
    pass


class _FlagSubjects(_FlagStateMixin, serializers.ListField):
    pass


class FlagSerializer(serializers.ModelSerializer):
    """A ``feature:<name>`` control as a flag; ``active``: switched on and not
    expired."""

    name = _FlagName()
    active = serializers.SerializerMethodField()
    percentage = _FlagPercentage(max_digits=5, decimal_places=2)
    allow = _FlagSubjects(child=serializers.CharField())
    deny = _FlagSubjects(child=serializers.CharField())

    class Meta:
        model = TreasuryControl
        fields = [
            "name",
            "key",
            "enabled",
            "active",
            "percentage",
            "allow",
            "deny",
            "expires_at",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields

    def get_active(self, obj: TreasuryControl) -> bool:
        return obj.is_active(self.context.get("now") or timezone.now())


resource_schema("control", ControlSerializer)

resource_schema("flag", FlagSerializer)
