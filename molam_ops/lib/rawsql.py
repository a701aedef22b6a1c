"""The INSERT the ORM would issue for one new row, without building the query
on every call.

On the ops-action hot path the ORM's per-call query building (``save()``,
``create()``: signals, the insert compiler, ``RETURNING``) cost more CPU than
the statements take to run. Values are prepared by each
field's ``get_db_prep_save`` as the insert compiler prepares them, so what is
stored is the same on PostgreSQL and SQLite. Models with ``save()`` overrides
or signal receivers must not use this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models


@lru_cache(maxsize=32)
def _insert_statement(
    model: type[models.Model], vendor: str
) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    q = connection.ops.quote_name
    # database-generated ids (AutoField) are left to the database
    fields = tuple(
        f for f in meta.concrete_fields if not getattr(f, "db_returning", False)
    )
    # only quoted identifiers from the model go into the text
    sql = (
        f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    return sql, fields


def insert(
    obj: models.Model, *, run: Callable[[str, Sequence[Any]], None] | None = None
) -> None:
    """INSERT ``obj`` as a new row (its AutoField id, if any, stays unset).
    ``run`` sends the statement; by default it runs at once."""
    sql, fields = _insert_statement(type(obj), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    if run is None:
        with connection.cursor() as cur:
            cur.execute(sql, params)
    else:
        run(sql, params)
    obj._state.adding = False
    obj._state.db = connection.alias
