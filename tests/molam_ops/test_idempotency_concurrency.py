"""Concurrent duplicates on real PostgreSQL (DESIGN §5): threads with their own
connections, released together by a barrier, through the real HTTP views."""

from __future__ import annotations

import uuid

import pytest

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.models import IdempotencyRecord
from molam_ops.tokens import mint
from tests.concurrency import race as _race
from tests.factories import BankProfileFactory
from tests.helpers import bearer_client, post_action

pytestmark = pytest.mark.postgres


def _pause(token: str, body: dict[str, str], key: str) -> tuple[int, dict, bool]:
    resp = post_action(bearer_client(token), "pause-bank", body, key=key)
    return resp.status_code, resp.json(), "Idempotent-Replayed" in resp.headers


def _verify_chain(token: str) -> None:
    resp = bearer_client(token).get("/api/ops/audit/verify")
    assert resp.status_code == 200
    assert resp.json()["valid"] is True, resp.json()


def test_twenty_duplicates_make_one_effect(tx_db: None) -> None:
    bank = BankProfileFactory()
    body = {"bank_profile_id": str(bank.id), "reason": "race"}
    token = mint(sub="alice", roles=["pay_admin"])
    key = f"dup-{uuid.uuid4().hex}"

    results = _race(20, lambda _i: _pause(token, body, key))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    ok = [r for r in results if r[0] == 200]
    busy = [r for r in results if r[0] == 409]
    assert len(ok) + len(busy) == 20, [r[:2] for r in results]
    assert ok, "at least the first request succeeds"
    assert sum(1 for r in ok if not r[2]) == 1  # one executed, the rest replays
    assert all(r[1] == ok[0][1] for r in ok)
    assert all(r[1]["error"]["code"] == "idempotency_key_in_use" for r in busy)

    control = TreasuryControl.objects.get(key=pause_bank_key(bank.id))
    assert control.enabled
    assert control.value == {"bank_profile_id": str(bank.id), "reason": "race"}
    executed = OpsActionLog.objects.filter(action_type="pause_bank", status="executed")
    assert executed.count() == 1
    assert str(executed.get().action_id) == ok[0][1]["log"]["action_id"]
    record = IdempotencyRecord.objects.get()
    assert (record.scope, record.key, record.status) == ("alice", key, "completed")
    rejected = OpsActionLog.objects.filter(action_type="pause_bank", status="rejected")
    assert rejected.count() == len(busy)
    _verify_chain(token)


def test_ten_keys_pausing_one_bank_make_one_effect(tx_db: None) -> None:
    bank = BankProfileFactory()
    body = {"bank_profile_id": str(bank.id), "reason": "race"}
    token = mint(sub="alice", roles=["pay_admin"])

    results = _race(10, lambda i: _pause(token, body, f"k-{i}-{uuid.uuid4().hex}"))

    assert [r for r in results if isinstance(r, BaseException)] == []
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] + [409] * 9, statuses
    refusals = [r[1]["error"]["code"] for r in results if r[0] == 409]
    assert set(refusals) == {"bank_already_paused"}
    assert not any(r[2] for r in results)

    rows = OpsActionLog.objects.filter(action_type="pause_bank")
    assert rows.filter(status="executed").count() == 1
    assert rows.filter(status="rejected").count() == 9
    assert TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).count() == 1
    # every key answered, and each refusal is stored for its replay
    records = IdempotencyRecord.objects.all()
    assert records.count() == 10
    assert sorted(r.response_status for r in records) == [200] + [409] * 9
    _verify_chain(token)
