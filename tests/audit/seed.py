"""The audit rows the list and export tests read: five calls through the
runner, one an hour from ``T0`` (the ``seeded`` fixture, tests/audit/conftest.py)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from audit.models import OpsActionLog
from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from tests.factories import BankProfileFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = Principal(id="alice", roles=frozenset({"pay_admin"}))
BRUNO = Principal(id="bruno", roles=frozenset({"finance_ops"}))
CHLOE = Principal(id="chloe", roles=frozenset({"ops"}))


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _run(principal: Principal, name: str, payload: dict[str, Any]) -> None:
    with contextlib.suppress(OpsError):  # refusals leave their row too
        runner.run(name, principal, payload, idempotency_key=uuid.uuid4().hex)


def seed_five_rows() -> list[OpsActionLog]:
    """Five rows through the runner, one an hour from T0:

    seq 1  T0     alice  pause_bank   executed
    seq 2  T0+1h  bruno  pause_bank   rejected (role)
    seq 3  T0+2h  alice  resume_bank  executed
    seq 4  T0+3h  chloe  resume_bank  rejected (role)
    seq 5  T0+4h  alice  pause_bank   rejected (validation)
    """
    bank = str(BankProfileFactory().id)
    calls = [
        (ALICE, "pause_bank", {"bank_profile_id": bank, "reason": "timeouts"}),
        (BRUNO, "pause_bank", {"bank_profile_id": bank, "reason": "timeouts"}),
        (ALICE, "resume_bank", {"bank_profile_id": bank}),
        (CHLOE, "resume_bank", {"bank_profile_id": bank}),
        (ALICE, "pause_bank", {"bank_profile_id": bank}),
    ]
    for hour, (who, name, payload) in enumerate(calls):
        with time_machine.travel(T0 + timedelta(hours=hour), tick=False):
            _run(who, name, payload)
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert [(r.seq, r.actor_id, r.action_type, r.status) for r in rows] == [
        (1, "alice", "pause_bank", "executed"),
        (2, "bruno", "pause_bank", "rejected"),
        (3, "alice", "resume_bank", "executed"),
        (4, "chloe", "resume_bank", "rejected"),
        (5, "alice", "pause_bank", "rejected"),
    ]
    assert [r.created_at for r in rows] == [T0 + timedelta(hours=h) for h in range(5)]
    return rows
