"""A plan's preview (details.preview), computed when it is built: per bank and
currency, payouts, amounts, fees and balances before → after, with totals in
USD; the payouts it moves stored and listed at GET /api/ops/plans/<id>/payouts.
Every figure below is worked out by hand from the rails the test sets up
(XOF at 0.00165 USD; a payout's fee is ``fee_percent`` of it plus
``fee_fixed`` USD converted to XOF)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from plans.choices import PlanStatus
from plans.models import Plan, PlanPayout
from plans.planner.snapshot import build_snapshot
from plans.services import preview
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.payouts.helpers import seed_rates
from tests.plans.plan_helpers import generate, rails

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates_and_local_planner(settings: Any, db: None) -> None:
    settings.SIRA_URL = ""
    seed_rates()


def a_plan(plan_type: str) -> Plan:
    now = timezone.now()
    return Plan.objects.create(
        plan_type=plan_type,
        status=PlanStatus.GENERATING,
        created_by="alice",
        created_at=now,
        updated_at=now,
    )


def built(plan_type: str, steps: list[dict[str, Any]]) -> tuple[Plan, dict[str, Any]]:
    plan = a_plan(plan_type)
    snapshot = build_snapshot(plan_type)
    extra = preview.build(plan, snapshot, {"status": "ok", "steps": steps})
    Plan.objects.filter(pk=plan.pk).update(details=extra)
    plan.refresh_from_db()
    return plan, extra


# --- routing_optimization, end to end through the worker -----------------------------


def test_routing_plan_previews_what_it_moves(
    pay_admin: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails(count=4, amount="1500.00")  # 2 % + 0.40; 0.5 % + 0.10
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None and plan.status == "pending"

    got = plan.details["preview"]
    assert got["payouts_url"] == f"/api/ops/plans/{plan.id}/payouts"
    assert got["rows"] == [
        {
            "bank_id": str(dear.id),
            "bank_name": "Banque Chère",
            "currency": "XOF",
            "payouts_before": 4,
            "payouts_after": 0,
            "amount_before": "6000.00",
            "amount_after": "0.00",
            # 2 % of 6000 + 4 * 0.40 / 0.00165 = 120 + 969.70
            "fees_before": "1089.70",
            "fees_after": "0.00",
            "balance_before": None,
            "balance_after": None,
        },
        {
            "bank_id": str(cheap.id),
            "bank_name": "Banque Douce",
            "currency": "XOF",
            "payouts_before": 0,
            "payouts_after": 4,
            "amount_before": "0.00",
            "amount_after": "6000.00",
            "fees_before": "0.00",
            # 0.5 % of 6000 + 4 * 0.10 / 0.00165 = 30 + 242.42
            "fees_after": "272.42",
            "balance_before": None,
            "balance_after": None,
        },
    ]
    assert got["totals"] == {
        "payouts_moved": 4,
        "amount_moved_usd": "9.90",  # 6000 * 0.00165
        "fees_before_usd": "1.80",  # 120 * 0.00165 + 4 * 0.40
        "fees_after_usd": "0.45",  # 30 * 0.00165 + 4 * 0.10
        "funds_moved_usd": "0.00",
        "banks_paused": 0,
    }
    moved = set(
        PlanPayout.objects.filter(plan=plan).values_list("payout_id", flat=True)
    )
    assert moved == set(dear.payouts.values_list("id", flat=True))
    assert plan.details["selection"] == {"0": 4}


# --- float_rebalance and risk_mitigation, on a known snapshot ------------------------


def test_float_plan_previews_balances() -> None:
    alpha = BankProfileFactory(name="Alpha", fee_percent=Decimal("0.0070"))
    beta = BankProfileFactory(name="Beta")
    sender = TreasuryAccountFactory(bank_profile=alpha, balance=Decimal("1000000.00"))
    TreasuryAccountFactory(bank_profile=alpha, currency="USD")  # not touched
    taker = TreasuryAccountFactory(bank_profile=beta, balance=Decimal("50000.00"))
    PayoutFactory.create_batch(2, bank_profile=alpha, amount=Decimal("1500.00"))
    step = {
        "action": "transfer_funds",
        "from_account_id": str(sender.id),
        "to_account_id": str(taker.id),
        "currency": "XOF",
        "amount": "300000.00",
    }

    plan, extra = built("float_rebalance", [step])

    rows = extra["preview"]["rows"]
    assert [(r["bank_name"], r["currency"]) for r in rows] == [
        ("Alpha", "XOF"),
        ("Beta", "XOF"),
    ]
    # payouts stay; 0.7 % of 3000 + 2 * 0.25 / 0.00165 = 21 + 303.03
    assert {k: rows[0][k] for k in rows[0] if k.endswith(("_before", "_after"))} == {
        "payouts_before": 2,
        "payouts_after": 2,
        "amount_before": "3000.00",
        "amount_after": "3000.00",
        "fees_before": "324.03",
        "fees_after": "324.03",
        "balance_before": "1000000.00",
        "balance_after": "700000.00",
    }
    assert (rows[1]["balance_before"], rows[1]["balance_after"]) == (
        "50000.00",
        "350000.00",
    )
    assert (rows[1]["payouts_before"], rows[1]["fees_before"]) == (0, "0.00")
    assert extra["preview"]["totals"] == {
        "payouts_moved": 0,
        "amount_moved_usd": "0.00",
        "fees_before_usd": "0.53",  # 21 * 0.00165 + 2 * 0.25
        "fees_after_usd": "0.53",
        "funds_moved_usd": "495.00",  # 300000 * 0.00165
        "banks_paused": 0,
    }
    assert not PlanPayout.objects.filter(plan=plan).exists()


@pytest.fixture
def risky() -> dict[str, Any]:
    gamma = BankProfileFactory(
        name="Gamma", fee_percent=Decimal("0.0100"), fee_fixed=Decimal("0.30")
    )
    delta = BankProfileFactory(
        name="Delta", fee_percent=Decimal("0.0050"), fee_fixed=Decimal("0.10")
    )
    now = timezone.now()
    payouts = {
        amount: PayoutFactory(
            bank_profile=gamma,
            amount=Decimal(amount),
            created_at=now - timedelta(hours=hours),
        )
        for amount, hours in (("1000.00", 3), ("4000.00", 2), ("2000.00", 1))
    }
    steps = [
        {"action": "pause_bank", "bank_profile_id": str(gamma.id), "reason": "red"},
        {
            "action": "reroute_payouts",
            "from_bank_id": str(gamma.id),
            "to_bank_id": str(delta.id),
            "currency": "XOF",
            "count": 2,
            "amount_min": "1000.00",
            "amount_max": "2000.00",
        },
        # no band: the oldest left, never one the step before already took
        {
            "action": "reroute_payouts",
            "from_bank_id": str(gamma.id),
            "to_bank_id": str(delta.id),
            "currency": "XOF",
            "count": 2,
            "amount": "5000.00",
        },
    ]
    return {"gamma": gamma, "delta": delta, "payouts": payouts, "steps": steps}


def test_risk_plan_previews_pauses_and_moves(risky: dict[str, Any]) -> None:
    plan, extra = built("risk_mitigation", risky["steps"])

    chosen = {
        index: {
            str(a)
            for a in PlanPayout.objects.filter(plan=plan, step_index=index).values_list(
                "amount", flat=True
            )
        }
        for index in (1, 2)
    }
    assert chosen == {1: {"1000.00", "2000.00"}, 2: {"4000.00"}}
    assert extra["selection"] == {"1": 2, "2": 1}
    delta_row, gamma_row = extra["preview"]["rows"]
    assert (delta_row["bank_name"], gamma_row["bank_name"]) == ("Delta", "Gamma")
    assert gamma_row["payouts_before"] == 3 and gamma_row["payouts_after"] == 0
    assert (gamma_row["amount_before"], gamma_row["amount_after"]) == (
        "7000.00",
        "0.00",
    )
    # 1 % of 7000 + 3 * 0.30 / 0.00165 = 70 + 545.45
    assert (gamma_row["fees_before"], gamma_row["fees_after"]) == ("615.45", "0.00")
    assert delta_row["payouts_after"] == 3 and delta_row["amount_after"] == "7000.00"
    # 0.5 % of 7000 + 3 * 0.10 / 0.00165 = 35 + 181.82
    assert (delta_row["fees_before"], delta_row["fees_after"]) == ("0.00", "216.82")
    assert extra["preview"]["totals"] == {
        "payouts_moved": 3,
        "amount_moved_usd": "11.55",  # 7000 * 0.00165
        "fees_before_usd": "1.02",  # 70 * 0.00165 + 3 * 0.30 = 1.0155
        "fees_after_usd": "0.36",  # 35 * 0.00165 + 3 * 0.10 = 0.35775
        "funds_moved_usd": "0.00",
        "banks_paused": 1,
    }
    assert extra["summary_facts"]["banks_paused"] == [
        {"bank_id": str(risky["gamma"].id), "bank_name": "Gamma"}
    ]


def test_a_failed_plan_has_no_preview() -> None:
    plan = a_plan("routing_optimization")
    assert preview.build(plan, build_snapshot(), {"status": "infeasible"}) == {}
    assert preview.build(plan, None, {"status": "ok", "steps": []}) == {}


# --- GET /api/ops/plans/<id>/payouts -------------------------------------------------


def test_payouts_list_pages_and_filters(
    risky: dict[str, Any], ops: APIClient, finance_ops: APIClient
) -> None:
    plan, _extra = built("risk_mitigation", risky["steps"])
    url = f"/api/ops/plans/{plan.id}/payouts"
    by_amount = {str(p.amount): str(p.id) for p in risky["payouts"].values()}

    first = ops.get(url, {"limit": 2})
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["ok"] is True and body["count"] == 3
    assert [(r["step_index"], r["amount"]) for r in body["results"]] == [
        (1, "1000.00"),
        (1, "2000.00"),
    ]
    assert body["results"][0] == {
        "payout_id": by_amount["1000.00"],
        "step_index": 1,
        "from_bank_id": str(risky["gamma"].id),
        "to_bank_id": str(risky["delta"].id),
        "currency": "XOF",
        "amount": "1000.00",
    }
    rest = finance_ops.get(body["next"])
    assert [r["payout_id"] for r in rest.json()["results"]] == [by_amount["4000.00"]]
    assert rest.json()["next"] is None

    def ids(**query: Any) -> list[str]:
        resp = ops.get(url, query)
        assert resp.status_code == 200, resp.json()
        return [r["payout_id"] for r in resp.json()["results"]]

    assert ids(step=2) == [by_amount["4000.00"]]
    assert ids(step=0) == []
    assert len(ids(bank_id=str(risky["delta"].id))) == 3
    assert len(ids(bank_id=str(risky["gamma"].id), currency="XOF", step=1)) == 2
    assert ids(bank_id=str(BankProfileFactory().id)) == []
    assert ids(currency="XAF") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"step": "-1"}, "step"),
        ({"step": "one"}, "step"),
        ({"step": "1.5"}, "step"),
        ({"step": "٣"}, "step"),
        ({"step": str(2**40)}, "step"),
        ({"bank_id": "bank-a"}, "bank_id"),
        ({"currency": "xof"}, "currency"),
        ({"currency": "XOFF"}, "currency"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-3"}, "offset"),
    ],
)
def test_payouts_list_refuses_bad_filters(
    risky: dict[str, Any], ops: APIClient, query: dict[str, str], field: str
) -> None:
    plan, _extra = built("risk_mitigation", risky["steps"])
    resp = ops.get(f"/api/ops/plans/{plan.id}/payouts", query)
    assert resp.status_code == 400, resp.json()
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]


def test_payouts_list_roles_and_unknown_plan(
    risky: dict[str, Any], outsider: APIClient, anonymous: APIClient, ops: APIClient
) -> None:
    plan, _extra = built("risk_mitigation", risky["steps"])
    url = f"/api/ops/plans/{plan.id}/payouts"
    assert outsider.get(url).status_code == 403
    assert outsider.get(f"/api/ops/plans/{plan.id}").status_code == 403
    assert anonymous.get(url).status_code == 401
    missing = ops.get("/api/ops/plans/00000000-0000-4000-8000-000000000000/payouts")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "plan_not_found"
