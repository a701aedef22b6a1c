"""Helpers shared by the controls actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import build_localized_fieldname
from modeltranslation.utils import get_language as mt_get_language

from controls.models import TreasuryControl
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from molam_ops.lib import rawsql
from payouts import selectors as payout_selectors
from payouts.models import BankProfile


def bank_or_404(bank_profile_id: uuid.UUID) -> BankProfile:
    """The bank with its id and name loaded (all any action here reads)."""
    bank = payout_selectors.bank_name_get(bank_profile_id)
    if bank is None:
        raise OpsError(
            "bank_not_found",
            _("No bank profile with this id."),
            status=404,
            fields={"bank_profile_id": [_("Unknown bank.")]},
        )
    return bank


def switch_control(
    ctx: ActionContext,
    *,
    key: str,
    on: bool,
    value: dict[str, Any],
    expires_at: datetime | None,
    description: str,
) -> TreasuryControl | None:
    """Turn control ``key`` on or off; None when it already was.

    One statement that re-checks the state in its WHERE, so of two concurrent
    callers exactly one touches the row: PostgreSQL re-evaluates an UPDATE's
    WHERE, and an ``ON CONFLICT DO UPDATE``'s, on the row the first caller
    committed (an INSERT racing an INSERT takes the conflict path once the
    first commits); SQLite runs them one after the other. Turning on creates
    the row if it is missing, as the first pause of a bank does; turning off
    a missing row changes nothing. The row comes back by ``RETURNING``: the
    get_or_create, UPDATE and re-read this replaces cost four statements and
    more CPU than the rest of the effect (bench/README.md).

    ``description`` is stored in the active language's column, as
    modeltranslation's ``update(description=...)`` stores it.
    """
    now = timezone.now()
    lang = mt_get_language()
    sql, fields = _switch_sql(connection.vendor, on, lang)
    if on:
        values = _new_row(
            key=key,
            value=value,
            expires_at=expires_at,
            description=description,
            lang=lang,
            actor=ctx.actor_id,
            now=now,
        )
        params = [f.get_db_prep_save(values[f.attname], connection) for f in fields]
    else:
        params = [
            connection.ops.adapt_datetimefield_value(now),
            ctx.actor_id,
            key,
        ]
    params.append(connection.ops.adapt_datetimefield_value(now))
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    return _from_row(row)


def _new_row(
    *,
    key: str,
    value: dict[str, Any],
    expires_at: datetime | None,
    description: str,
    lang: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The row of a control created on, as get_or_create and then the UPDATE
    left it: defaults, then the switched fields."""
    values = {f.attname: f.get_default() for f in TreasuryControl._meta.concrete_fields}
    values.update(
        id=uuid.uuid4(),
        key=key,
        value=value,
        enabled=True,
        expires_at=expires_at,
        updated_by=actor,
        created_at=now,
        updated_at=now,
    )
    values[build_localized_fieldname("description", lang)] = description
    return values


@lru_cache(maxsize=16)
def _switch_sql(vendor: str, on: bool, lang: str) -> tuple[str, tuple[Field, ...]]:
    """The statement of :func:`switch_control`, built once per vendor, way and
    language; only quoted identifiers from the model go into the text."""
    meta = TreasuryControl._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    fields = tuple(meta.concrete_fields)

    def col(name: str) -> str:
        return q(rawsql.column(TreasuryControl, name))

    active = (
        f"{table}.{col('enabled')} AND ({table}.{col('expires_at')} IS NULL "
        f"OR {table}.{col('expires_at')} > %s)"
    )
    returning = ", ".join(f"{table}.{q(f.column)}" for f in fields)
    if not on:
        sql = (
            f"UPDATE {table} SET {col('enabled')} = false, "  # noqa: S608
            f"{col('updated_at')} = %s, {col('updated_by')} = %s "
            f"WHERE {col('key')} = %s AND {active} RETURNING {returning}"
        )
        return sql, ()
    switched = (
        "enabled",
        "updated_by",
        "updated_at",
        "value",
        "expires_at",
        build_localized_fieldname("description", lang),
    )
    sets = ", ".join(f"{col(n)} = excluded.{col(n)}" for n in switched)
    sql = (
        f"INSERT INTO {table} ({', '.join(q(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({col('key')}) DO UPDATE SET {sets} "
        f"WHERE NOT ({active}) RETURNING {returning}"
    )
    return sql, fields


@lru_cache(maxsize=4)
def _converters(vendor: str) -> tuple[tuple[Any, list[Any]], ...]:
    """Per column, what the ORM applies to a fetched value (JSON text, and on
    SQLite datetimes, booleans and UUIDs)."""
    table = TreasuryControl._meta.db_table
    out = []
    for f in TreasuryControl._meta.concrete_fields:
        column = f.get_col(table)
        out.append(
            (
                column,
                connection.ops.get_db_converters(column)
                + column.get_db_converters(connection),
            )
        )
    return tuple(out)


def _from_row(row: tuple[Any, ...]) -> TreasuryControl:
    values = []
    for raw, (column, converters) in zip(
        row, _converters(connection.vendor), strict=True
    ):
        value = raw
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    # Model.from_db reads field_names only when values leaves a field out, and
    # here every concrete field is in it; django-stubs always requires names
    return TreasuryControl.from_db(connection.alias, None, values)  # type: ignore[arg-type]
