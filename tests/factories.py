"""factory_boy factories for the rails."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from payouts.choices import PayoutStatus
from payouts.models import BankProfile, Payout, TreasuryAccount


class BankProfileFactory(factory.django.DjangoModelFactory[BankProfile]):
    class Meta:
        model = BankProfile

    code = factory.Sequence(lambda n: f"bank-{n}")
    name = factory.Sequence(lambda n: f"Bank {n}")
    country = "SN"
    currencies = factory.LazyFunction(lambda: ["XOF", "USD"])
    success_rate = Decimal("0.9900")
    avg_latency_ms = 200
    fee_percent = Decimal("0.0070")
    fee_fixed = Decimal("0.25")
    last_health_check_at = factory.LazyFunction(timezone.now)


class TreasuryAccountFactory(factory.django.DjangoModelFactory[TreasuryAccount]):
    class Meta:
        model = TreasuryAccount

    bank_profile = factory.SubFactory(BankProfileFactory)
    name = factory.Sequence(lambda n: f"Float {n}")
    currency = "XOF"
    balance = Decimal("1000000.00")


class PayoutFactory(factory.django.DjangoModelFactory[Payout]):
    class Meta:
        model = Payout

    bank_profile = factory.SubFactory(BankProfileFactory)
    amount = Decimal("1500.00")
    currency = "XOF"
    status = PayoutStatus.PENDING
    beneficiary = "BEN-1"
    bank_reference = factory.LazyFunction(lambda: f"REF-{uuid.uuid4().hex[:16]}")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


def operator_user(
    username: str,
    *roles: str,
    email: str | None = None,
    password: str | None = None,
    subject: str | None = "",
    is_staff: bool = True,
    is_superuser: bool = False,
) -> Any:
    """A Django user in the role groups, linked to the Molam ID subject of its
    username (``subject=None``: not linked to anyone)."""
    from django.contrib.auth.models import Group, User

    from molam_ops.models import OperatorIdentity

    user = User.objects.create_user(
        username,
        f"{username}@example.com" if email is None else email,
        password,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if subject is not None:
        OperatorIdentity.objects.create(user=user, molam_subject=subject or username)
    return user
