"""POST /api/ops/retry-failed-payouts: one action re-queuing every failed,
non-disputed payout that matches (per bank, since a time), its count and
totals in details; signatures by the total in USD."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from molam_ops.models import OutboxEvent
from payouts.choices import PayoutStatus
from payouts.models import Payout
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import assert_error, audit_rows, post_action
from tests.payouts.helpers import seed_rates

pytestmark = pytest.mark.django_db
FAILED = PayoutStatus.FAILED


@pytest.fixture(autouse=True)
def _rates() -> None:
    seed_rates()


def snapshot() -> list[tuple[Any, ...]]:
    return list(Payout.objects.order_by("id").values_list("id", "status", "updated_at"))


def failed(**kw: Any) -> Payout:
    return PayoutFactory(status=FAILED, failure_reason="bank_timeout", **kw)


def pending_ids() -> set[uuid.UUID]:
    return set(
        Payout.objects.filter(status=PayoutStatus.PENDING).values_list("id", flat=True)
    )


def test_requeues_every_failed_non_disputed_payout(ops: APIClient) -> None:
    a, b = BankProfileFactory(), BankProfileFactory()
    retried = [
        failed(bank_profile=a),
        failed(bank_profile=a),
        failed(bank_profile=b, currency="USD", amount=Decimal("20.50")),
    ]
    untouched = [
        failed(bank_profile=a, disputed=True),
        PayoutFactory(bank_profile=a, status=PayoutStatus.SENT),
    ]

    resp = post_action(ops, "retry-failed-payouts", {})

    assert resp.status_code == 200, resp.json()
    assert pending_ids() == {p.id for p in retried}
    assert [Payout.objects.get(pk=p.pk).status for p in untouched] == [FAILED, "sent"]
    batch = resp.json()["batch"]
    assert batch["count"] == 3
    assert batch["totals"] == {"USD": "20.50", "XOF": "3000.00"}
    assert batch["total_usd"] == "25.45"  # 20.50 + 3000 XOF (4.95 USD)
    assert set(batch["payout_ids"]) == {str(p.id) for p in retried}
    [row] = audit_rows("retry_failed_payouts")
    assert (row.status, row.actor_role) == ("executed", "ops")
    assert row.details["count"] == 3
    assert row.details["totals"] == batch["totals"]
    assert row.details["as_of"] is None
    assert row.target == {"bank_profile_id": None, "since": None}
    event = OutboxEvent.objects.get(topic="payouts.payouts.retry_requested")
    assert set(event.payload["payout_ids"]) == set(batch["payout_ids"])


def test_per_bank_and_since(pay_admin: APIClient) -> None:
    a, b = BankProfileFactory(), BankProfileFactory()
    now = timezone.now()
    old = failed(bank_profile=a, updated_at=now - timedelta(hours=3))
    recent = failed(bank_profile=a, updated_at=now - timedelta(minutes=5))
    other = failed(bank_profile=b, updated_at=now - timedelta(minutes=5))
    since = (now - timedelta(hours=1)).isoformat()

    resp = post_action(
        pay_admin,
        "retry-failed-payouts",
        {"bank_profile_id": str(a.id), "since": since},
    )

    assert resp.status_code == 200, resp.json()
    assert pending_ids() == {recent.id}
    assert {old.id, other.id} <= set(
        Payout.objects.filter(status=FAILED).values_list("id", flat=True)
    )
    assert audit_rows("retry_failed_payouts")[0].target["bank_profile_id"] == str(a.id)


def test_nothing_to_retry_is_409(pay_admin: APIClient) -> None:
    PayoutFactory()
    before = snapshot()
    assert_error(
        post_action(pay_admin, "retry-failed-payouts", {}), 409, "no_failed_payouts"
    )
    assert snapshot() == before
    assert audit_rows("retry_failed_payouts")[0].status == "rejected"


def test_unknown_bank_is_404(pay_admin: APIClient) -> None:
    failed()
    before = snapshot()
    resp = post_action(
        pay_admin, "retry-failed-payouts", {"bank_profile_id": str(uuid.uuid4())}
    )
    assert_error(resp, 404, "bank_not_found")
    assert snapshot() == before


def test_finance_ops_may_not(finance_ops: APIClient) -> None:
    failed()
    before = snapshot()
    assert_error(post_action(finance_ops, "retry-failed-payouts", {}), 403, "forbidden")
    assert snapshot() == before


def test_replay(pay_admin: APIClient) -> None:
    failed()
    first = post_action(pay_admin, "retry-failed-payouts", {}, key="b1")
    failed()  # fails after the first call: a replay must not pick it up
    again = post_action(pay_admin, "retry-failed-payouts", {}, key="b1")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Payout.objects.filter(status=FAILED).count() == 1


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"bank_profile_id": 5}, {"bank_profile_id"}),
        ({"bank_profile_id": "bank"}, {"bank_profile_id"}),
        ({"since": "yesterday"}, {"since"}),
        ({"since": 1700000000}, {"since"}),
        ({"since": "{future}"}, {"since"}),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, body: dict[str, Any], bad: set[str]
) -> None:
    failed()
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    body = {k: future if v == "{future}" else v for k, v in body.items()}
    before = snapshot()
    error = assert_error(
        post_action(pay_admin, "retry-failed-payouts", body), 400, "validation_error"
    )
    assert set(error["fields"]) == bad
    assert snapshot() == before


def test_over_10000_usd_in_total_needs_two_signatures(
    pay_admin: APIClient, client_for: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        first = [
            failed(currency="USD", amount=Decimal("6000"), updated_at=start)
            for _ in range(2)
        ]
        resp = post_action(pay_admin, "retry-failed-payouts", {})
        assert resp.status_code == 202, resp.json()
        approval = resp.json()["approval"]
        assert approval["required_approvals"] == 2
        assert pending_ids() == set()

        # while the signers sign, another payout fails: they did not approve it
        traveller.move_to(start + timedelta(minutes=5))
        late = failed(currency="USD", amount=Decimal("90000"))
        for sub, role in (("bruno", "finance_ops"), ("amadou", "pay_admin")):
            signed = post_action(
                client_for(role, sub=sub),
                f"approve/{approval['id']}",
                {"decision": "approve"},
            )
            assert signed.status_code == 200, signed.json()

    assert signed.json()["approval"]["status"] == "executed"
    assert pending_ids() == {p.id for p in first}
    assert Payout.objects.get(pk=late.pk).status == FAILED
    executed = audit_rows("retry_failed_payouts")[-1]
    assert executed.status == "executed"
    assert executed.details["count"] == 2
    assert executed.details["total_usd"] == "12000.00"
    assert executed.details["as_of"] is not None
