"""The payout dispatcher's view of the controls (the ``payouts.gates`` port).

Two questions, each one plain-SQL query and never cached: before a claim,
which banks are blocked (:meth:`ControlsDispatchGate.blocked`); before every
single send, may this payout go (:meth:`ControlsDispatchGate.hold_reason`).
Reading at every send is what bounds the time from a freeze's 200 to the last
payout sent; benchmarks/freeze_to_effect.py measures that and what the check costs.

Plain SQL because these run per payout: the ORM would spend more time building
the query than PostgreSQL spends answering it. Their WHERE clauses are
``active_q()``; tests hold them to the ORM's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from payouts import gates
from payouts.models import Payout

_BANK_PREFIXES = {"freeze_bank_": gates.BANK_FREEZE, "pause_bank_": gates.BANK_PAUSE}


# ``active_q()`` and the three key families. LIKE's "_" matches any character,
# so the keys are filtered by their exact prefix again below.
_SQL = (
    "SELECT key FROM treasury_controls"
    " WHERE enabled AND (expires_at IS NULL OR expires_at > %s)"
    " AND (key = %s OR key LIKE %s OR key LIKE %s)"
)


# Before each send: the three controls that can stop this payout (exact keys,
# the unique index) and the payout's own state, in one round trip. Disputes are
# listed with the controls in issue 3 ("honours every control ... disputes"),
# and controls may read the rails (DESIGN §1), so the gate answers for both.
# The constants (FREEZE_GLOBAL, gates.NOT_DISPATCHABLE, PayoutStatus.PROCESSING)
# are written into the statement: fewer parameters to adapt on a path taken
# once per payout; the gate's tests fail if they drift.
_HOLD_SQL = (
    "SELECT key FROM treasury_controls"
    " WHERE key IN ('freeze_global', %s, %s) AND enabled"
    " AND (expires_at IS NULL OR expires_at > %s)"
    " UNION ALL"
    " SELECT 'disputed_or_moved' WHERE NOT EXISTS (SELECT 1 FROM payouts"
    " WHERE id = %s AND status = 'processing' AND NOT disputed)"
)
_HOLD_ORDER = (
    gates.GLOBAL_FREEZE,
    gates.BANK_FREEZE,
    gates.BANK_PAUSE,
    gates.NOT_DISPATCHABLE,
)


class ControlsDispatchGate:
    """Global freeze, bank freezes and bank pauses in force, read at call time."""

    def blocked(self) -> gates.Blocked:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cur:
            cur.execute(_SQL, [now, FREEZE_GLOBAL, "freeze_bank_%", "pause_bank_%"])
            keys = [row[0] for row in cur.fetchall()]
        return blocked_from_keys(keys)

    def hold_reason(
        self, *, payout_id: uuid.UUID, bank_profile_id: uuid.UUID
    ) -> str | None:
        freeze, pause = (
            freeze_bank_key(bank_profile_id),
            pause_bank_key(bank_profile_id),
        )
        params = [
            freeze,
            pause,
            connection.ops.adapt_datetimefield_value(timezone.now()),
            Payout._meta.pk.get_db_prep_value(payout_id, connection),  # type: ignore[union-attr]
        ]
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                # the same query, in a function that keeps its plans (see
                # controls/migrations/0003_dispatch_hold_function.py)
                cur.execute("SELECT molam_dispatch_hold(%s, %s, %s, %s)", params)
                rows = set(cur.fetchone()[0])
            else:
                cur.execute(_HOLD_SQL, params)
                rows = {row[0] for row in cur.fetchall()}
        found = {
            FREEZE_GLOBAL: gates.GLOBAL_FREEZE,
            freeze: gates.BANK_FREEZE,
            pause: gates.BANK_PAUSE,
            gates.NOT_DISPATCHABLE: gates.NOT_DISPATCHABLE,
        }
        held = {reason for key, reason in found.items() if key in rows}
        return next((r for r in _HOLD_ORDER if r in held), None)


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


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:  # a hand-made key in the admin; it names no bank
        return None


def install() -> None:
    gates.set_gate(ControlsDispatchGate())
