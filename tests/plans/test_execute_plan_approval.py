"""The approval token of a plan that needs signatures (DESIGN §7, §8): without
it, or with another plan's, execute-plan refuses; it executes once; a pending
or declined approval has none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from plans.choices import PlanStatus
from plans.models import Plan
from tests.helpers import assert_error, post_action, sign
from tests.plans.test_execute_plan_support import (
    balances,
    execute,
    make_plan,
    open_plan_approval,
    transfer,
)

pytestmark = pytest.mark.django_db


# --- the approval token (DESIGN §7) ---------------------------------------------------


@pytest.fixture
def approved_plan(
    rails: dict[str, Any], client_for: Any
) -> tuple[Plan, str, dict[str, Any]]:
    """A plan whose approval two other people signed: (plan, token, rails)."""
    plan = make_plan(
        transfer(rails["a"], rails["b"], "100.00"), total_amount=Decimal("20000")
    )
    approval = open_plan_approval(plan)
    first = sign(client_for("finance_ops", sub="bruno"), approval["id"])
    assert first.status_code == 200, first.json()
    last = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert last.status_code == 200, last.json()
    token = last.json()["approval"]["approval_token"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED  # the plans listener ran
    return plan, token, rails


def test_a_plan_needing_approval_refuses_without_its_token(
    pay_admin: APIClient, approved_plan: Any
) -> None:
    plan, _token, rails = approved_plan
    error = assert_error(execute(pay_admin, plan), 409, "approval_required")
    assert "approval_token" in error["fields"]
    assert_error(execute(pay_admin, plan, token=""), 409, "approval_required")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert balances(rails) == (Decimal("1000.00"), Decimal("50.00"))


def test_a_wrong_or_foreign_token_is_403(
    pay_admin: APIClient, approved_plan: Any, client_for: Any
) -> None:
    plan, token, _rails = approved_plan
    assert_error(
        execute(pay_admin, plan, token="forged"), 403, "approval_token_invalid"
    )
    # the token of another plan's approval is foreign to this one
    other = make_plan(total_amount=Decimal("20000"))
    other_approval = open_plan_approval(other)
    sign(client_for("finance_ops", sub="bruno"), other_approval["id"])
    last = sign(client_for("pay_admin", sub="amadou"), other_approval["id"])
    foreign = last.json()["approval"]["approval_token"]
    assert_error(execute(pay_admin, plan, token=foreign), 403, "approval_token_invalid")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    # the refusals did not use the right token up
    assert execute(pay_admin, plan, token=token).status_code == 202


def test_the_token_executes_once_then_is_used(
    pay_admin: APIClient, finance_ops: APIClient, approved_plan: Any
) -> None:
    plan, token, _rails = approved_plan
    resp = execute(pay_admin, plan, token=token)
    assert resp.status_code == 202, resp.json()
    assert resp.json()["log"]["details"]["approval_id"] == str(plan.approval_id)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTING  # (its worker has not run yet)
    assert plan.details["execution"]["approval_id"] == str(plan.approval_id)
    # a second call with the same token (another key, another person): used
    assert_error(execute(finance_ops, plan, token=token), 403, "approval_token_used")


def test_a_pending_approval_has_no_token_yet(
    pay_admin: APIClient, rails: dict[str, Any], client_for: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "1.00"))
    approval = open_plan_approval(plan)
    sign(client_for("finance_ops", sub="bruno"), approval["id"])  # 1 of 2
    assert_error(execute(pay_admin, plan), 409, "approval_required")
    assert_error(execute(pay_admin, plan, token="guess"), 403, "approval_token_invalid")


def test_a_declined_plan_is_rejected_and_cannot_execute(
    pay_admin: APIClient, rails: dict[str, Any], client_for: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "1.00"))
    approval = open_plan_approval(plan)
    resp = post_action(
        client_for("finance_ops", sub="bruno"),
        f"approve/{approval['id']}",
        {"decision": "decline"},
    )
    assert resp.status_code == 200, resp.json()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REJECTED
    error = assert_error(execute(pay_admin, plan), 409, "plan_not_executable")
    assert error["fields"] == {"status": ["rejected"]}
