"""generate-plan, safe by default: the snapshot sees pauses, freezes, health
and breakers; plans state their constraints and what they could not do; an
override is validated and audited; a scope limits a plan."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from controls.models import TreasuryControl
from payouts.choices import CircuitState
from payouts.models import BankProfile
from plans import crypto
from plans.models import Plan
from plans.planner.snapshot import read_snapshot
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import audit_rows, post_action
from tests.plans.plan_helpers import generate, rails
from tests.plans.sira_helpers import running


@pytest.fixture(autouse=True)
def _local_planner(settings: Any) -> None:
    settings.SIRA_URL = ""


def control(key: str) -> None:
    now = timezone.now()
    TreasuryControl.objects.create(
        key=key, enabled=True, created_at=now, updated_at=now
    )


def routing(**params: Any) -> dict[str, Any]:
    return {"plan_params": {"type": "routing_optimization", **params}}


def cheapest(**state: Any) -> BankProfile:
    """The cheapest XOF bank, in the state under test."""
    return BankProfileFactory(
        name="Banque Bon Marché",
        currencies=["XOF"],
        fee_percent=Decimal("0.0001"),
        fee_fixed=Decimal("0.01"),
        **state,
    )


# --- the snapshot sees what makes a bank unsafe ---------------------------------


def test_the_snapshot_reads_pause_freeze_health_and_breaker(db: None) -> None:
    paused, frozen, red, slow, probed, fine = (BankProfileFactory() for _ in range(6))
    control(f"pause_bank_{paused.id}")
    control(f"freeze_bank_{frozen.id}")
    BankProfile.objects.filter(pk=red.pk).update(status="red")
    # red by the health thresholds even if its recorded status lags
    BankProfile.objects.filter(pk=slow.pk).update(avg_latency_ms=2000)
    BankProfile.objects.filter(pk=probed.pk).update(
        circuit_state=CircuitState.HALF_OPEN
    )
    banks = {b.id: b for b in read_snapshot("routing_optimization").banks}
    assert (banks[str(paused.id)].paused, banks[str(paused.id)].frozen) == (True, False)
    assert (banks[str(frozen.id)].paused, banks[str(frozen.id)].frozen) == (False, True)
    assert banks[str(red.id)].health == "red"
    assert banks[str(slow.id)].health == "red"
    assert banks[str(probed.id)].health == "yellow"
    assert banks[str(fine.id)].health == "green"
    assert not banks[str(fine.id)].frozen

    control("freeze_global")
    assert all(b.frozen for b in read_snapshot("routing_optimization").banks)


@pytest.mark.parametrize(
    "state",
    ["paused", "frozen", "red", "failing", "open", "half_open"],
)
def test_routing_never_sends_payouts_into_an_unsafe_bank(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any, state: str
) -> None:
    _dear, cheap = rails()
    unsafe = cheapest()
    if state == "paused":
        control(f"pause_bank_{unsafe.id}")
    elif state == "frozen":
        control(f"freeze_bank_{unsafe.id}")
    elif state == "red":
        BankProfile.objects.filter(pk=unsafe.pk).update(status="red")
    elif state == "failing":  # 0.85: below the default min_success_rate
        BankProfile.objects.filter(pk=unsafe.pk).update(success_rate=Decimal("0.85"))
    else:
        BankProfile.objects.filter(pk=unsafe.pk).update(circuit_state=state)
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, routing())
    assert plan is not None and plan.status == "pending", plan and plan.details
    assert {s["to_bank_id"] for s in plan.steps} == {str(cheap.id)}
    used = plan.details["constraints_used"]
    assert used["min_success_rate"] == {"value": "0.90", "default": True}
    assert used["max_bank_share"] == {"value": "0.5", "default": True}
    assert plan.details["unmet"] == []


def test_given_constraints_are_stated_as_given(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    body = routing(constraints={"min_success_rate": "0.95"})
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert plan is not None
    used = plan.details["constraints_used"]
    assert used["min_success_rate"] == {"value": "0.95", "default": False}
    assert used["max_cost"] == {"value": None, "default": True}


# --- partial plans -----------------------------------------------------------------


def test_a_one_bank_currency_leaves_a_partial_risk_plan_with_its_pauses(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ghana = BankProfileFactory(name="GTBank Ghana", currencies=["GHS"])
    for _ in range(3):
        PayoutFactory(bank_profile=ghana, currency="GHS", amount=Decimal("500.00"))
    failing = BankProfileFactory(currencies=["XOF"], success_rate=Decimal("0.5000"))
    other = BankProfileFactory(currencies=["XOF"])
    for _ in range(2):
        PayoutFactory(bank_profile=failing, currency="XOF", amount=Decimal("1000.00"))
    body = {"plan_params": {"type": "risk_mitigation"}}
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert plan is not None
    assert plan.status == "pending", plan.details
    actions = [(s["action"], s.get("bank_profile_id")) for s in plan.steps]
    assert actions[0] == ("pause_bank", str(failing.id))
    moved = [s for s in plan.steps if s["action"] == "reroute_payouts"]
    assert {(s["from_bank_id"], s["to_bank_id"]) for s in moved} == {
        (str(failing.id), str(other.id))
    }
    (missed,) = plan.details["unmet"]
    assert missed["constraint"] == "max_bank_share"
    assert missed["reason"] == "max_bank_share_unreachable"
    assert (missed["bank_id"], missed["currency"]) == (str(ghana.id), "GHS")
    assert "GTBank Ghana would still hold 1.000" in missed["message"]


# --- override ----------------------------------------------------------------------


def test_the_override_lets_a_named_bank_receive_and_is_audited(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    red = cheapest(status="red")
    override = {"allow_banks": [str(red.id)], "reason": "  the bank says it is back "}
    _resp, plan = generate(
        pay_admin, django_capture_on_commit_callbacks, routing(override=override)
    )
    assert plan is not None and plan.status == "pending", plan and plan.details
    assert {s["to_bank_id"] for s in plan.steps} == {str(red.id)}
    recorded = {"allow_banks": [str(red.id)], "reason": "the bank says it is back"}
    assert plan.details["override"] == recorded
    assert plan.params["override"] == recorded
    (row,) = audit_rows("generate_plan")
    assert (row.actor_id, row.actor_role) == ("alice", "pay_admin")
    assert row.details["override"] == recorded
    assert row.details["params"]["override"] == recorded


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"allow_banks": ["BANK"]}, ["override", "reason"]),
        ({"allow_banks": ["BANK"], "reason": "   "}, ["override", "reason"]),
        ({"allow_banks": [], "reason": "x"}, ["override", "allow_banks"]),
        ({"allow_banks": ["not-a-uuid"], "reason": "x"}, ["override", "allow_banks"]),
        (
            {"allow_banks": [str(uuid.UUID(int=7))], "reason": "x"},
            ["override", "allow_banks"],
        ),
        ("all", ["override"]),
    ],
)
def test_a_bad_override_is_a_400_with_fields_and_no_plan(
    db: None, pay_admin: Any, override: Any, where: list[str]
) -> None:
    bank = BankProfileFactory()
    if isinstance(override, dict):
        override = {
            k: [str(bank.id) if b == "BANK" else b for b in v]
            if k == "allow_banks"
            else v
            for k, v in override.items()
        }
    resp = post_action(pay_admin, "generate-plan", routing(override=override))
    assert resp.status_code == 400, resp.json()
    node: Any = resp.json()["error"]["fields"]["plan_params"]
    for name in where:
        node = node[name]
    assert node
    assert not audit_rows("generate_plan", status="executed")


def test_finance_ops_may_not_override(db: None, finance_ops: Any) -> None:
    bank = BankProfileFactory()
    body = routing(override={"allow_banks": [str(bank.id)], "reason": "x"})
    resp = post_action(finance_ops, "generate-plan", body)
    assert resp.status_code == 403


# --- scope -------------------------------------------------------------------------


def test_scope_limits_the_currencies_and_banks(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, _cheap = rails()
    mid = BankProfileFactory(
        currencies=["XOF", "USD"],
        fee_percent=Decimal("0.0100"),
        fee_fixed=Decimal("0.20"),
    )
    for _ in range(2):
        PayoutFactory(bank_profile=dear, currency="USD", amount=Decimal("50.00"))
    BankProfile.objects.filter(pk=dear.pk).update(currencies=["XOF", "USD"])

    _r, every = generate(pay_admin, django_capture_on_commit_callbacks, routing())
    assert every is not None
    assert {s["currency"] for s in every.steps} == {"XOF", "USD"}

    body = routing(currencies=["USD"])
    _r, usd_only = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert usd_only is not None
    assert {s["currency"] for s in usd_only.steps} == {"USD"}
    assert usd_only.params["currencies"] == ["USD"]
    assert usd_only.details["scope"] == {"currencies": ["USD"], "banks": None}

    body = routing(banks=[str(dear.id), str(mid.id)])
    _r, no_cheap = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert no_cheap is not None
    assert {s["to_bank_id"] for s in no_cheap.steps} == {str(mid.id)}


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"currencies": ["ZZZ"]}, ["currencies"]),
        ({"currencies": ["usd"]}, ["currencies"]),
        ({"currencies": []}, ["currencies"]),
        ({"currencies": "XOF"}, ["currencies"]),
        ({"banks": [str(uuid.UUID(int=9))]}, ["banks"]),
        ({"banks": ["nope"]}, ["banks"]),
    ],
)
def test_an_unknown_scope_is_a_400_with_fields(
    db: None, pay_admin: Any, params: dict[str, Any], where: list[str]
) -> None:
    rails()
    resp = post_action(pay_admin, "generate-plan", routing(**params))
    assert resp.status_code == 400, resp.json()
    assert resp.json()["error"]["code"] == "validation_error"
    node: Any = resp.json()["error"]["fields"]["plan_params"]
    for name in where:
        node = node[name]
    assert node


# --- SIRA sees the scope; its plan states the constraints too ---------------------


def test_sira_plans_on_the_scope_and_its_plan_states_the_constraints(
    db: None, pay_admin: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails()
    mid = BankProfileFactory(
        currencies=["XOF"], fee_percent=Decimal("0.0100"), fee_fixed=Decimal("0.20")
    )
    settings.SIRA_TIMEOUT_SECONDS = 2
    settings.SIRA_RETRIES = 0
    settings.SIRA_CA_BUNDLE = settings.SIRA_CLIENT_CERT = settings.SIRA_CLIENT_KEY = ""
    body = routing(banks=[str(dear.id), str(mid.id)])
    with running() as server:
        settings.SIRA_URL = server.url
        _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert plan is not None and plan.status == "pending", plan and plan.details
    assert plan.source == "sira"
    # the cheapest bank is out of scope: SIRA never saw it
    assert {s["to_bank_id"] for s in plan.steps} == {str(mid.id)}
    sent = crypto.decrypt_json(Plan.objects.get(pk=plan.id).plan_data)["snapshot"]
    assert {b["id"] for b in sent["banks"]} == {str(dear.id), str(mid.id)}
    assert str(cheap.id) not in {b["id"] for b in sent["banks"]}
    used = plan.details["constraints_used"]
    assert used["min_success_rate"] == {"value": "0.90", "default": True}
    assert plan.details["scope"] == {
        "currencies": None,
        "banks": sorted([str(dear.id), str(mid.id)]),
    }
