"""The SQL an ops action costs (issue 2): a regression guard for make bench.

Counted, not timed, so it holds however busy the machine is. The statements are
the ones the production path sends on PostgreSQL with real commits (tx_db):
a replay is one indexed SELECT and no transaction; a new action reserves its key
in one autocommit statement and then runs one durable transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops import outbox
from molam_ops.actions import idempotency
from molam_ops.models import IdempotencyRecord, OutboxEvent
from molam_ops.tokens import mint
from tests.factories import BankProfileFactory
from tests.helpers import bearer_client, post_action

pytestmark = pytest.mark.postgres

# What the kernel itself sends for one executed action: the key's lookup; the
# reservation (one INSERT, committed by itself); then the action's:
# BEGIN, chain lock, chain head, audit INSERT, one outbox INSERT per event
# (the effect's and the action's), the stored response's UPDATE, COMMIT. The
# effect's own statements come on top.
KERNEL_STATEMENTS = 10
# pause_bank / resume_bank: the bank's name, the control's conditional UPDATE
# and its re-read (the ORM's UPDATE returns a row count, not the row).
EFFECT_STATEMENTS = 3


def _client(sub: str) -> APIClient:
    return bearer_client(mint(sub=sub, roles=["pay_admin"]))


def _sql(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


def _count(statements: list[str], prefix: str) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith(prefix))


def _action(client: APIClient, name: str, bank: Any, key: str) -> Any:
    body = {"bank_profile_id": str(bank.id), "reason": "budget"}
    return post_action(client, name, body, key=key)


@pytest.mark.parametrize("name", ["pause-bank", "resume-bank"])
def test_an_executed_action_is_one_transaction_of_known_size(
    tx_db: None, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the relay runs in a worker in production; tests run tasks inline
    monkeypatch.setattr(outbox, "nudge_relay", lambda: None)
    bank = BankProfileFactory()
    client = _client("budget-admin")
    # the bank's control row exists, as it does after its first pause
    assert _action(client, "pause-bank", bank, uuid.uuid4().hex).status_code == 200
    if name == "pause-bank":
        assert _action(client, "resume-bank", bank, uuid.uuid4().hex).status_code == 200
    key = uuid.uuid4().hex

    with CaptureQueriesContext(connection) as ctx:
        resp = _action(client, name, bank, key)

    assert resp.status_code == 200, resp.json()
    sql = _sql(ctx)
    listing = "\n".join(sql)
    assert len(sql) <= KERNEL_STATEMENTS + EFFECT_STATEMENTS, listing
    # the key's reservation commits by itself; then one durable transaction
    # holds effect, audit row, events and stored response; no savepoint
    assert _count(sql, "BEGIN") == _count(sql, "COMMIT") == 1, listing
    assert _count(sql, "SAVEPOINT") == _count(sql, "ROLLBACK") == 0, listing
    table = IdempotencyRecord._meta.db_table
    assert sum(1 for s in sql if table in s) == 3, listing  # lookup, reserve, store
    action_tx = sql[sql.index("BEGIN") :]
    reservation = [s for s in sql if s.startswith("INSERT") and table in s]
    assert sql.index(reservation[0]) < sql.index("BEGIN"), listing
    for written in (OpsActionLog, OutboxEvent):
        assert any(
            s.startswith("INSERT") and written._meta.db_table in s for s in action_tx
        ), listing
    # what those statements left behind is complete
    record = IdempotencyRecord.objects.get(scope="budget-admin", key=key)
    assert record.status == "completed"
    assert record.response_body == resp.json()
    row = OpsActionLog.objects.get(action_id=resp.json()["log"]["action_id"])
    assert (row.status, row.hash) == ("executed", resp.json()["log"]["hash"])
    assert OutboxEvent.objects.filter(action_id=row.action_id).exists()


def test_a_replay_is_one_select_and_no_transaction(tx_db: None) -> None:
    bank = BankProfileFactory()
    client = _client("budget-replayer")
    key = uuid.uuid4().hex
    first = _action(client, "pause-bank", bank, key)
    assert first.status_code == 200
    rows = OpsActionLog.objects.count()

    with CaptureQueriesContext(connection) as ctx:
        again = _action(client, "pause-bank", bank, key)

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    sql = _sql(ctx)
    assert len(sql) == 1, sql
    assert _count(sql, "SELECT") == 1, sql
    assert OpsActionLog.objects.count() == rows  # a replay writes no audit row


def test_a_new_key_that_loses_the_race_reads_the_winner(tx_db: None) -> None:
    """The one-statement reservation: a key already taken (here, in flight)
    answers 409 from the winner's record, and writes nothing of its own."""
    bank = BankProfileFactory()
    client = _client("budget-racer")
    key = uuid.uuid4().hex
    # as if another request had reserved it between our lookup and our INSERT
    assert idempotency._insert(
        "budget-racer", key, "x" * 64, "pause_bank", uuid.uuid4()
    )
    assert not idempotency._insert(
        "budget-racer", key, "y" * 64, "pause_bank", uuid.uuid4()
    )
    resp = _action(client, "pause-bank", bank, key)
    assert resp.status_code == 422  # another body under that key
    assert IdempotencyRecord.objects.filter(key=key).count() == 1
