"""Who is running a plan right now: a PostgreSQL advisory lock per plan.

The executor holds the plan's lock (session level) for as long as it runs the
plan's steps. PostgreSQL releases it when the holder's connection ends, and a
worker killed by SIGKILL loses its connection with it — rolling back whatever
transaction it had open. So whoever *gets* the lock knows two things: no live
worker is running this plan, and every transaction the last one opened has
either committed or rolled back. That is what lets a redelivered task decide a
``running`` step from its idempotency record alone (plans/execution/__init__).

SQLite has no such lock, and needs none for mutual exclusion (its IMMEDIATE
transactions run one writer at a time); there a ``running`` step is orphaned
once its lease has run out (``leases.py``): a live worker renews it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from plans.execution import leases
from plans.models import PlanStep

# pg_try_advisory_lock(int4, int4): this class id keeps plans apart from the
# single-bigint locks (the outbox relay's); the object id is from the plan id.
LOCK_CLASS = 0x706C616E  # "plan" (fits a signed int4)


def _object_id(plan_id: uuid.UUID) -> int:
    return int.from_bytes(plan_id.bytes[:4], "big", signed=True)


def can_prove_dead_workers() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def plan_lock(plan_id: uuid.UUID) -> Iterator[bool]:
    """Hold the plan's lock for the block; yields False when someone else
    holds it (a live worker, or a dead one PostgreSQL has not reaped yet)."""
    if not can_prove_dead_workers():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s::int4, %s::int4)",
            [LOCK_CLASS, _object_id(plan_id)],
        )
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s::int4, %s::int4)",
                    [LOCK_CLASS, _object_id(plan_id)],
                )


def plan_free_in_transaction(plan_id: uuid.UUID) -> bool:
    """Inside a transaction: take the plan's lock until it ends, if no worker
    holds it. True on SQLite (no lock; callers fall back on ``orphaned``)."""
    if not can_prove_dead_workers():
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s::int4, %s::int4)",
            [LOCK_CLASS, _object_id(plan_id)],
        )
        return bool(cursor.fetchone()[0])


def orphaned(step: PlanStep, *, lock_held: bool) -> bool:
    """Is a ``running`` step's worker gone? On PostgreSQL, exactly when we
    hold the plan's lock; on SQLite, once the step's lease has run out."""
    if can_prove_dead_workers():
        return lock_held
    return leases.step_expired(step)
