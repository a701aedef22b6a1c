"""Reads of the rails: banks, accounts, payouts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from payouts.models import BankProfile, Payout, TreasuryAccount


def bank_list() -> QuerySet[BankProfile]:
    return BankProfile.objects.all().order_by("name")


def bank_get(bank_profile_id: uuid.UUID) -> BankProfile | None:
    return BankProfile.objects.filter(pk=bank_profile_id).first()


def bank_name_get(bank_profile_id: uuid.UUID | str) -> BankProfile | None:
    """The bank with only its id and name loaded (other fields load on first
    access): what an ops action names a bank by."""
    return BankProfile.objects.only("name").filter(pk=bank_profile_id).first()


def account_list() -> QuerySet[TreasuryAccount]:
    return TreasuryAccount.objects.select_related("bank_profile")


def payout_list() -> QuerySet[Payout]:
    return Payout.objects.all().order_by("-created_at", "id")


def payout_get(payout_id: uuid.UUID) -> Payout | None:
    return Payout.objects.filter(pk=payout_id).first()
