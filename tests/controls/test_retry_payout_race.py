"""Two operators retry the same payout at the same instant, each with their own
Idempotency-Key, on real PostgreSQL: exactly one retry happens (one executed
row, one 409 with its rejected row), and the bank is paid once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.models import OutboxEvent
from molam_ops.tokens import mint
from payouts.choices import PayoutStatus
from payouts.models import SimulatedBankTransfer
from tests.concurrency import race as _race
from tests.factories import PayoutFactory
from tests.helpers import post_action
from tests.payouts.helpers import dispatch, seed_rates

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("status", [PayoutStatus.FAILED, PayoutStatus.PROCESSING])
def test_two_keys_one_retry(tx_db: None, status: str) -> None:
    seed_rates()
    payout = PayoutFactory(status=status, attempts=1)
    tokens = [mint(sub="alice", roles=["pay_admin"]), mint(sub="chloe", roles=["ops"])]

    def retry(i: int) -> tuple[int, dict[str, Any]]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        resp = post_action(
            client,
            "retry-payout",
            {"payout_id": str(payout.id)},
            key=f"k{i}-{uuid.uuid4().hex}",
        )
        return resp.status_code, resp.json()

    results = _race(2, retry)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(r[0] for r in results) == [200, 409], results
    [won] = [r[1] for r in results if r[0] == 200]
    [lost] = [r[1] for r in results if r[0] == 409]
    assert lost["error"]["code"] == "payout_not_retryable"
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PENDING
    # the audit trail matches: one executed, one rejected, nothing else
    log = OpsActionLog.objects.filter(action_type="retry_payout")
    assert sorted(log.values_list("status", flat=True)) == ["executed", "rejected"]
    executed = log.get(status="executed")
    assert str(executed.action_id) == won["log"]["action_id"]
    assert executed.actor_id == won["log"]["actor_id"]
    assert log.get(status="rejected").details["code"] == "payout_not_retryable"
    assert (
        OutboxEvent.objects.filter(topic="payouts.payout.retry_requested").count() == 1
    )
    # and the bank pays it once
    assert dispatch().sent == 1
    assert SimulatedBankTransfer.objects.get().attempts == 1
