"""The payout dispatcher's view of the controls (the ``payouts.gates`` port).

The dispatcher asks before every payout, so the answer is one small indexed
query of the controls in force — no cache, which is what bounds the time from
a freeze's 200 to the last payout sent (bench/freeze_to_effect.py measures it
and what the check costs).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from controls.keys import FREEZE_GLOBAL
from controls.models import TreasuryControl, active_q
from payouts import gates

_BANK_PREFIXES = {"freeze_bank_": gates.BANK_FREEZE, "pause_bank_": gates.BANK_PAUSE}


# The hot path: asked before every payout, so it is plain SQL (the ORM would
# spend more time compiling the query than the database spends answering it).
# Its WHERE clause is ``active_q()`` plus the three key families; a test holds
# it equal to the ORM's answer. LIKE's "_" matches any character, so the keys
# are filtered by their exact prefix again below.
_SQL = (
    "SELECT key FROM treasury_controls"
    " WHERE enabled AND (expires_at IS NULL OR expires_at > %s)"
    " AND (key = %s OR key LIKE %s OR key LIKE %s)"
)


class ControlsDispatchGate:
    """Global freeze, bank freezes and bank pauses in force, read at call time."""

    def blocked(self) -> gates.Blocked:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cur:
            cur.execute(_SQL, [now, FREEZE_GLOBAL, "freeze_bank_%", "pause_bank_%"])
            keys = [row[0] for row in cur.fetchall()]
        return blocked_from_keys(keys)


def blocked_from_keys(keys: Iterable[str]) -> gates.Blocked:
    global_freeze = False
    banks: dict[uuid.UUID, str] = {}
    for key in keys:
        if key == FREEZE_GLOBAL:
            global_freeze = True
            continue
        for prefix, reason in _BANK_PREFIXES.items():
            if key.startswith(prefix):
                bank_id = _uuid(key.removeprefix(prefix))
                # a freeze outranks a pause in what the dispatcher reports
                if bank_id and banks.get(bank_id) != gates.BANK_FREEZE:
                    banks[bank_id] = reason
    return gates.Blocked(global_freeze=global_freeze, banks=banks)


def blocked_by_orm() -> gates.Blocked:
    """The same answer through the ORM and ``active_q``: the reference the
    plain SQL above is tested against."""
    keys = TreasuryControl.objects.filter(
        active_q(timezone.now())
        & (
            Q(key=FREEZE_GLOBAL)
            | Q(key__startswith="freeze_bank_")
            | Q(key__startswith="pause_bank_")
        )
    ).values_list("key", flat=True)
    return blocked_from_keys(keys)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:  # a hand-made key in the admin; it names no bank
        return None


def install() -> None:
    gates.set_gate(ControlsDispatchGate())
