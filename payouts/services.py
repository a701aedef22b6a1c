"""Writes to the rails: the dispatcher's bookkeeping and the queue operations
the controls' payout actions call.

These are not ops actions. In production the Payouts service owns these
status changes; here they mirror it so the plane runs standalone. Whoever
changes a payout's status does it here, by a conditional UPDATE that must
touch the row — so two writers (two dispatchers, a dispatcher and a retry)
never both win, on SQLite as on PostgreSQL (STYLE rule 7).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from payouts import breaker, treasury
from payouts.choices import PayoutStatus
from payouts.connector import SendResult
from payouts.models import Payout

log = logging.getLogger("payouts.dispatch")

# what the dispatcher needs of a claimed payout (and the connector sends)
CLAIM_FIELDS = (
    "id",
    "bank_profile_id",
    "amount",
    "currency",
    "bank_reference",
    "status",
    "disputed",
    "attempts",
)


def claim_pending(
    *,
    batch: int,
    exclude_banks: Iterable[uuid.UUID] = (),
    trial_banks: Iterable[uuid.UUID] = (),
    now: datetime | None = None,
) -> list[Payout]:
    """Claim up to ``batch`` pending, non-disputed payouts (oldest first),
    pending → processing, skipping the excluded banks and taking at most one
    payout from each trial bank (a half-open breaker)."""
    now = now or timezone.now()
    trial = set(trial_banks)
    skip = set(exclude_banks) | trial
    claimed = _claim(Q(), skip, batch, now)
    for bank_id in trial:
        got = _claim(Q(bank_profile_id=bank_id), set(), 1, now)
        if not got:
            breaker.release_trial(bank_id)
        claimed += got
    return claimed


def _claim(where: Q, skip: set[uuid.UUID], limit: int, now: datetime) -> list[Payout]:
    # One short transaction per claim. On PostgreSQL the candidates are locked
    # and rows another dispatcher holds are skipped, so several dispatchers
    # share the queue instead of queueing on each other's rows; on SQLite the
    # IMMEDIATE transaction already runs one claimer at a time. Either way each
    # payout is taken by a conditional UPDATE that must touch its row.
    with transaction.atomic():
        candidates = Payout.objects.filter(
            where, status=PayoutStatus.PENDING, disputed=False
        ).exclude(bank_profile_id__in=skip)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        rows = list(candidates.order_by("created_at").only(*CLAIM_FIELDS)[:limit])
        claimed = []
        for payout in rows:
            took = Payout.objects.filter(
                pk=payout.pk, status=PayoutStatus.PENDING, disputed=False
            ).update(status=PayoutStatus.PROCESSING, updated_at=now)
            if took:
                payout.status = PayoutStatus.PROCESSING
                claimed.append(payout)
    return claimed


def release(payout_id: uuid.UUID, *, reason: str) -> bool:
    """Hand a claimed payout back to the queue (a control or a dispute stopped
    it before the send); it keeps its place (created_at)."""
    moved = Payout.objects.filter(pk=payout_id, status=PayoutStatus.PROCESSING).update(
        status=PayoutStatus.PENDING, updated_at=timezone.now()
    )
    if moved:
        log.info("payout %s held back: %s", payout_id, reason)
    return bool(moved)


def record_result(
    payout: Payout, result: SendResult, *, now: datetime | None = None
) -> breaker.Transition | None:
    """Record the bank's answer: processing → sent, or → failed with its reason,
    attempts + 1; and fold the outcome into the bank's breaker and health."""
    now = now or timezone.now()
    status = PayoutStatus.SENT if result.ok else PayoutStatus.FAILED
    # The payout's result and its bank's breaker and health move together.
    with transaction.atomic():
        recorded = Payout.objects.filter(
            pk=payout.pk, status=PayoutStatus.PROCESSING
        ).update(
            status=status,
            failure_reason="" if result.ok else result.reason[:255],
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        if not recorded:
            # moved while in flight (an operator retried it): the attempt still
            # counts; the bank's reference keeps the next attempt from paying twice
            Payout.objects.filter(pk=payout.pk).update(attempts=F("attempts") + 1)
        transition = breaker.record_outcome(
            payout.bank_profile_id,
            ok=result.ok,
            latency_ms=result.latency_ms,
            now=now,
        )
    if recorded:
        log.info(
            "payout %s %s (%s, %d ms)",
            payout.pk,
            status,
            result.reason or result.outcome,
            result.latency_ms,
        )
    else:
        log.warning(
            "payout %s changed while in flight; bank said %s",
            payout.pk,
            result.outcome,
        )
    return transition


def settle_sent(*, older_than: timedelta, limit: int) -> int:
    """Standalone rails only: the bank confirms sent payouts after a while
    (sent → settled), oldest first, ``limit`` at a time. The money leaves the
    float account of each payout's bank and currency in the same transaction
    (:func:`treasury.debit_settled`), so a settled payout is debited exactly
    once: it is the only way into ``settled`` and there is none out of it."""
    now = timezone.now()
    with transaction.atomic():
        candidates = Payout.objects.filter(
            status=PayoutStatus.SENT, updated_at__lte=now - older_than
        )
        if connection.vendor == "postgresql":
            # another settler skips the rows this one holds (SQLite's IMMEDIATE
            # transaction already runs one writer at a time)
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        rows = list(
            candidates.order_by("updated_at").values_list(
                "id", "bank_profile_id", "currency", "amount"
            )[:limit]
        )
        settled = Payout.objects.filter(
            pk__in=[r[0] for r in rows], status=PayoutStatus.SENT
        ).update(status=PayoutStatus.SETTLED, updated_at=now)
        if settled != len(rows):  # cannot happen under the locks above
            raise RuntimeError("sent payouts changed while being settled")
        treasury.debit_settled(rows, now=now)
    if settled:
        log.info("settled %d payouts", settled)
    return settled


# --- the queue operations behind the controls' payout actions -----------------


RETRYABLE = (PayoutStatus.FAILED, PayoutStatus.PROCESSING)


def requeue(payout_id: uuid.UUID) -> bool:
    """A retry: failed or processing → pending, unless disputed. The payout
    keeps its ``bank_reference``, so a bank that already paid it acknowledges
    the next attempt instead of paying again. Runs in the caller's transaction;
    False when the payout was not retryable at the moment of the UPDATE."""
    return bool(
        Payout.objects.filter(
            pk=payout_id, status__in=RETRYABLE, disputed=False
        ).update(
            status=PayoutStatus.PENDING, failure_reason="", updated_at=timezone.now()
        )
    )


def mark_disputed(payout_id: uuid.UUID) -> bool:
    """Flag a payout as disputed; False when it already was. The dispatcher
    never claims or sends a disputed payout, and a retry refuses it."""
    return bool(
        Payout.objects.filter(pk=payout_id, disputed=False).update(
            disputed=True, updated_at=timezone.now()
        )
    )


@dataclass(frozen=True)
class Requeued:
    count: int
    totals: dict[str, Decimal]  # currency → sum of amounts
    ids: list[uuid.UUID]


def failed_payouts(
    *,
    bank_profile_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Failed, non-disputed payouts, optionally of one bank and failed (last
    changed) within [since, until]."""
    qs = Payout.objects.filter(status=PayoutStatus.FAILED, disputed=False)
    if bank_profile_id:
        qs = qs.filter(bank_profile_id=bank_profile_id)
    if since:
        qs = qs.filter(updated_at__gte=since)
    if until:
        qs = qs.filter(updated_at__lte=until)
    return qs


def failed_totals(**filters: Any) -> tuple[int, dict[str, Decimal]]:
    """How many failed payouts match, and their totals per currency (for the
    approval rule of a batch retry)."""
    totals: dict[str, Decimal] = {}
    count = 0
    for currency, amount in failed_payouts(**filters).values_list("currency", "amount"):
        totals[currency] = totals.get(currency, Decimal("0")) + amount
        count += 1
    return count, totals


def requeue_failed(**filters: Any) -> Requeued:
    """A batch retry: every matching failed payout → pending, in the caller's
    transaction. The rows are locked first (PostgreSQL) so the count and totals
    are those of the rows actually moved; SQLite's IMMEDIATE transaction holds
    the only write lock already."""
    qs = failed_payouts(**filters)
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(of=("self",))
    rows = list(qs.order_by("created_at").values_list("id", "currency", "amount"))
    ids = [r[0] for r in rows]
    moved = 0
    for start in range(0, len(ids), 500):
        moved += Payout.objects.filter(
            pk__in=ids[start : start + 500], status=PayoutStatus.FAILED, disputed=False
        ).update(
            status=PayoutStatus.PENDING, failure_reason="", updated_at=timezone.now()
        )
    if moved != len(ids):  # cannot happen under the locks above; never half-report
        raise RuntimeError("failed payouts changed during a batch retry")
    totals: dict[str, Decimal] = {}
    for _id, currency, amount in rows:
        totals[currency] = totals.get(currency, Decimal("0")) + amount
    return Requeued(len(ids), totals, ids)
