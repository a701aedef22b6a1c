"""Response shapes of the audit endpoints that are not rows."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audit.choices import BreakCode


class ChainBreakSerializer(serializers.Serializer[Any]):
    """A row where the chain does not hold."""

    seq = serializers.IntegerField()
    id = serializers.UUIDField()
    code = serializers.ChoiceField(BreakCode.choices)
    reason = serializers.CharField()


class ChainReportSerializer(serializers.Serializer[Any]):
    """``GET /api/ops/audit/verify``: every row checked; ``broken`` names the
    first 100 breaks, ``truncated`` says there were more."""

    ok = serializers.BooleanField()
    valid = serializers.BooleanField()
    checked = serializers.IntegerField()
    broken = ChainBreakSerializer(many=True)
    truncated = serializers.BooleanField()
