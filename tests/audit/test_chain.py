"""The hash chain over ops_actions_log and GET /api/ops/audit/verify (DESIGN §3)."""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
from molam_ops.actions import runner
from molam_ops.identity import Principal
from tests.audit.tamper import db_id, tamper, triggers_off
from tests.factories import BankProfileFactory
from tests.helpers import post_action

VERIFY = "/api/ops/audit/verify"


def run_actions(client: Any, n_banks: int = 3) -> list[OpsActionLog]:
    """Pause and resume a few banks, plus a refusal: 2 * n_banks + 1 rows."""
    banks = BankProfileFactory.create_batch(n_banks)
    for bank in banks:
        body = {"bank_profile_id": str(bank.id), "reason": "chain test"}
        assert post_action(client, "pause-bank", body).status_code == 200
    # a refusal is chained like any row
    assert post_action(client, "pause-bank", {"reason": "no bank"}).status_code == 400
    for bank in banks:
        body = {"bank_profile_id": str(bank.id)}
        assert post_action(client, "resume-bank", body).status_code == 200
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert len(rows) == 2 * n_banks + 1
    return rows


def verify(client: Any) -> dict[str, Any]:
    resp = client.get(VERIFY)
    assert resp.status_code == 200, resp.json()
    return resp.json()


@pytest.mark.django_db
def test_empty_log_is_valid(pay_admin: Any) -> None:
    assert verify(pay_admin) == {
        "ok": True,
        "valid": True,
        "checked": 0,
        "broken": [],
        "truncated": False,
        "full": False,
        "checkpoint": None,
    }


@pytest.mark.django_db
def test_chain_is_valid_after_several_actions(pay_admin: Any, ops: Any) -> None:
    rows = run_actions(pay_admin)
    assert rows[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    assert all(row_hash(r) == r.hash for r in rows)
    # every known role may read it
    body = verify(ops)
    assert body == {
        "ok": True,
        "valid": True,
        "checked": len(rows),
        "broken": [],
        "truncated": False,
        "full": False,
        "checkpoint": None,
    }


@pytest.mark.django_db
def test_verify_needs_a_known_role(anonymous: Any, outsider: Any) -> None:
    resp = anonymous.get(VERIFY)
    assert resp.status_code == 401
    assert resp.json()["ok"] is False
    assert resp.json()["error"]["code"] == "not_authenticated"
    assert outsider.get(VERIFY).status_code == 403


@pytest.mark.django_db
def test_altered_details_are_named(pay_admin: Any) -> None:
    rows = run_actions(pay_admin)
    victim = rows[3]
    tamper(
        "UPDATE ops_actions_log SET details = %s WHERE id = %s",
        ['{"reason": "nothing to see"}', db_id(victim)],
    )
    assert OpsActionLog.objects.get(id=victim.id).details == {
        "reason": "nothing to see"
    }
    body = verify(pay_admin)
    assert body == {
        "ok": True,
        "valid": False,
        "checked": len(rows),  # every row, not just those before the break
        "broken": [
            {
                "seq": victim.seq,
                "id": str(victim.id),
                "code": "hash_mismatch",
                "reason": "Its content does not match its hash.",
            }
        ],
        "truncated": False,
        "full": False,
        "checkpoint": None,
    }


@pytest.mark.django_db
def test_rehashed_row_breaks_the_next_link(pay_admin: Any) -> None:
    """Recomputing the tampered row's own hash only moves the break one on."""
    rows = run_actions(pay_admin)
    victim = OpsActionLog.objects.get(id=rows[2].id)
    victim.actor_id = "someone-else"
    tamper(
        "UPDATE ops_actions_log SET actor_id = %s, hash = %s WHERE id = %s",
        ["someone-else", row_hash(victim), db_id(victim)],
    )
    body = verify(pay_admin)
    assert body["valid"] is False
    assert body["checked"] == len(rows)
    assert body["broken"] == [
        {
            "seq": victim.seq + 1,
            "id": str(rows[3].id),
            "code": "prev_hash_mismatch",
            "reason": f"Its prev_hash is not the hash of seq {victim.seq}: that row "
            "was rewritten, or this link was.",
        }
    ]


@pytest.mark.django_db
def test_deleted_middle_row_is_a_gap(pay_admin: Any) -> None:
    rows = run_actions(pay_admin)
    gone, following = rows[2], rows[3]
    tamper("DELETE FROM ops_actions_log WHERE id = %s", [db_id(gone)])
    assert OpsActionLog.objects.count() == len(rows) - 1
    body = verify(pay_admin)
    assert body["valid"] is False
    assert body["checked"] == len(rows) - 1
    assert body["broken"] == [
        {
            "seq": following.seq,
            "id": str(following.id),
            "code": "missing_rows",
            "reason": f"Rows are missing before this one: seq {gone.seq}.",
        }
    ]


@pytest.mark.django_db
def test_triggers_are_back_after_tampering(pay_admin: Any) -> None:
    """The helper restores the refusal, so the tamper tests prove what they say."""
    rows = run_actions(pay_admin, n_banks=1)
    with triggers_off():
        pass
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM ops_actions_log")
    assert OpsActionLog.objects.count() == len(rows)


# --- concurrent writers ------------------------------------------------------

THREADS = 8
ACTIONS_PER_THREAD = 10


@pytest.mark.postgres
def test_concurrent_writers_keep_one_chain(tx_db: None, pay_admin: Any) -> None:
    banks = BankProfileFactory.create_batch(THREADS)
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        principal = Principal(id=f"writer-{n}", roles=frozenset({"pay_admin"}))
        bank_id = str(banks[n].id)
        try:
            start.wait(timeout=10)
            for i in range(ACTIONS_PER_THREAD):
                name = "pause_bank" if i % 2 == 0 else "resume_bank"
                result = runner.run(
                    name,
                    principal,
                    {"bank_profile_id": bank_id, "reason": f"round {i}"},
                    idempotency_key=uuid.uuid4().hex,
                )
                with lock:
                    results.append(result.status)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    total = THREADS * ACTIONS_PER_THREAD
    assert results == [200] * total

    rows = list(OpsActionLog.objects.order_by("seq"))
    # the pauses also queue the suggestions' refresh (inline here), whose
    # update_suggestions rows join the same chain, as many as it wrote
    writers = [r for r in rows if r.actor_id != "plans.suggestions"]
    assert len(writers) == total
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    assert all(row_hash(r) == r.hash for r in rows)
    assert {r.status for r in rows} == {"executed"}
    assert {r.actor_id for r in writers} == {f"writer-{n}" for n in range(THREADS)}

    body = verify(pay_admin)
    assert body == {
        "ok": True,
        "valid": True,
        "checked": len(rows),
        "broken": [],
        "truncated": False,
        "full": False,
        "checkpoint": None,
    }
