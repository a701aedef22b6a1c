"""``action_log_verify`` names every break, each tampering once, and walks
on to the end (DESIGN §3)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.chain import GENESIS, holds, row_hash
from audit.models import OpsActionLog
from audit.selectors import Break, ChainReport, action_log_verify
from audit.serializers import audit_row
from audit.services import append_row
from tests.audit.tamper import db_id, tamper

pytestmark = pytest.mark.django_db

VERIFY = "/api/ops/audit/verify"
T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def chain(n: int) -> list[OpsActionLog]:
    """``n`` rows through the one writer."""
    for i in range(n):
        append_row(
            action_id=uuid.uuid4(),
            actor_id=f"actor-{i}",
            actor_role="ops",
            action_type="resume_bank",
            status="rejected",
            target={"bank_profile_id": str(uuid.uuid4())},
            details={"n": i, "ratio": i / 7},
        )
    return list(OpsActionLog.objects.order_by("seq"))


def by_seq(seq: int) -> OpsActionLog:
    return OpsActionLog.objects.get(seq=seq)


def codes(report: ChainReport) -> list[tuple[int, str]]:
    return [(b.seq, b.code) for b in report.broken]


def test_an_intact_chain_reports_where_it_ends() -> None:
    rows = chain(4)
    report = action_log_verify()
    assert report == ChainReport(
        valid=True,
        checked=4,
        broken=(),
        truncated=False,
        last_seq=4,
        last_hash=rows[-1].hash,
    )
    assert action_log_verify(after_seq=2, prev_hash=rows[1].hash) == ChainReport(
        True, 2, (), False, 4, rows[-1].hash
    )
    empty = action_log_verify(after_seq=4, prev_hash=rows[-1].hash)
    assert empty == ChainReport(True, 0, (), False, 0, GENESIS)


def test_a_start_that_does_not_link_is_named() -> None:
    rows = chain(4)
    report = action_log_verify(after_seq=2, prev_hash="f" * 64)
    assert report.broken == (
        Break(
            seq=3,
            id=str(rows[2].id),
            reason="Its prev_hash is not the hash of seq 2: that row was "
            "rewritten, or this link was.",
            code="prev_hash_mismatch",
        ),
    )
    assert report.checked == 2


def test_deleted_rows_name_the_row_after_and_the_missing_seqs() -> None:
    rows = chain(8)
    tamper("DELETE FROM ops_actions_log WHERE seq IN (1, 4, 5)")
    report = action_log_verify()
    assert report.broken == (
        Break(
            2,
            str(rows[1].id),
            "Rows are missing before this one: seq 1.",
            "missing_rows",
        ),
        Break(
            6,
            str(rows[5].id),
            "Rows are missing before this one: seqs 4 to 5.",
            "missing_rows",
        ),
    )
    assert (report.valid, report.checked, report.last_seq) == (False, 5, 8)


def test_an_edited_row_is_named_once() -> None:
    chain(6)
    tamper("UPDATE ops_actions_log SET actor_id = 'mallory' WHERE seq = 3")
    report = action_log_verify()
    assert codes(report) == [(3, "hash_mismatch")]
    assert report.checked == 6


def test_an_edited_row_with_its_hash_recomputed_breaks_the_next_link() -> None:
    chain(6)
    victim = by_seq(3)
    victim.details = {"n": 2, "ratio": 0}
    tamper(
        "UPDATE ops_actions_log SET details = %s, hash = %s WHERE seq = 3",
        [json.dumps(victim.details), row_hash(victim)],
    )
    assert codes(action_log_verify()) == [(4, "prev_hash_mismatch")]


def test_an_edited_link_is_named_with_the_content_it_no_longer_matches() -> None:
    chain(5)
    tamper("UPDATE ops_actions_log SET prev_hash = %s WHERE seq = 3", ["a" * 64])
    assert codes(action_log_verify()) == [
        (3, "prev_hash_mismatch"),
        (3, "hash_mismatch"),
    ]


def test_a_suffix_rehashed_after_a_deletion_shows_only_the_gap() -> None:
    """The forger relinks every row after the deleted one: the chain holds
    again but for the hole in ``seq`` (checkpoints catch a renumbering)."""
    chain(7)
    tamper("DELETE FROM ops_actions_log WHERE seq = 3")
    prev = by_seq(2).hash
    for seq in range(4, 8):
        row = by_seq(seq)
        row.prev_hash = prev
        prev = row_hash(row)
        tamper(
            "UPDATE ops_actions_log SET prev_hash = %s, hash = %s WHERE id = %s",
            [row.prev_hash, prev, db_id(row)],
        )
    assert codes(action_log_verify()) == [(4, "missing_rows")]


def test_two_separate_tamperings_are_both_named(pay_admin: Any) -> None:
    rows = chain(10)
    tamper("UPDATE ops_actions_log SET status = 'executed' WHERE seq = 2")
    tamper("DELETE FROM ops_actions_log WHERE seq = 7")
    report = action_log_verify()
    assert codes(report) == [(2, "hash_mismatch"), (8, "missing_rows")]
    body = pay_admin.get(VERIFY).json()
    assert body["valid"] is False
    assert body["checked"] == 9
    assert [(b["seq"], b["id"], b["code"]) for b in body["broken"]] == [
        (2, str(rows[1].id), "hash_mismatch"),
        (8, str(rows[7].id), "missing_rows"),
    ]
    assert body["truncated"] is False


def test_past_max_broken_the_list_is_truncated_and_the_walk_goes_on(
    pay_admin: Any,
) -> None:
    chain(150)
    tamper("UPDATE ops_actions_log SET actor_id = 'mallory' WHERE seq <= 120")
    report = action_log_verify()
    assert report.valid is False
    assert report.truncated is True
    assert [b.seq for b in report.broken] == list(range(1, 101))
    assert report.checked == 150
    assert report.last_seq == 150
    body = pay_admin.get(VERIFY).json()
    assert (len(body["broken"]), body["truncated"], body["checked"]) == (100, True, 150)
    few = action_log_verify(max_broken=3)
    assert (len(few.broken), few.truncated) == (3, True)
    exact = action_log_verify(max_broken=120)
    assert (len(exact.broken), exact.truncated) == (120, False)


def _bulk(n: int) -> list[OpsActionLog]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row = OpsActionLog(
            seq=seq,
            action_id=uuid.uuid4(),
            actor_id="bulk",
            actor_role="ops",
            action_type="resume_bank",
            status="rejected",
            details={"n": seq},
            created_at=T0 + timedelta(seconds=seq),
            prev_hash=prev,
        )
        row.hash = prev = row_hash(row)
        rows.append(row)
    OpsActionLog.objects.bulk_create(rows, batch_size=500)
    return rows


def test_the_walk_is_in_keyset_chunks_with_progress() -> None:
    _bulk(2500)
    seen: list[int] = []
    with CaptureQueriesContext(connection) as queries:
        report = action_log_verify(progress=seen.append)
    assert report.valid and report.checked == 2500
    assert seen == [2000, 2500]
    # two chunks and the empty read that ends the walk, each bounded
    selects = [q["sql"] for q in queries if "ops_actions_log" in q["sql"]]
    assert len(selects) == 3
    assert all("LIMIT 2000" in q for q in selects)


# --- rows written by the previous release -------------------------------------


def _legacy_hash(row: OpsActionLog) -> str:
    """The previous release's form, written out here as it shipped."""
    fields = [
        "seq",
        "id",
        "action_id",
        "actor_id",
        "actor_role",
        "action_type",
        "target",
        "idempotency_key",
        "status",
        "details",
        "ip",
        "user_agent",
        "request_id",
        "created_at",
        "prev_hash",
    ]
    values = {f: getattr(row, f) for f in fields}
    values["id"] = str(row.id)
    values["action_id"] = str(row.action_id)
    values["created_at"] = row.created_at.isoformat()
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_rows_hashed_by_the_previous_release_still_verify() -> None:
    old, prev = [], GENESIS
    for seq in (1, 2, 3):
        row = OpsActionLog(
            seq=seq,
            action_id=uuid.uuid4(),
            actor_id="alice",
            actor_role="pay_admin",
            action_type="pause_bank",
            status="executed",
            target={"bank_profile_id": str(uuid.uuid4())},
            details={"reason": "é", "amount": "12.50", "ratio": 0.25},
            ip="10.0.0.1",
            created_at=T0 + timedelta(minutes=seq),
            prev_hash=prev,
        )
        row.hash = prev = _legacy_hash(row)
        assert row.hash != row_hash(row)
        old.append(row)
    OpsActionLog.objects.bulk_create(old)
    # new rows chain on from the old ones
    chain_rows = chain(2)
    assert chain_rows[3].prev_hash == old[-1].hash
    assert action_log_verify().valid
    # an export's rows hold too, old and new (what the offline check uses)
    exported = [audit_row(r) for r in OpsActionLog.objects.order_by("seq")]
    assert all(holds(json.loads(json.dumps(r))) for r in exported)
    assert not holds({**exported[1], "actor_id": "mallory"})
    tamper("UPDATE ops_actions_log SET actor_id = 'mallory' WHERE seq = 2")
    assert codes(action_log_verify()) == [(2, "hash_mismatch")]
