"""One request per thing: while a request for an action on a target waits for
signatures, asking again answers 409 ``approval_pending`` naming it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from approvals.models import ApprovalRequest
from audit.models import OpsActionLog
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import post_action, sign

pytestmark = pytest.mark.django_db

GLOBAL = {"scope": "global", "reason": "incident"}


def test_a_second_global_freeze_request_names_the_first(
    global_freeze_request: dict[str, Any], finance_ops: Any
) -> None:
    first = global_freeze_request["approval"]["id"]

    resp = post_action(finance_ops, "freeze-payouts", GLOBAL)

    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "approval_pending"
    assert error["fields"] == {"approval_id": [first]}
    assert first in error["message"]
    assert ApprovalRequest.objects.count() == 1
    refusal = OpsActionLog.objects.filter(
        action_type="freeze_payouts", actor_id="bruno"
    ).get()
    assert (refusal.status, refusal.details["code"]) == ("rejected", "approval_pending")


def test_after_a_decline_or_past_the_deadline_it_may_be_asked_again(
    global_freeze_request: dict[str, Any], client_for: Any
) -> None:
    first = global_freeze_request["approval"]["id"]
    sign(client_for("finance_ops", sub="bruno"), first, "decline")
    second = post_action(client_for("pay_admin", sub="alice"), "freeze-payouts", GLOBAL)
    assert second.status_code == 202

    later = timezone.now() + timedelta(hours=25)
    with time_machine.travel(later, tick=False):
        third = post_action(
            client_for("pay_admin", sub="amadou"), "freeze-payouts", GLOBAL
        )

    assert third.status_code == 202, third.json()
    statuses = dict(ApprovalRequest.objects.values_list("id", "status"))
    assert sorted(statuses.values()) == ["declined", "expired", "pending"]
    # the one that lapsed was closed, with its audit row, by the new request
    expired = OpsActionLog.objects.get(details__code="approval_expired")
    assert (
        expired.action_id
        == ApprovalRequest.objects.get(status="expired").action_reference
    )


def test_a_payout_retry_waits_once_per_payout(client_for: Any) -> None:
    bank = BankProfileFactory()
    big = [
        PayoutFactory(
            bank_profile=bank, status="failed", amount=Decimal("20000"), currency="USD"
        )
        for _ in range(2)
    ]
    ops = client_for("ops", sub="chloe")
    first = post_action(ops, "retry-payout", {"payout_id": str(big[0].id)})
    again = post_action(
        client_for("pay_admin", sub="alice"),
        "retry-payout",
        {"payout_id": str(big[0].id)},
    )
    other = post_action(ops, "retry-payout", {"payout_id": str(big[1].id)})

    assert (first.status_code, again.status_code, other.status_code) == (202, 409, 202)
    assert again.json()["error"]["fields"]["approval_id"] == [
        first.json()["approval"]["id"]
    ]
