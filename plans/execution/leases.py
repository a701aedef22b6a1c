"""Leases: a worker running a plan step, or generating a plan, says it is
alive by pushing a time forward; past that time, it is gone.

A step is claimed with ``lease_expires_at = now + PLAN_LEASE_SECONDS``
(``claim_plan_step``), a generation with ``generation_lease_expires_at``
(``claim_generation``). While the work runs, a thread of the worker renews the
lease every third of its length (:func:`renewing`). A thread, not renewals
between the step's sub-operations: a step's effect commits in *one*
transaction (the ops-action runner's), which can last a while when it moves
many payouts, and a renewal written inside it would be seen by nobody until it
ends. The thread has its own database connection, so its renewals commit at
once. A worker killed by SIGKILL takes its thread with it: the lease runs out
within ``PLAN_LEASE_SECONDS``, and beat (``plans.tasks.take_up_orphaned_steps``,
``plans.tasks.requeue_generating_plans``, every ``PLAN_LEASE_SWEEP_INTERVAL``)
takes the work up.

An expired lease is what beat looks for; it is the proof that the worker is
dead only on SQLite, where nothing better exists (a live worker in a long
transaction holds SQLite's one write lock, so whoever acts on the expiry waits
for that transaction to end first). On PostgreSQL the plan's advisory lock
proves it (``locks.py``); the lease only tells beat where to look.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from plans.choices import PlanStatus, StepStatus
from plans.models import Plan, PlanStep

log = logging.getLogger("plans.execution")


def length() -> timedelta:
    return timedelta(seconds=settings.PLAN_LEASE_SECONDS)


def expiry(now: datetime | None = None) -> datetime:
    """When a lease taken or renewed now runs out."""
    return (now or timezone.now()) + length()


def step_expired(step: PlanStep, now: datetime | None = None) -> bool:
    """Has the running step's lease run out? A row claimed before leases
    existed has none: its start plus one lease stands in for it."""
    now = now or timezone.now()
    if step.lease_expires_at is not None:
        return step.lease_expires_at <= now
    return step.started_at is None or step.started_at + length() <= now


def expired_steps(now: datetime | None = None) -> Q:
    """``step_expired`` as a filter on ``PlanStep``."""
    now = now or timezone.now()
    no_lease = Q(lease_expires_at__isnull=True)
    return Q(lease_expires_at__lte=now) | (
        no_lease & (Q(started_at__isnull=True) | Q(started_at__lte=now - length()))
    )


def renew_step(step_id: int, attempts: int) -> bool:
    """Push the lease of this attempt of the step; False once the step has
    moved on (finished, or taken up by another attempt)."""
    return bool(
        PlanStep.objects.filter(
            pk=step_id, status=StepStatus.RUNNING, attempts=attempts
        ).update(lease_expires_at=expiry())
    )


# --- generation -------------------------------------------------------------------


def _generation_free(now: datetime) -> Q:
    return Q(generation_lease_expires_at__isnull=True) | Q(
        generation_lease_expires_at__lte=now
    )


def claim_generation(plan_id: uuid.UUID | str) -> bool:
    """Take the plan's generation: one conditional UPDATE, so of two messages
    for it (a redelivery, beat's requeue) one builds and the other skips,
    while the first one's worker lives."""
    now = timezone.now()
    return bool(
        Plan.objects.filter(pk=plan_id, status=PlanStatus.GENERATING)
        .filter(_generation_free(now))
        .update(generation_lease_expires_at=expiry(now))
    )


def renew_generation(plan_id: uuid.UUID | str) -> bool:
    return bool(
        Plan.objects.filter(pk=plan_id, status=PlanStatus.GENERATING).update(
            generation_lease_expires_at=expiry()
        )
    )


def release_generation(plan_id: uuid.UUID | str) -> None:
    """Give the generation back (the task is about to retry): its next
    attempt must not find its own lease in the way."""
    Plan.objects.filter(pk=plan_id, status=PlanStatus.GENERATING).update(
        generation_lease_expires_at=None
    )


def orphaned_generations(now: datetime | None = None) -> Q:
    """Plans ``generating`` whose worker is gone, or whose task never ran (the
    broker was down at commit): no lease for a whole lease since creation."""
    now = now or timezone.now()
    never_claimed = Q(generation_lease_expires_at__isnull=True) & Q(
        created_at__lte=now - length()
    )
    return Q(status=PlanStatus.GENERATING) & (
        Q(generation_lease_expires_at__lte=now) | never_claimed
    )


# --- the renewing thread ----------------------------------------------------------


@contextmanager
def renewing(renew: Callable[[], bool], what: str) -> Iterator[None]:
    """Renew a lease from a thread while the block runs.

    Inside a transaction (a test's, an eager task's caller's) the claim is not
    committed: another connection would not see it, and would wait on its
    row; the block runs without renewals then."""
    if connection.in_atomic_block:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_renew_until, args=(renew, stop, what), name=f"lease {what}", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # a renewal in flight waits on nothing of ours (it is conditional on
        # the attempt and touches one row); do not hold the worker for it
        thread.join(timeout=5)


def _renew_until(renew: Callable[[], bool], stop: threading.Event, what: str) -> None:
    every = settings.PLAN_LEASE_SECONDS / 3
    try:
        while not stop.wait(every):
            try:
                if not renew():
                    return  # moved on: nothing of ours to keep alive
            except DatabaseError:
                # the next renewal may get through before the lease runs out;
                # if none does, beat takes the work up (safely: the rows decide)
                log.warning("could not renew the lease of %s", what, exc_info=True)
    finally:
        connection.close()  # this thread's own connection
