"""Going behind the append-only triggers' back, as a table owner (or an
attacker with the owner's credentials) could: the chain is what still tells."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from audit import triggers
from audit.models import OpsActionLog


@contextmanager
def triggers_off() -> Iterator[None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE ops_actions_log DISABLE TRIGGER USER")
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("ALTER TABLE ops_actions_log ENABLE TRIGGER USER")
    else:
        triggers.drop(connection)
        try:
            yield
        finally:
            triggers.install(connection)


def db_id(row: OpsActionLog) -> Any:
    """The row's primary key as raw SQL compares it."""
    return row.id.hex if connection.vendor == "sqlite" else row.id


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run ``sql`` with the triggers off."""
    with triggers_off(), connection.cursor() as cur:
        cur.execute(sql, params or [])
