"""POST /api/ops/mark-dispute: effect, audit rows, refusals, replay, bad input;
a disputed payout is never dispatched nor retried."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from molam_ops.models import OutboxEvent
from payouts.choices import PayoutStatus
from payouts.models import Payout
from tests.factories import PayoutFactory
from tests.helpers import assert_error, audit_rows, post_action
from tests.payouts.helpers import dispatch, ledger, seed_rates

pytestmark = pytest.mark.django_db


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Payout.objects.order_by("id").values_list(
            "id", "status", "disputed", "updated_at"
        )
    )


def dispute(client: APIClient, payout: Any, **kw: Any) -> Any:
    body = {"payout_id": str(payout.id), "reason": "beneficiary says not received"}
    return post_action(client, "mark-dispute", {**body, **kw})


@pytest.mark.parametrize("status", list(PayoutStatus))
def test_marks_a_payout_disputed_in_any_status(
    finance_ops: APIClient, status: str
) -> None:
    payout = PayoutFactory(status=status)

    resp = dispute(finance_ops, payout)

    assert resp.status_code == 200, resp.json()
    payout.refresh_from_db()
    assert payout.disputed is True
    assert payout.status == status  # a dispute does not move the payout
    assert resp.json()["payout"]["disputed"] is True
    [row] = audit_rows("mark_dispute")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "bruno",
        "finance_ops",
    )
    assert row.target == {
        "payout_id": str(payout.id),
        "bank_profile_id": str(payout.bank_profile_id),
    }
    assert row.details["reason"] == "beneficiary says not received"
    assert row.details["status"] == status
    event = OutboxEvent.objects.get(topic="payouts.payout.disputed")
    assert event.payload["payout_id"] == str(payout.id)


def test_a_disputed_payout_is_not_dispatched_nor_retried(
    pay_admin: APIClient, ops: APIClient
) -> None:
    seed_rates()
    pending = PayoutFactory()
    failed = PayoutFactory(status=PayoutStatus.FAILED)
    assert dispute(pay_admin, pending).status_code == 200
    assert dispute(pay_admin, failed).status_code == 200

    assert dispatch().claimed == 0
    assert ledger() == []
    resp = post_action(ops, "retry-payout", {"payout_id": str(failed.id)})
    assert_error(resp, 409, "payout_disputed")
    resp = post_action(ops, "retry-failed-payouts", {})
    assert_error(resp, 409, "no_failed_payouts")


def test_disputing_twice_is_409(pay_admin: APIClient) -> None:
    payout = PayoutFactory()
    assert dispute(pay_admin, payout).status_code == 200
    before = snapshot()
    assert_error(dispute(pay_admin, payout, reason="again"), 409, "already_disputed")
    assert snapshot() == before
    assert [r.status for r in audit_rows("mark_dispute")] == ["executed", "rejected"]


def test_ops_may_not_dispute(ops: APIClient) -> None:
    payout = PayoutFactory()
    assert_error(dispute(ops, payout), 403, "forbidden")
    assert Payout.objects.get().disputed is False
    assert audit_rows("mark_dispute")[0].status == "rejected"


def test_unknown_payout_is_404(pay_admin: APIClient) -> None:
    unknown = str(uuid.uuid4())
    resp = post_action(pay_admin, "mark-dispute", {"payout_id": unknown, "reason": "x"})
    assert_error(resp, 404, "payout_not_found")
    assert audit_rows("mark_dispute")[0].target == {"payout_id": unknown}


def test_replay(pay_admin: APIClient) -> None:
    payout = PayoutFactory()
    body = {"payout_id": str(payout.id), "reason": "r"}
    first = post_action(pay_admin, "mark-dispute", body, key="d1")
    again = post_action(pay_admin, "mark-dispute", body, key="d1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(audit_rows("mark_dispute")) == 1


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"payout_id": "{id}"}, {"reason"}),
        ({"payout_id": "{id}", "reason": ""}, {"reason"}),
        ({"payout_id": "{id}", "reason": {"a": 1}}, {"reason"}),
        ({"reason": "x"}, {"payout_id"}),
        ({"payout_id": 7, "reason": "x"}, {"payout_id"}),
        ({"payout_id": "x-y", "reason": "x"}, {"payout_id"}),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, body: dict[str, Any], bad: set[str]
) -> None:
    payout = PayoutFactory()
    body = {k: str(payout.id) if v == "{id}" else v for k, v in body.items()}
    before = snapshot()
    error = assert_error(
        post_action(pay_admin, "mark-dispute", body), 400, "validation_error"
    )
    assert set(error["fields"]) == bad
    assert snapshot() == before
    assert audit_rows("mark_dispute")[0].details["code"] == "validation_error"
