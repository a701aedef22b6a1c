"""POST /api/ops/retry-payout: effect, audit rows, refusals, replay, bad input,
the approval rule by USD amount, and one payment however often it is retried."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from molam_ops.models import OutboxEvent
from payouts.choices import PayoutStatus
from payouts.models import Payout, SimulatedBankTransfer
from tests.factories import PayoutFactory
from tests.helpers import assert_error, audit_rows, post_action
from tests.payouts.helpers import dispatch, seed_rates

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates() -> None:
    seed_rates()


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Payout.objects.order_by("id").values_list(
            "id", "status", "failure_reason", "attempts", "disputed", "updated_at"
        )
    )


@pytest.fixture
def failed() -> Payout:
    return PayoutFactory(
        status=PayoutStatus.FAILED, failure_reason="bank_timeout", attempts=1
    )


def test_retry_puts_a_failed_payout_back_in_the_queue(
    pay_admin: APIClient, failed: Payout
) -> None:
    resp = post_action(
        pay_admin, "retry-payout", {"payout_id": str(failed.id), "reason": "ok now"}
    )

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    failed.refresh_from_db()
    assert failed.status == PayoutStatus.PENDING
    assert failed.failure_reason == ""
    assert failed.attempts == 1
    assert body["payout"]["id"] == str(failed.id)
    assert body["payout"]["status"] == "pending"
    assert body["payout"]["amount"] == "1500.00"
    assert body["payout"]["bank_reference"] == failed.bank_reference
    [row] = audit_rows("retry_payout")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "alice",
        "pay_admin",
    )
    assert row.target == {
        "payout_id": str(failed.id),
        "bank_profile_id": str(failed.bank_profile_id),
    }
    assert row.details["previous_status"] == "failed"
    assert row.details["previous_failure_reason"] == "bank_timeout"
    assert row.details["bank_reference"] == failed.bank_reference
    assert row.details["reason"] == "ok now"
    assert row.details["amount_usd"] == "2.48"  # 1500 XOF at 0.00165
    assert body["log"]["id"] == str(row.id)
    event = OutboxEvent.objects.get(topic="payouts.payout.retry_requested")
    assert event.payload["payout_id"] == str(failed.id)
    assert event.payload["bank_reference"] == failed.bank_reference
    assert event.action_id == row.action_id
    # and the dispatcher sends it, with its original reference
    assert dispatch().sent == 1
    assert SimulatedBankTransfer.objects.get().bank_reference == failed.bank_reference


def test_ops_may_retry_a_processing_payout(ops: APIClient) -> None:
    payout = PayoutFactory(status=PayoutStatus.PROCESSING)
    resp = post_action(ops, "retry-payout", {"payout_id": str(payout.id)})
    assert resp.status_code == 200, resp.json()
    assert resp.json()["log"]["actor_role"] == "ops"
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PENDING


def test_finance_ops_may_not_retry(finance_ops: APIClient, failed: Payout) -> None:
    before = snapshot()
    resp = post_action(finance_ops, "retry-payout", {"payout_id": str(failed.id)})
    assert_error(resp, 403, "forbidden")
    assert snapshot() == before
    [row] = audit_rows("retry_payout")
    assert (row.status, row.target) == ("rejected", {"payout_id": str(failed.id)})


@pytest.mark.parametrize(
    "status", [PayoutStatus.PENDING, PayoutStatus.SENT, PayoutStatus.SETTLED]
)
def test_only_failed_or_processing_can_be_retried(
    pay_admin: APIClient, status: str
) -> None:
    payout = PayoutFactory(status=status)
    before = snapshot()

    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})

    error = assert_error(resp, 409, "payout_not_retryable")
    assert status in error["message"]
    assert snapshot() == before
    [row] = audit_rows("retry_payout")
    assert (row.status, row.details["code"]) == ("rejected", "payout_not_retryable")
    assert not OutboxEvent.objects.filter(topic__startswith="payouts.").exists()


def test_a_disputed_payout_is_never_retried(pay_admin: APIClient) -> None:
    payout = PayoutFactory(status=PayoutStatus.FAILED, disputed=True)
    before = snapshot()
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})
    assert_error(resp, 409, "payout_disputed")
    assert snapshot() == before
    assert audit_rows("retry_payout")[0].details["code"] == "payout_disputed"


def test_a_second_retry_is_stale(pay_admin: APIClient, failed: Payout) -> None:
    assert (
        post_action(
            pay_admin, "retry-payout", {"payout_id": str(failed.id)}
        ).status_code
        == 200
    )
    before = snapshot()
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(failed.id)})
    assert_error(resp, 409, "payout_not_retryable")
    assert snapshot() == before
    assert [r.status for r in audit_rows("retry_payout")] == ["executed", "rejected"]


def test_unknown_payout_is_404(pay_admin: APIClient) -> None:
    unknown = str(uuid.uuid4())
    error = assert_error(
        post_action(pay_admin, "retry-payout", {"payout_id": unknown}),
        404,
        "payout_not_found",
    )
    assert "payout_id" in error["fields"]
    [row] = audit_rows("retry_payout")
    assert (row.status, row.target) == ("rejected", {"payout_id": unknown})


def test_replay_returns_the_first_response(
    pay_admin: APIClient, failed: Payout
) -> None:
    body = {"payout_id": str(failed.id)}
    first = post_action(pay_admin, "retry-payout", body, key="retry-1")
    again = post_action(pay_admin, "retry-payout", body, key="retry-1")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(audit_rows("retry_payout")) == 1
    other = post_action(
        pay_admin, "retry-payout", {**body, "reason": "x"}, key="retry-1"
    )
    assert_error(other, 422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({}, {"payout_id"}),
        ({"payout_id": 12}, {"payout_id"}),
        ({"payout_id": "nope"}, {"payout_id"}),
        ({"payout_id": None}, {"payout_id"}),
        ({"payout_id": "{id}", "reason": ["x"]}, {"reason"}),
        ({"payout_id": "{id}", "reason": "x" * 501}, {"reason"}),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, failed: Payout, body: dict[str, Any], bad: set[str]
) -> None:
    body = {k: str(failed.id) if v == "{id}" else v for k, v in body.items()}
    before = snapshot()
    error = assert_error(
        post_action(pay_admin, "retry-payout", body, key="bad"), 400, "validation_error"
    )
    assert set(error["fields"]) == bad
    assert snapshot() == before
    # not stored under the key: the corrected request runs
    fixed = post_action(
        pay_admin, "retry-payout", {"payout_id": str(failed.id)}, key="bad"
    )
    assert fixed.status_code == 200, fixed.json()


def test_a_currency_without_a_rate_is_refused(pay_admin: APIClient) -> None:
    payout = PayoutFactory(status=PayoutStatus.FAILED, currency="ZZZ")
    before = snapshot()
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})
    assert_error(resp, 422, "unknown_currency")
    assert snapshot() == before


# --- approvals by amount in USD -------------------------------------------------


def test_over_10000_usd_needs_two_signatures(
    pay_admin: APIClient, client_for: Any
) -> None:
    # 7,000,000 XOF = 11,550 USD
    payout = PayoutFactory(status=PayoutStatus.FAILED, amount=Decimal("7000000"))
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})

    assert resp.status_code == 202, resp.json()
    approval = resp.json()["approval"]
    assert approval["required_approvals"] == 2
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED  # nothing yet

    for signer in (
        client_for("finance_ops", sub="bruno"),
        client_for("pay_admin", sub="amadou"),
    ):
        signed = post_action(
            signer, f"approve/{approval['id']}", {"decision": "approve"}
        )
        assert signed.status_code == 200, signed.json()
    assert signed.json()["approval"]["status"] == "executed"
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PENDING
    assert [r.status for r in audit_rows("retry_payout")] == ["requested", "executed"]


def test_over_100000_usd_needs_three(pay_admin: APIClient) -> None:
    payout = PayoutFactory(
        status=PayoutStatus.FAILED, amount=Decimal("100000.01"), currency="USD"
    )
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})
    assert resp.status_code == 202, resp.json()
    assert resp.json()["approval"]["required_approvals"] == 3


def test_exactly_10000_usd_needs_none(pay_admin: APIClient) -> None:
    payout = PayoutFactory(
        status=PayoutStatus.FAILED, amount=Decimal("10000"), currency="USD"
    )
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})
    assert resp.status_code == 200, resp.json()


def test_a_payout_not_retryable_is_refused_before_asking_for_signatures(
    pay_admin: APIClient,
) -> None:
    payout = PayoutFactory(amount=Decimal("7000000"))  # pending
    resp = post_action(pay_admin, "retry-payout", {"payout_id": str(payout.id)})
    assert_error(resp, 409, "payout_not_retryable")
    assert [r.status for r in audit_rows("retry_payout")] == ["rejected"]


def test_at_quorum_the_state_is_checked_again(
    pay_admin: APIClient, finance_ops: APIClient, client_for: Any
) -> None:
    """Disputed while the signatures were gathered: quorum does not retry it."""
    payout = PayoutFactory(status=PayoutStatus.FAILED, amount=Decimal("7000000"))
    approval = post_action(
        pay_admin, "retry-payout", {"payout_id": str(payout.id)}
    ).json()["approval"]
    disputed = post_action(
        finance_ops, "mark-dispute", {"payout_id": str(payout.id), "reason": "fraud"}
    )
    assert disputed.status_code == 200, disputed.json()

    post_action(finance_ops, f"approve/{approval['id']}", {"decision": "approve"})
    last = post_action(
        client_for("pay_admin", sub="amadou"),
        f"approve/{approval['id']}",
        {"decision": "approve"},
    )

    assert last.status_code == 200, last.json()
    payout.refresh_from_db()
    assert (payout.status, payout.disputed) == (PayoutStatus.FAILED, True)
    statuses = [r.status for r in audit_rows("retry_payout")]
    assert statuses == ["requested", "rejected"]
    assert audit_rows("retry_payout")[-1].details["code"] == "payout_disputed"
