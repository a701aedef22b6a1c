"""Fixtures of the plan execution tests: rails with money on them, two
treasury accounts, and the eager worker's after-commit run."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run what the action queued after its commit (the eager worker)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def rails() -> dict[str, Any]:
    src, dst = BankProfileFactory(), BankProfileFactory()
    return {
        "src": src,
        "dst": dst,
        "a": TreasuryAccountFactory(bank_profile=src, balance=Decimal("1000.00")),
        "b": TreasuryAccountFactory(bank_profile=dst, balance=Decimal("50.00")),
        "payouts": PayoutFactory.create_batch(3, bank_profile=src),
    }


@pytest.fixture
def accounts() -> tuple[Any, Any]:
    return (
        TreasuryAccountFactory(balance=Decimal("1000.00")),
        TreasuryAccountFactory(balance=Decimal("0.00")),
    )
