from rest_framework import serializers

from molam_ops.schema import resource_schema
from payouts.models import Payout


class PayoutSerializer(serializers.ModelSerializer):
    """A payout as DESIGN §6 names it; money is a decimal string."""

    bank_profile_id = serializers.UUIDField()

    class Meta:
        model = Payout
        fields = [
            "id",
            "status",
            "disputed",
            "amount",
            "currency",
            "bank_profile_id",
            "beneficiary",
            "bank_reference",
            "failure_reason",
            "attempts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


resource_schema("payout", PayoutSerializer)
