"""The documented shapes of the resources some control actions answer with
(``batch``, ``reroute``, ``transfer``, ``request``): built as dicts by their
services, described here for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from molam_ops.schema import resource_schema

AMOUNTS_HELP = "Currency code → decimal string."


def _amount(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class RetryBatchSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    totals = serializers.DictField(child=_amount(), help_text=AMOUNTS_HELP)
    total_usd = _amount()
    payout_ids = serializers.ListField(child=serializers.UUIDField())


class ShortfallSerializer(serializers.Serializer[Any]):
    missing = serializers.IntegerField()
    reason = serializers.ChoiceField(
        ["source_short", "amount_cap", "changed_meanwhile"]
    )


class RerouteSerializer(serializers.Serializer[Any]):
    from_bank_id = serializers.UUIDField()
    to_bank_id = serializers.UUIDField()
    currency = serializers.CharField(allow_null=True)
    requested_count = serializers.IntegerField()
    moved = serializers.IntegerField()
    amount = _amount(allow_null=True, help_text="Null when several currencies moved.")
    amounts = serializers.DictField(child=_amount(), help_text=AMOUNTS_HELP)
    payout_ids = serializers.ListField(child=serializers.UUIDField())
    shortfall = ShortfallSerializer(allow_null=True)


class TransferSerializer(serializers.Serializer[Any]):
    from_account_id = serializers.UUIDField()
    to_account_id = serializers.UUIDField()
    amount = _amount()
    currency = serializers.CharField()
    from_balance = _amount()
    to_balance = _amount()


class RequestPayloadSerializer(serializers.Serializer[Any]):
    action_id = serializers.UUIDField()
    requested_by = serializers.CharField()
    date = serializers.DateField(required=False)
    bank_profile_id = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.CharField(required=False)


class EventRequestSerializer(serializers.Serializer[Any]):
    """A request handed to another service as an event on the bus."""

    topic = serializers.CharField()
    payload = RequestPayloadSerializer()


resource_schema("batch", RetryBatchSerializer)
resource_schema("reroute", RerouteSerializer)
resource_schema("transfer", TransferSerializer)
resource_schema("request", EventRequestSerializer)
