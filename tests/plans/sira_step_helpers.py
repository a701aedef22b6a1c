"""Shared by the SIRA step tests: steps in the seed's shape, a two-bank
snapshot to resolve them against, and pending payouts of known age."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from plans.planner.types import BankSnapshot, PayoutClass, Snapshot
from tests.factories import PayoutFactory


def seed_step(from_bank: str, to_bank: str, count: int, **extra: Any) -> dict[str, Any]:
    return {
        "action": "reroute_payouts",
        "from_bank": from_bank,
        "to_bank": to_bank,
        "count": count,
        "estimated_savings": 234.50,
        **extra,
    }


def aged(bank: Any, n: int, *, currency: str = "XOF", start_hours: int = 10) -> list:
    """``n`` pending payouts of ``bank``, oldest first."""
    now = timezone.now()
    return [
        PayoutFactory(
            bank_profile=bank,
            currency=currency,
            amount=Decimal("1500.00"),
            created_at=now - timedelta(hours=start_hours - i),
        )
        for i in range(n)
    ]


def bank_snapshot(bank_id: str, name: str, **kw: Any) -> BankSnapshot:
    values: dict[str, Any] = {
        "id": bank_id,
        "name": name,
        "currencies": ("XOF",),
        "success_rate": Decimal("0.99"),
        "failure_rate": Decimal("0.01"),
        "circuit_state": "closed",
        "fee_percent": Decimal("0.02") if bank_id == "b1" else Decimal("0.01"),
        "fee_fixed": Decimal("0.10"),
        "capacity": 100,
        **kw,
    }
    return BankSnapshot(**values)


def snapshot_dict(*extra: BankSnapshot) -> dict[str, Any]:
    return Snapshot(
        banks=(bank_snapshot("b1", "Ecobank"), bank_snapshot("b2", "Orabank"), *extra),
        payout_classes=(PayoutClass("b1", "XOF", 4, Decimal("6000.00")),),
        usd_rates={"XOF": Decimal("0.0016")},
    ).as_dict()
