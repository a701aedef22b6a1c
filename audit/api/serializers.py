"""Response shapes of the audit endpoints that are not rows."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rest_framework import serializers

from audit.checkpoints import timestamp_text
from audit.choices import BreakCode
from audit.verification import Verification


class ChainBreakSerializer(serializers.Serializer[Any]):
    """A row where the chain does not hold."""

    seq = serializers.IntegerField()
    # null when the break is a checkpoint's rather than a row's
    id = serializers.UUIDField(allow_null=True)
    code = serializers.ChoiceField(BreakCode.choices)
    reason = serializers.CharField()


class VerifiedFromSerializer(serializers.Serializer[Any]):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    timestamp = serializers.CharField()
    key_id = serializers.CharField()


class ChainReportSerializer(serializers.Serializer[Any]):
    """``GET /api/ops/audit/verify``: ``checked`` rows walked (those after
    ``checkpoint`` unless ``full``); ``broken`` names the first 100 breaks,
    ``truncated`` says there were more."""

    ok = serializers.BooleanField()
    valid = serializers.BooleanField()
    checked = serializers.IntegerField()
    broken = ChainBreakSerializer(many=True)
    truncated = serializers.BooleanField()
    full = serializers.BooleanField()
    checkpoint = VerifiedFromSerializer(allow_null=True)


def verification_json(v: Verification) -> dict[str, Any]:
    """The body of a verification, inline or as a job's result file."""
    cp = v.checkpoint
    return ChainReportSerializer(
        {
            "ok": True,
            "valid": v.report.valid,
            "checked": v.report.checked,
            "broken": [{**asdict(b), "id": b.id or None} for b in v.report.broken],
            "truncated": v.report.truncated,
            "full": v.full,
            "checkpoint": None
            if cp is None
            else {
                "tree_size": cp.tree_size,
                "root_hash": cp.root_hash,
                "timestamp": timestamp_text(cp.timestamp),
                "key_id": cp.key_id,
            },
        }
    ).data
