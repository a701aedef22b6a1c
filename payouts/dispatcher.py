"""The payout dispatcher: sends pending payouts to their bank's connector.

One batch: ask the controls which banks are blocked and the breakers which are
open, claim a few pending payouts of the others (pending → processing), then
for each one, right before the send, ask the gate again — the controls, and
whether the payout is still ours and not disputed (one query, never cached).
That per-payout check is what bounds
the time between a freeze's 200 and the last payout sent to the frozen scope
(one send at most, measured by benchmarks/freeze_to_effect.py); a payout stopped
there goes back to the queue. The bank's answer is recorded (sent / failed,
attempts + 1) with the bank's breaker and health; a breaker that opens pauses
the bank through the runner.

Small batches keep few payouts in ``processing`` at once: if the process dies
they wait there until an operator retries them, which is safe because every
attempt carries the payout's ``bank_reference``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from molam_ops.heartbeat import Heartbeat
from payouts import breaker, gates, services
from payouts.connector import BankConnector, default_connector
from payouts.models import Payout

log = logging.getLogger("payouts.dispatch")


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    held: Counter[str] = field(default_factory=Counter)  # reason → count
    settled: int = 0

    def __str__(self) -> str:
        held = ", ".join(f"{r}={n}" for r, n in sorted(self.held.items())) or "none"
        return (
            f"claimed {self.claimed}, sent {self.sent}, failed {self.failed}, "
            f"held back {sum(self.held.values())} ({held}), settled {self.settled}"
        )


def dispatch_batch(
    *, batch: int = 10, connector: BankConnector | None = None
) -> BatchReport:
    """Claim and send one batch, asking the gate again before every send."""
    connector = connector or default_connector()
    report = BatchReport()
    now = timezone.now()
    blocked = gates.gate().blocked()
    if blocked.global_freeze:
        return report
    admission = breaker.admit(now, held=blocked.banks.keys())
    claimed = services.claim_pending(
        batch=batch,
        exclude_banks=set(blocked.banks) | admission.blocked,
        trial_banks=admission.trial,
        now=now,
    )
    report.claimed = len(claimed)
    for payout in claimed:
        _dispatch_one(payout, connector, report)
    return report


def _dispatch_one(
    payout: Payout, connector: BankConnector, report: BatchReport
) -> None:
    reason = gates.gate().hold_reason(
        payout_id=payout.pk, bank_profile_id=payout.bank_profile_id
    )
    if reason is not None:
        services.release(payout.pk, reason=reason)
        report.held[reason] += 1
        return
    result = connector.send(payout)
    transition = services.record_result(payout, result)
    if result.ok:
        report.sent += 1
    else:
        report.failed += 1
    if transition is not None and transition.opened:
        breaker.pause_bank_for(transition)


def settle(*, after_seconds: int, limit: int) -> int:
    if after_seconds <= 0:
        return 0
    return services.settle_sent(
        older_than=timedelta(seconds=after_seconds), limit=limit
    )


def run_loop(
    *,
    batch: int,
    interval: float,
    settle_after: int,
    stop: threading.Event,
    once: bool = False,
    connector: BankConnector | None = None,
    heartbeat: Heartbeat | None = None,
) -> BatchReport:
    """Dispatch until ``stop`` is set (or one batch with ``once``): a batch,
    then ``interval`` seconds' rest (at least a short nap when idle, so an
    empty queue is not polled flat out). A database error is logged and the
    loop carries on with fresh connections: a worker must outlive a failover.
    ``heartbeat`` beats at every turn, database errors included (the liveness
    probe; a dispatcher waiting for its database is alive)."""
    connector = connector or default_connector()
    total = BatchReport()
    idle_nap = max(interval, 0.1)
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat.beat()
        try:
            report = dispatch_batch(batch=batch, connector=connector)
            report.settled = settle(after_seconds=settle_after, limit=batch)
        except DatabaseError:
            log.exception("dispatcher: database error; retrying")
            close_old_connections()
            stop.wait(idle_nap)
            continue
        _add(total, report)
        if report.claimed or report.settled:
            log.info("dispatcher: %s", report)
        if once:
            break
        rest = interval if report.claimed else idle_nap
        if rest:
            stop.wait(rest)
    return total


def _add(total: BatchReport, report: BatchReport) -> None:
    total.claimed += report.claimed
    total.sent += report.sent
    total.failed += report.failed
    total.held.update(report.held)
    total.settled += report.settled
