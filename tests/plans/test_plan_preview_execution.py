"""What is previewed is what runs: execution moves exactly the payouts a plan
chose when it was built (those still pending there), and a step that could
not move them all says how many and why (its result and details.progress).
Summaries are rendered for the reader (en, fr) from details.summary_facts;
the plan's approval summary quotes the preview's totals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from payouts.choices import PayoutStatus
from payouts.models import Payout
from plans.choices import PlanStatus, StepStatus
from plans.models import Plan, PlanPayout, PlanStep
from tests.factories import PayoutFactory
from tests.helpers import bearer_client
from tests.payouts.helpers import seed_rates
from tests.plans.plan_helpers import generate, rails
from tests.plans.test_execute_plan_support import execute, make_plan, reroute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates_and_local_planner(settings: Any, db: None) -> Iterator[None]:
    settings.SIRA_URL = ""
    seed_rates()
    # a request leaves its language active: the next test starts in English
    with translation.override("en"):
        yield


@pytest.fixture
def reader(make_token: Any) -> APIClient:
    # no ``lang`` claim, no saved preference: Accept-Language decides
    return bearer_client(make_token(sub="chloe", roles=["ops"], lang=""))


def previewed(plan: Plan) -> set[Any]:
    return set(PlanPayout.objects.filter(plan=plan).values_list("payout_id", flat=True))


def test_execution_moves_exactly_the_previewed_payouts(
    pay_admin: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails(count=4, amount="1500.00")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None and plan.status == PlanStatus.PENDING
    chosen = previewed(plan)
    assert len(chosen) == 4
    # arrives after the preview, older than all, in the band: the old rule
    # (oldest first) would have taken it instead of a previewed one
    late = PayoutFactory(
        bank_profile=dear,
        amount=Decimal("1500.00"),
        created_at=timezone.now() - timedelta(days=2),
    )

    with django_capture_on_commit_callbacks(execute=True):
        resp = execute(pay_admin, plan, key="exec-preview")
    assert resp.status_code == 202, resp.json()

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert set(cheap.payouts.values_list("id", flat=True)) == chosen
    late.refresh_from_db()
    assert late.bank_profile_id == dear.id
    step = PlanStep.objects.get(plan=plan, index=0)
    assert (step.result["expected"], step.result["moved"]) == (4, 4)
    assert step.result["reasons"] == {} and step.result["partial"] is False
    (counted,) = plan.details["progress"]["steps"]
    assert counted == {
        "index": 0,
        "action": "reroute_payouts",
        "status": "done",
        "expected": 4,
        "moved": 4,
        "reasons": {},
        "partial": False,
    }
    assert plan.details["progress"]["partial"] == 0


def test_a_step_that_moved_some_says_how_many_and_why(
    pay_admin: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails(count=6, amount="1500.00")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    ids = sorted(previewed(plan))
    assert len(ids) == 6
    # between the preview and the run: two were sent, one disputed
    Payout.objects.filter(pk__in=ids[:2]).update(status=PayoutStatus.SENT)
    Payout.objects.filter(pk=ids[2]).update(disputed=True)

    with django_capture_on_commit_callbacks(execute=True):
        execute(pay_admin, plan, key="exec-partial")

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED  # the plan went on
    assert set(cheap.payouts.values_list("id", flat=True)) == set(ids[3:])
    step = PlanStep.objects.get(plan=plan, index=0)
    assert step.status == StepStatus.DONE
    assert step.result["expected"] == 6
    assert step.result["moved"] == 3
    assert step.result["reasons"] == {"disputed": 1, "not_pending": 2}
    assert step.result["partial"] is True
    progress = plan.details["progress"]
    assert (progress["done"], progress["total"], progress["partial"]) == (1, 1, 1)
    assert progress["steps"][0]["partial"] is True
    assert progress["steps"][0]["reasons"] == {"disputed": 1, "not_pending": 2}
    got = pay_admin.get(f"/api/ops/plans/{plan.id}").json()["plan"]
    assert got["details"]["progress"]["steps"][0]["moved"] == 3
    assert dear.payouts.filter(status=PayoutStatus.PENDING, disputed=False).count() == 0


def test_a_plan_without_a_stored_choice_keeps_the_old_rule(
    pay_admin: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    """A plan built before previews: its step takes ``count`` payouts itself,
    and reports them against that count."""
    _dear, cheap = rails(count=3, amount="1500.00")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    PlanPayout.objects.filter(plan=plan).delete()
    details = {k: v for k, v in plan.details.items() if k != "selection"}
    Plan.objects.filter(pk=plan.pk).update(details=details)

    with django_capture_on_commit_callbacks(execute=True):
        execute(pay_admin, plan, key="exec-old")

    step = PlanStep.objects.get(plan=plan, index=0)
    assert (step.result["expected"], step.result["moved"]) == (3, 3)
    assert cheap.payouts.count() == 3


# --- summaries in the reader's language -------------------------------------------


def test_summary_is_rendered_in_english_and_french(
    pay_admin: APIClient, reader: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    rails(count=4, amount="1500000.00")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    facts = plan.details["summary_facts"]
    assert facts["plan_type"] == "routing_optimization"
    assert facts["payouts_moved"] == 4
    assert facts["moved"] == [{"currency": "XOF", "payouts": 4, "amount": "6000000.00"}]
    url = f"/api/ops/plans/{plan.id}"

    en = reader.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["plan"]["summary"]
    fr = reader.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()["plan"]["summary"]

    # 6,000,000 XOF * 0.00165 = 9,900 USD; fees 2 % + 0.40 -> 0.5 % + 0.10 USD
    assert en == (
        "Routing optimization: reroute 4 payouts worth 6,000,000.00 XOF "
        "(9,900.00 USD); payout fees 199.60 USD → 49.90 USD."
    )
    nb = "\u202f" if "\u202f" in fr else "\xa0"  # the locale's group separator
    assert fr == (
        f"Optimisation du routage : réacheminer 4 paiements d'une valeur de "
        f"6{nb}000{nb}000,00 XOF (9{nb}900,00 USD) ; frais des paiements "
        f"199,60 USD → 49,90 USD."
    )
    listed = reader.get("/api/ops/plans", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert listed["results"][0]["summary"] == fr


def test_an_old_plan_keeps_its_stored_summary(
    pay_admin: APIClient, reader: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    rails(count=2)
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    details = {k: v for k, v in plan.details.items() if k != "summary_facts"}
    Plan.objects.filter(pk=plan.pk).update(details=details, summary="Old text.")
    got = reader.get(f"/api/ops/plans/{plan.id}", HTTP_ACCEPT_LANGUAGE="fr")
    assert got.json()["plan"]["summary"] == "Old text."


def test_approval_summary_quotes_the_preview_totals(
    pay_admin: APIClient,
    reader: APIClient,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.APPROVAL_PLAN_PAYOUTS_THRESHOLD = 3  # 4 payouts: signatures needed
    rails(count=4, amount="1500000.00")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None and plan.approval_id is not None
    url = f"/api/ops/approvals/{plan.approval_id}"

    en = reader.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["approval"]["summary"]
    fr = reader.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()["approval"]["summary"]

    assert (
        "moves 4 payouts, worth 9,900.00 USD; fees 199.60 USD → 49.90 USD; "
        "0 banks paused"
    ) in en
    nb = "\u202f" if "\u202f" in fr else "\xa0"
    assert (
        f"déplace 4 paiements, d'une valeur de 9{nb}900,00 USD ; frais "
        f"199,60 USD → 49,90 USD ; 0 banque en pause"
    ) in fr


def test_a_step_whose_preview_chose_nothing_moves_nothing(
    pay_admin: APIClient, on_commit: Any
) -> None:
    """No payout matched the step when the plan was built: it is done without
    moving the payouts that arrived since (the old rule would take them)."""
    dear, cheap = rails(count=2)
    plan = make_plan(reroute(dear, cheap, 2), plan_type="risk_mitigation")
    Plan.objects.filter(pk=plan.pk).update(details={"selection": {"0": 0}})

    with on_commit():
        execute(pay_admin, plan, key="exec-none")

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert cheap.payouts.count() == 0 and dear.payouts.count() == 2
    step = PlanStep.objects.get(plan=plan, index=0)
    assert step.result["noop"] == "nothing_selected"
    assert (step.result["expected"], step.result["moved"]) == (0, 0)
    assert step.result["partial"] is False
