"""The actions plan steps pull on the rails (controls/services/rails/):
POST /api/ops/reroute-payouts and /api/ops/transfer-funds, pay_admin or the
system. Each: the effect, its audit row, refusals, a replay and bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from molam_ops.identity import system_principal
from molam_ops.models import OutboxEvent
from payouts.choices import PayoutStatus
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.helpers import post_action
from tests.plans.test_execute_plan_support import run_as

pytestmark = pytest.mark.django_db


def control(key: str) -> None:
    now = timezone.now()
    TreasuryControl.objects.create(
        key=key, enabled=True, created_at=now, updated_at=now
    )


def assert_refused(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.json()
    assert resp.json()["error"]["code"] == code
    return resp.json()


# --- reroute_payouts ------------------------------------------------------------------


@pytest.fixture
def banks() -> tuple[Any, Any]:
    return BankProfileFactory(), BankProfileFactory()


def reroute_body(src: Any, dst: Any, **extra: Any) -> dict[str, Any]:
    return {
        "from_bank_id": str(src.id),
        "to_bank_id": str(dst.id),
        "currency": "XOF",
        "count": 2,
        **extra,
    }


def test_reroute_moves_the_oldest_pending_payouts(
    pay_admin: APIClient, banks: Any
) -> None:
    src, dst = banks
    now = timezone.now()
    old = [
        PayoutFactory(bank_profile=src, created_at=now - timedelta(hours=h))
        for h in (3, 2)
    ]
    newest = PayoutFactory(bank_profile=src, created_at=now)
    PayoutFactory(bank_profile=src, disputed=True, created_at=now - timedelta(days=1))
    PayoutFactory(bank_profile=src, status=PayoutStatus.PROCESSING)
    PayoutFactory(bank_profile=src, currency="USD")

    resp = post_action(pay_admin, "reroute-payouts", reroute_body(src, dst), key="r1")

    assert resp.status_code == 200, resp.json()
    moved = resp.json()["reroute"]
    assert moved["moved"] == 2
    assert moved["amount"] == "3000.00"
    assert set(moved["payout_ids"]) == {str(p.id) for p in old}
    assert set(dst.payouts.values_list("id", flat=True)) == {p.id for p in old}
    newest.refresh_from_db()
    assert newest.bank_profile_id == src.id
    row = OpsActionLog.objects.get(action_type="reroute_payouts")
    assert (row.status, row.actor_id) == ("executed", "alice")
    assert row.details["moved"] == 2
    assert OutboxEvent.objects.filter(topic="payouts.payouts.rerouted").count() == 1
    again = post_action(pay_admin, "reroute-payouts", reroute_body(src, dst), key="r1")
    assert again.json() == resp.json()
    assert dst.payouts.count() == 2


def test_reroute_amount_caps_the_value_moved(pay_admin: APIClient, banks: Any) -> None:
    src, dst = banks
    PayoutFactory.create_batch(3, bank_profile=src, amount=Decimal("100.00"))
    body = reroute_body(src, dst, count=3, amount="250.00")
    resp = post_action(pay_admin, "reroute-payouts", body)
    assert resp.json()["reroute"]["moved"] == 2
    assert resp.json()["reroute"]["amount"] == "200.00"


def test_reroute_takes_only_the_priced_amount_band(
    pay_admin: APIClient, banks: Any
) -> None:
    """A planner step names its payout class's amount band; the oldest
    payouts outside it stay where they are."""
    src, dst = banks
    PayoutFactory(bank_profile=src, amount=Decimal("5.00"))  # oldest, too small
    inside = PayoutFactory.create_batch(2, bank_profile=src, amount=Decimal("60.00"))
    PayoutFactory(bank_profile=src, amount=Decimal("900.00"))  # too large
    body = reroute_body(src, dst, count=5, amount_min="50.00", amount_max="100.00")
    resp = post_action(pay_admin, "reroute-payouts", body)
    assert resp.status_code == 200, resp.json()
    assert sorted(resp.json()["reroute"]["payout_ids"]) == sorted(
        str(p.id) for p in inside
    )


def test_reroute_with_nothing_pending_moves_nothing(
    pay_admin: APIClient, banks: Any
) -> None:
    resp = post_action(pay_admin, "reroute-payouts", reroute_body(*banks))
    assert resp.status_code == 200
    assert resp.json()["reroute"]["moved"] == 0


@pytest.mark.parametrize(
    ("keys", "blocked"),
    [
        (lambda s, d: ["freeze_global"], True),
        (lambda s, d: [f"freeze_bank_{d.id}"], True),
        (lambda s, d: [f"pause_bank_{d.id}"], True),
        (lambda s, d: [f"freeze_bank_{s.id}"], True),
        (lambda s, d: [f"pause_bank_{s.id}"], False),  # moving away from a pause
    ],
)
def test_reroute_honours_the_controls(
    pay_admin: APIClient, banks: Any, keys: Any, blocked: bool
) -> None:
    src, dst = banks
    PayoutFactory(bank_profile=src)
    for key in keys(src, dst):
        control(key)
    resp = post_action(pay_admin, "reroute-payouts", reroute_body(src, dst))
    if blocked:
        body = assert_refused(resp, 409, "blocked_by_control")
        assert body["error"]["fields"]["controls"] == keys(src, dst)
        assert dst.payouts.count() == 0
    else:
        assert resp.status_code == 200
        assert dst.payouts.count() == 1


def test_reroute_refusals(pay_admin: APIClient, ops: APIClient, banks: Any) -> None:
    src, dst = banks
    usd_only = BankProfileFactory(currencies=["USD"])
    assert_refused(
        post_action(pay_admin, "reroute-payouts", reroute_body(src, usd_only)),
        409,
        "currency_not_supported",
    )
    unknown = reroute_body(src, dst, to_bank_id="7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11")
    body = assert_refused(
        post_action(pay_admin, "reroute-payouts", unknown), 404, "bank_not_found"
    )
    assert "to_bank_id" in body["error"]["fields"]
    assert_refused(
        post_action(ops, "reroute-payouts", reroute_body(src, dst)), 403, "forbidden"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 100_001}, "count"),
        ({"count": "many"}, "count"),
        ({"currency": "xof"}, "currency"),
        ({"currency": "XOFF"}, "currency"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"payout_ids": []}, "payout_ids"),
        ({"payout_ids": ["nope"]}, "payout_ids"),
        ({"from_bank_id": 7}, "from_bank_id"),
        ({"to_bank_id": "SAME"}, "to_bank_id"),
    ],
)
def test_reroute_bad_input_is_400(
    pay_admin: APIClient, banks: Any, change: dict[str, Any], field: str
) -> None:
    src, dst = banks
    PayoutFactory(bank_profile=src)
    body = reroute_body(src, dst, **change)
    if body["to_bank_id"] == "SAME":
        body["to_bank_id"] = body["from_bank_id"]
    resp = assert_refused(
        post_action(pay_admin, "reroute-payouts", body), 400, "validation_error"
    )
    assert field in resp["error"]["fields"]
    assert dst.payouts.count() == 0


# --- transfer_funds -------------------------------------------------------------------


@pytest.fixture
def accounts() -> tuple[Any, Any]:
    return (
        TreasuryAccountFactory(currency="USD", balance=Decimal("5000.00")),
        TreasuryAccountFactory(currency="USD", balance=Decimal("10.00")),
    )


def transfer_body(a: Any, b: Any, amount: str = "1250.50") -> dict[str, Any]:
    return {"from_account_id": str(a.id), "to_account_id": str(b.id), "amount": amount}


def balances(*accounts: Any) -> list[Decimal]:
    for account in accounts:
        account.refresh_from_db()
    return [account.balance for account in accounts]


def test_transfer_moves_money_once(pay_admin: APIClient, accounts: Any) -> None:
    a, b = accounts
    resp = post_action(pay_admin, "transfer-funds", transfer_body(a, b), key="t1")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["transfer"] == {
        "from_account_id": str(a.id),
        "to_account_id": str(b.id),
        "amount": "1250.50",
        "currency": "USD",
        "from_balance": "3749.50",
        "to_balance": "1260.50",
    }
    again = post_action(pay_admin, "transfer-funds", transfer_body(a, b), key="t1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert balances(a, b) == [Decimal("3749.50"), Decimal("1260.50")]
    row = OpsActionLog.objects.get(action_type="transfer_funds")
    assert (row.status, row.details["amount"]) == ("executed", "1250.50")
    assert OutboxEvent.objects.filter(topic="treasury.funds.transferred").count() == 1


def test_transfer_never_leaves_a_negative_balance(
    pay_admin: APIClient, accounts: Any
) -> None:
    a, b = accounts
    body = transfer_body(b, a, "10.01")
    assert_refused(
        post_action(pay_admin, "transfer-funds", body), 409, "insufficient_funds"
    )
    assert balances(a, b) == [Decimal("5000.00"), Decimal("10.00")]
    resp = post_action(pay_admin, "transfer-funds", transfer_body(b, a, "10.00"))
    assert resp.status_code == 200
    assert balances(a, b) == [Decimal("5010.00"), Decimal("0.00")]


def test_transfer_refusals(
    pay_admin: APIClient, finance_ops: APIClient, accounts: Any
) -> None:
    a, b = accounts
    xof = TreasuryAccountFactory(currency="XOF")
    assert_refused(
        post_action(pay_admin, "transfer-funds", transfer_body(a, xof)),
        422,
        "currency_mismatch",
    )
    gone = transfer_body(a, b) | {
        "from_account_id": "7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11"
    }
    assert_refused(
        post_action(pay_admin, "transfer-funds", gone), 404, "account_not_found"
    )
    assert_refused(
        post_action(finance_ops, "transfer-funds", transfer_body(a, b)),
        403,
        "forbidden",
    )
    control(f"freeze_bank_{a.bank_profile_id}")
    assert_refused(
        post_action(pay_admin, "transfer-funds", transfer_body(a, b)),
        409,
        "blocked_by_control",
    )
    assert balances(a, b) == [Decimal("5000.00"), Decimal("10.00")]


def test_a_large_transfer_by_a_person_needs_signatures_but_not_by_the_system(
    pay_admin: APIClient,
) -> None:
    a = TreasuryAccountFactory(currency="USD", balance=Decimal("50000.00"))
    b = TreasuryAccountFactory(currency="USD", balance=Decimal("0"))
    resp = post_action(pay_admin, "transfer-funds", transfer_body(a, b, "20000.00"))
    assert resp.status_code == 202, resp.json()
    assert resp.json()["approval"]["required_approvals"] == 2
    assert balances(a, b) == [Decimal("50000.00"), Decimal("0")]
    result = run_as(
        system_principal("plan-executor"),
        "transfer_funds",
        transfer_body(a, b, "20000.00"),
    )
    assert result.status == 200
    assert balances(a, b) == [Decimal("30000.00"), Decimal("20000.00")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "1e30"}, "amount"),
        ({"amount": None}, "amount"),
        ({"to_account_id": "SAME"}, "to_account_id"),
        ({"from_account_id": "x"}, "from_account_id"),
    ],
)
def test_transfer_bad_input_is_400(
    pay_admin: APIClient, accounts: Any, change: dict[str, Any], field: str
) -> None:
    a, b = accounts
    body = transfer_body(a, b) | change
    if body["to_account_id"] == "SAME":
        body["to_account_id"] = body["from_account_id"]
    resp = assert_refused(
        post_action(pay_admin, "transfer-funds", body), 400, "validation_error"
    )
    assert field in resp["error"]["fields"]
    assert balances(a, b) == [Decimal("5000.00"), Decimal("10.00")]
