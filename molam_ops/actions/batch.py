"""Writes sent together: the end of an action's transaction in one round trip.

After the effect, an executed action writes its audit row, its outbox events
and its stored response, and reads nothing back before COMMIT. On PostgreSQL
those statements are sent as one query string (Django's psycopg cursors bind
parameters client-side, so several statements may share one ``execute``):
one round trip instead of three, which were a sixth of an action's database
time (bench/README.md). Elsewhere, or outside :func:`together`, each
statement runs at once, as before.

A failing statement fails the whole string, inside the same transaction, so
the caller sees the error it saw before, only at the end of the block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, models

from molam_ops.lib import rawsql

_pending: ContextVar[list[tuple[str, Sequence[Any]]] | None] = ContextVar(
    "molam_ops_batched_writes", default=None
)


def execute(sql: str, params: Sequence[Any]) -> None:
    """Run a write whose result nobody reads, or hold it for :func:`together`."""
    pending = _pending.get()
    if pending is not None:
        pending.append((sql, params))
        return
    with connection.cursor() as cur:
        cur.execute(sql, params)


def insert(obj: models.Model) -> None:
    """:func:`molam_ops.lib.rawsql.insert`, through :func:`execute`."""
    rawsql.insert(obj, run=execute)


@contextmanager
def together() -> Iterator[None]:
    """Hold the writes made in the block and send them at its end, on
    PostgreSQL in one query string. Call inside the transaction; nothing in
    the block may read what it wrote."""
    if connection.vendor != "postgresql" or _pending.get() is not None:
        yield
        return
    pending: list[tuple[str, Sequence[Any]]] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    # not reached when the block raised: its held writes are dropped with
    # the transaction that the exception rolls back
    if not pending:
        return
    sql = "; ".join(s for s, _params in pending)
    params = [p for _sql, ps in pending for p in ps]
    with connection.cursor() as cur:
        cur.execute(sql, params)
