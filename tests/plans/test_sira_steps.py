"""SIRA's own step shape (DESIGN §8): banks named by id or by name, resolved
against the plan's snapshot; a step naming an unknown or ambiguous bank,
breaking the safety rule or leaving the plan's currencies sends the whole
answer to the local planner; a seed-shaped reroute executes on the oldest
pending payouts the destination can take (of the plan's one currency, when
it has one). Against the real development server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from payouts.models import Payout
from plans import crypto, sira_client
from plans.choices import PlanStatus, StepStatus
from plans.models import Plan, PlanStep
from tests.factories import BankProfileFactory
from tests.helpers import free_port
from tests.plans.plan_helpers import generate, rails
from tests.plans.sira_helpers import running
from tests.plans.sira_step_helpers import aged, seed_step, snapshot_dict
from tests.plans.test_execute_plan_support import execute
from tests.plans.test_sira_client import _wait_for as wait_for


@pytest.fixture
def fast_sira(settings: Any) -> Any:
    settings.SIRA_TIMEOUT_SECONDS = 0.5
    settings.SIRA_BACKOFF_SECONDS = 0.01
    settings.SIRA_RETRIES = 2
    settings.SIRA_CA_BUNDLE = ""
    settings.SIRA_CLIENT_CERT = ""
    settings.SIRA_CLIENT_KEY = ""
    return settings


def answer(*steps: dict[str, Any]) -> dict[str, Any]:
    """The plan object the server answers (under "plan", its good mode)."""
    return {
        "summary": "SIRA: move payouts to the cheaper bank",
        "steps": list(steps),
        "total_amount": "12.00",
        "approval_required": False,
    }


def generated(client: Any, capture: Any, settings: Any, url: str) -> Plan:
    settings.SIRA_URL = url
    resp, plan = generate(client, capture)
    assert resp.status_code == 202, resp.json()
    assert plan is not None and plan.status == PlanStatus.PENDING, plan
    return plan


# --- a seed-shaped answer becomes a plan that executes --------------------------------


@pytest.mark.parametrize("by", ["name", "id"])
def test_a_seed_shaped_answer_becomes_a_sira_plan_that_executes(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
    by: str,
) -> None:
    dear, cheap = rails(count=0)
    oldest = aged(dear, 5)
    usd = aged(dear, 1, currency="USD", start_hours=20)  # cheap serves XOF only
    if by == "name":  # SIRA's spelling, not ours: matched case-insensitively
        refs = ("banque chère", "  BANQUE DOUCE ")
    else:
        refs = (str(dear.id), str(cheap.id).upper())
    with running(answer=answer(seed_step(*refs, 3))) as server:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )

    assert (plan.source, plan.fallback_reason) == ("sira", "")
    (step,) = PlanStep.objects.filter(plan=plan)
    assert step.fields["from_bank_id"] == str(dear.id)
    assert step.fields["to_bank_id"] == str(cheap.id)
    assert step.fields["count"] == 3 and "currency" not in step.fields
    assert step.fields["estimated_savings"] == 234.5
    assert plan.payout_count == 3
    # SIRA's own words stay in plan_data
    raw = crypto.decrypt_json(Plan.objects.get(pk=plan.id).plan_data)["answer"]
    assert raw["plan"]["steps"][0]["from_bank"] == refs[0]

    with django_capture_on_commit_callbacks(execute=True):
        resp = execute(pay_admin, plan)
    assert resp.status_code == 202, resp.json()

    plan.refresh_from_db()
    step.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED, plan.details
    assert step.status == StepStatus.DONE
    moved = step.result["reroute"]
    assert moved["payout_ids"] == [str(p.id) for p in oldest[:3]]  # oldest first
    assert (moved["requested_count"], moved["moved"]) == (3, 3)
    assert moved["currency"] == "XOF" and moved["shortfall"] is None
    assert set(
        Payout.objects.filter(bank_profile=cheap).values_list("id", flat=True)
    ) == {p.id for p in oldest[:3]}
    assert Payout.objects.get(pk=usd[0].id).bank_profile_id == dear.id


def test_a_step_moving_fewer_than_its_count_says_how_many_and_why(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dear, cheap = rails(count=0)
    held = aged(dear, 2)
    aged(dear, 3, currency="USD")  # not for cheap
    with running(answer=answer(seed_step("Banque Chère", "Banque Douce", 26))) as srv:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, srv.url
        )
    with django_capture_on_commit_callbacks(execute=True):
        execute(pay_admin, plan)
    moved = PlanStep.objects.get(plan=plan).result["reroute"]
    assert (moved["requested_count"], moved["moved"]) == (26, 2)
    assert moved["shortfall"] == {"missing": 24, "reason": "source_short"}
    assert moved["payout_ids"] == [str(p.id) for p in held]
    assert not Payout.objects.filter(bank_profile=cheap, currency="USD").exists()


# --- refused answers fall back, the step recorded -------------------------------------


def _fallback(plan: Plan, reason: str, index: int = 0) -> dict[str, Any]:
    assert plan.source == "heuristic"
    assert plan.fallback_reason == "invalid_response"
    refused = plan.details["sira"]["refused_step"]
    assert (refused["index"], refused["reason"]) == (index, reason)
    assert plan.details["sira"]["attempts"] == 1  # not asked again
    return dict(refused)


def test_a_bank_name_matching_no_bank_falls_back(
    db: None, pay_admin: Any, fast_sira: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    good = seed_step("Banque Chère", "Banque Douce", 1)
    bad = seed_step("Banque Chère", "bank-b", 2)
    with running(answer=answer(good, bad)) as server:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )
    refused = _fallback(plan, "unknown_bank", index=1)
    assert refused["step"] == bad
    assert "bank-b" in refused["detail"]
    # the whole answer went: the local planner's steps only
    assert all("sira_to_bank" not in s for s in plan.steps)


def test_a_bank_name_matching_two_banks_falls_back(
    db: None, pay_admin: Any, fast_sira: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    BankProfileFactory(name="BANQUE DOUCE", currencies=["XOF"])
    with running(answer=answer(seed_step("Banque Chère", "banque douce", 2))) as srv:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, srv.url
        )
    refused = _fallback(plan, "ambiguous_bank")
    assert "2 banks" in refused["detail"]


@pytest.mark.parametrize("shape", ["seed", "ids"])
def test_a_step_into_a_paused_bank_falls_back(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
    shape: str,
) -> None:
    dear, cheap = rails()
    now = timezone.now()
    TreasuryControl.objects.create(
        key=pause_bank_key(cheap.id), enabled=True, created_at=now, updated_at=now
    )
    if shape == "seed":
        step = seed_step("Banque Chère", "Banque Douce", 2)
    else:
        step = {
            "action": "reroute_payouts",
            "from_bank_id": str(dear.id),
            "to_bank_id": str(cheap.id),
            "currency": "XOF",
            "count": 2,
            "amount": "3000.00",
        }
    with running(answer=answer(step)) as server:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )
    refused = _fallback(plan, "paused")
    assert refused["step"] == step
    assert "Banque Douce" in refused["detail"]
    assert not PlanStep.objects.filter(plan=plan, fields__to_bank_id=str(cheap.id))


# --- the plan's currency scope --------------------------------------------------------


def two_currency_rails() -> tuple[Any, Any, list[Any], list[Any]]:
    """Two banks serving XOF and USD; the dear one holds both, USD the older."""
    dear = BankProfileFactory(
        name="Banque Chère",
        currencies=["XOF", "USD"],
        fee_percent=Decimal("0.0200"),
        fee_fixed=Decimal("0.40"),
    )
    cheap = BankProfileFactory(
        name="Banque Douce",
        currencies=["XOF", "USD"],
        fee_percent=Decimal("0.0050"),
        fee_fixed=Decimal("0.10"),
    )
    return dear, cheap, aged(dear, 3), aged(dear, 2, currency="USD", start_hours=20)


def scoped(*currencies: str) -> dict[str, Any]:
    return {
        "plan_params": {
            "type": "routing_optimization",
            "timeframe": "24h",
            "currencies": list(currencies),
        }
    }


@pytest.mark.parametrize(
    ("extra", "scope", "words"),
    [
        ({"currency": "USD"}, ("XOF",), "USD is outside the plan's currencies (XOF)"),
        ({}, ("USD", "XOF"), "no currency"),
    ],
    ids=["another_currency", "no_currency_two_in_scope"],
)
def test_a_step_outside_the_plan_s_currencies_falls_back(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
    extra: dict[str, Any],
    scope: tuple[str, ...],
    words: str,
) -> None:
    two_currency_rails()
    step = seed_step("Banque Chère", "Banque Douce", 2, **extra)
    with running(answer=answer(step)) as server:
        fast_sira.SIRA_URL = server.url
        resp, plan = generate(
            pay_admin, django_capture_on_commit_callbacks, scoped(*scope)
        )
        assert [path for _m, path, _mode in server.requests] == ["/api/plan"]
    assert resp.status_code == 202, resp.json()
    assert plan is not None and plan.status == PlanStatus.PENDING, plan
    refused = _fallback(plan, "out_of_scope")
    assert refused["step"] == step
    assert words in refused["detail"]
    # the local planner's plan keeps to the scope
    assert plan.steps and all(s["currency"] in scope for s in plan.steps)


def test_a_step_without_a_currency_keeps_to_a_one_currency_scope(
    db: None,
    pay_admin: Any,
    fast_sira: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dear, _cheap, xof, usd = two_currency_rails()
    step = seed_step("Banque Chère", "Banque Douce", 5)
    with running(answer=answer(step)) as server:
        fast_sira.SIRA_URL = server.url
        _resp, plan = generate(
            pay_admin, django_capture_on_commit_callbacks, scoped("XOF")
        )
    assert plan is not None
    assert (plan.source, plan.fallback_reason) == ("sira", "")
    (planned,) = PlanStep.objects.filter(plan=plan)
    assert planned.fields["currency"] == "XOF"

    with django_capture_on_commit_callbacks(execute=True):
        assert execute(pay_admin, plan).status_code == 202
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED, plan.details
    moved = PlanStep.objects.get(plan=plan).result["reroute"]
    # the USD payouts, older, stay: the plan is about XOF only
    assert moved["payout_ids"] == [str(p.id) for p in xof]
    assert moved["amounts"] == {"XOF": "4500.00"}
    still = Payout.objects.filter(pk__in=[u.id for u in usd])
    assert {p.bank_profile_id for p in still} == {dear.id}


# --- the development server's two shapes ----------------------------------------------


def test_the_devserver_answers_in_the_seed_shape(
    db: None, pay_admin: Any, fast_sira: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails()
    with running(shape="seed") as server:
        plan = generated(
            pay_admin, django_capture_on_commit_callbacks, fast_sira, server.url
        )
        # a request picks its shape with a header, whatever the server's
        ids, _n, _ms = sira_client.call(
            "POST",
            "/api/plan",
            body={"plan_type": "routing_optimization", "snapshot": snapshot_dict()},
            headers={"X-Sira-Shape": "ids"},
        )
    raw = crypto.decrypt_json(Plan.objects.get(pk=plan.id).plan_data)["answer"]
    (said,) = raw["plan"]["steps"]
    assert (said["from_bank"], said["to_bank"]) == ("Banque Chère", "Banque Douce")
    assert "from_bank_id" not in said and said["count"] == 4
    assert Decimal(str(said["estimated_savings"])) > 0
    assert plan.source == "sira"
    (step,) = PlanStep.objects.filter(plan=plan)
    assert (step.fields["from_bank_id"], step.fields["to_bank_id"]) == (
        str(dear.id),
        str(cheap.id),
    )
    assert step.fields["currency"] == "XOF"
    (by_id,) = ids["plan"]["steps"]
    assert by_id["from_bank_id"] == "b1" and "from_bank" not in by_id


def test_the_command_line_server_takes_a_shape(fast_sira: Any) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "plans.sira_devserver", "--host", "127.0.0.1"),
            *("--port", str(port), "--shape", "seed"),
        ],
        cwd=Path(django_settings.BASE_DIR),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(port, proc)
        fast_sira.SIRA_URL = f"http://127.0.0.1:{port}"
        answer = sira_client.request_plan(
            {"plan_type": "routing_optimization", "snapshot": snapshot_dict()}
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    (said,) = answer.raw["plan"]["steps"]
    assert (said["from_bank"], said["to_bank"]) == ("Ecobank", "Orabank")
    (step,) = answer.plan["steps"]
    assert (step["from_bank_id"], step["to_bank_id"], step["count"]) == ("b1", "b2", 4)
