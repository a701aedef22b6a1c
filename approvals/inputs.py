from rest_framework import serializers

from approvals.choices import Decision
from molam_ops.lib.fields import UUIDStringField


class ApproveInput(serializers.Serializer):
    target_fields = ("approval_id",)
    approval_id = UUIDStringField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )


class NoInput(serializers.Serializer):
    """Actions that take no arguments (scheduled sweeps)."""
