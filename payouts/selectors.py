"""Reads of the rails: banks, accounts, payouts."""

from __future__ import annotations

import uuid
from functools import lru_cache

from django.db import connection
from django.db.models import QuerySet
from modeltranslation.settings import AVAILABLE_LANGUAGES as mt_languages
from modeltranslation.utils import build_localized_fieldname

from payouts.models import BankProfile, Payout, TreasuryAccount


def bank_list() -> QuerySet[BankProfile]:
    return BankProfile.objects.all().order_by("name")


def bank_get(bank_profile_id: uuid.UUID) -> BankProfile | None:
    return BankProfile.objects.filter(pk=bank_profile_id).first()


@lru_cache(maxsize=4)
def _bank_name_sql(vendor: str) -> tuple[str, tuple[str, ...]]:
    meta = BankProfile._meta
    q = connection.ops.quote_name
    # ``name`` and its translations (name_en, name_fr): what reading
    # ``bank.name`` in the active language needs
    localized = {build_localized_fieldname("name", lang) for lang in mt_languages}
    fields = tuple(
        f.attname
        for f in meta.concrete_fields
        if f.attname == "name" or f.attname in localized
    )
    # only quoted identifiers from the model go into the text
    sql = (
        f"SELECT {', '.join(q(meta.get_field(f).column) for f in fields)} "  # noqa: S608
        f"FROM {q(meta.db_table)} WHERE {q(meta.pk.column)} = %s"
    )
    return sql, fields


def bank_name_get(bank_profile_id: uuid.UUID | str) -> BankProfile | None:
    """The bank with only its id and name loaded (other fields load on first
    access, as with ``.only()``): what an ops action names a bank by.

    One SELECT built once: the ORM's query building for the whole row cost
    more CPU than the rest of a pause's effect (benchmarks/README.md)."""
    pk = BankProfile._meta.pk
    bank_id = pk.to_python(bank_profile_id)
    sql, fields = _bank_name_sql(connection.vendor)
    with connection.cursor() as cur:
        cur.execute(sql, [pk.get_db_prep_value(bank_id, connection)])
        row = cur.fetchone()
    if row is None:
        return None
    return BankProfile.from_db(connection.alias, (pk.attname, *fields), (bank_id, *row))


def account_list() -> QuerySet[TreasuryAccount]:
    return TreasuryAccount.objects.select_related("bank_profile")


def payout_list() -> QuerySet[Payout]:
    return Payout.objects.all().order_by("-created_at", "id")


def payout_get(payout_id: uuid.UUID) -> Payout | None:
    return Payout.objects.filter(pk=payout_id).first()
