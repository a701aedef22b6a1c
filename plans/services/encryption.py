"""reencrypt_plan_data: key rotation for ``plan_data`` (DESIGN §8).

Put the new key first in ``PLAN_DATA_KEYS`` (the old one stays, so every
plan still decrypts), run ``manage.py reencrypt_plan_data --for-real`` (each
batch is one audited system action), then remove the old key.
"""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import serializers

from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.lib.fields import AsciiIntegerField
from plans import crypto
from plans.models import Plan


def batch(*, after: uuid.UUID | None, size: int) -> list[tuple[uuid.UUID, str]]:
    """The next ``size`` plans with data, by id: (id, token)."""
    plans = Plan.objects.exclude(plan_data="").order_by("id")
    if after is not None:
        plans = plans.filter(id__gt=after)
    return list(plans.values_list("id", "plan_data")[:size])


def survey() -> dict[str, Any]:
    """What a rotation would do, without writing: plans already under the
    first key, plans to re-encrypt, and plans no configured key opens."""
    current, stale, unreadable = 0, 0, []
    after = None
    while rows := batch(after=after, size=500):
        for plan_id, token in rows:
            if crypto.is_current(token):
                current += 1
                continue
            try:
                crypto.decrypt_json(token)
                stale += 1
            except crypto.InvalidToken:
                unreadable.append(str(plan_id))
        after = rows[-1][0]
    return {"current": current, "to_rotate": stale, "unreadable": unreadable}


class ReencryptInput(serializers.Serializer):
    after = serializers.UUIDField(required=False, allow_null=True, default=None)
    size = AsciiIntegerField(min_value=1, max_value=5000, default=500)


@ops_action("reencrypt_plan_data", roles={"system"}, input=ReencryptInput, http=False)
def reencrypt_plan_data(
    ctx: ActionContext, *, after: uuid.UUID | None = None, size: int = 500
) -> Outcome:
    """Re-encrypt one batch of plans under the first PLAN_DATA_KEYS key."""
    rotated, unreadable, last = 0, [], None
    for plan_id, token in batch(after=after, size=size):
        last = plan_id
        try:
            fresh = crypto.rotate(token)
        except crypto.InvalidToken:
            unreadable.append(str(plan_id))
            continue
        # conditional: a plan rewritten since the read keeps its newer data
        rotated += Plan.objects.filter(pk=plan_id, plan_data=token).update(
            plan_data=fresh
        )
    return Outcome(
        target={"after": str(after) if after else None},
        details={
            "rotated": rotated,
            "unreadable": unreadable,
            "last": str(last) if last else None,
        },
    )
