"""Signed checkpoints of the audit log and their RFC 9162 proofs (DESIGN §3),
checked with an independent verifier (tests/audit/rfc9162.py)."""

from __future__ import annotations

import hashlib
import itertools
import logging
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry

from audit import checkpoints, signing, tree
from audit.checkpoints import sign_checkpoint
from audit.metrics import install
from audit.models import AuditCheckpoint, AuditTreeNode, OpsActionLog
from molam_ops.lib import rawsql
from molam_ops.models import OutboxEvent
from tests.audit import rfc9162
from tests.audit.checkpoint_helpers import append, delete_and_rehash, export
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

FAILURES = "molam_ops_audit_consistency_failures_total"


def failures() -> float:
    return REGISTRY.get_sample_value(FAILURES) or 0.0


def key_pem(client: Any) -> str:
    body = client.get("/api/ops/audit/checkpoint-key").json()
    assert body["ok"] is True
    return str(body["public_key"])


def test_no_rows_no_checkpoint() -> None:
    assert sign_checkpoint() is None
    assert AuditCheckpoint.objects.count() == 0


def test_a_checkpoint_is_signed_stored_and_published(pay_admin: Any) -> None:
    append(5)
    cp = sign_checkpoint()
    assert cp is not None and cp.tree_size == 5
    rows = export(pay_admin)
    assert cp.root_hash == rfc9162.mth(rfc9162.entries_of(rows)).hex()
    listed = pay_admin.get("/api/ops/audit/checkpoints").json()
    assert listed["ok"] is True and listed["count"] == 1
    (served,) = listed["results"]
    assert served.keys() == {
        "tree_size",
        "root_hash",
        "timestamp",
        "key_id",
        "signature",
    }
    assert served["timestamp"].endswith("Z")
    assert rfc9162.checkpoint_signed(served, key_pem(pay_admin))
    event = OutboxEvent.objects.get(topic="ops.audit.checkpoint")
    assert event.payload == served and event.action_id is None
    # nothing new: nothing signed
    assert sign_checkpoint() is None
    assert AuditCheckpoint.objects.count() == 1


def test_the_key_id_is_derived_from_the_public_key(ops: Any) -> None:
    body = ops.get("/api/ops/audit/checkpoint-key").json()
    raw = rfc9162.raw(rfc9162.public_key(body["public_key"]))
    assert body["key_id"] == hashlib.sha256(raw).digest()[:8].hex()


SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 21]


@pytest.fixture
def grown(pay_admin: Any) -> list[dict[str, Any]]:
    """Checkpoints at each of SIZES; their JSON as served, oldest first."""
    for size in SIZES:
        append(size - OpsActionLog.objects.count())
        assert sign_checkpoint() is not None
    return list(
        reversed(
            pay_admin.get("/api/ops/audit/checkpoints?limit=500").json()["results"]
        )
    )


def test_inclusion_proofs_verify_independently(
    pay_admin: Any, grown: list[dict[str, Any]]
) -> None:
    entries = rfc9162.entries_of(export(pay_admin))
    pem = key_pem(pay_admin)
    for cp in grown:
        assert rfc9162.checkpoint_signed(cp, pem)
        n, root = cp["tree_size"], bytes.fromhex(cp["root_hash"])
        assert root == rfc9162.mth(entries[:n])
        for seq in range(1, n + 1):
            body = pay_admin.get(f"/api/ops/audit/proof?seq={seq}&tree_size={n}").json()
            assert body["leaf_index"] == seq - 1 and body["tree_size"] == n
            path = [bytes.fromhex(h) for h in body["audit_path"]]
            entry = entries[seq - 1]
            assert body["leaf_hash"] == hashlib.sha256(b"\x00" + entry).hexdigest()
            assert rfc9162.inclusion_holds(seq - 1, n, entry, path, root), (seq, n)
            other = entries[seq % n] if n > 1 else b"\x00" * 32
            assert not rfc9162.inclusion_holds(seq - 1, n, other, path, root)


def test_consistency_proofs_verify_independently(
    pay_admin: Any, grown: list[dict[str, Any]]
) -> None:
    entries = rfc9162.entries_of(export(pay_admin))
    n_max = len(entries)
    for m in range(1, n_max + 1):
        for n in range(m, n_max + 1):
            body = pay_admin.get(f"/api/ops/audit/consistency?first={m}&second={n}")
            body = body.json()
            assert (body["ok"], body["first"], body["second"]) == (True, m, n)
            proof = [bytes.fromhex(h) for h in body["proof"]]
            if m == n:
                assert proof == []
                continue
            old, new = rfc9162.mth(entries[:m]), rfc9162.mth(entries[:n])
            assert rfc9162.consistency_holds(m, n, old, new, proof), (m, n)
            assert not rfc9162.consistency_holds(m, n, new, old, proof)
    # between signed heads, with the signed roots
    for a, b in itertools.pairwise(grown):
        m, n = a["tree_size"], b["tree_size"]
        proof = pay_admin.get(f"/api/ops/audit/consistency?first={m}&second={n}")
        path = [bytes.fromhex(h) for h in proof.json()["proof"]]
        roots = bytes.fromhex(a["root_hash"]), bytes.fromhex(b["root_hash"])
        assert rfc9162.consistency_holds(m, n, *roots, path)


def test_the_signed_note_parses_and_verifies(pay_admin: Any) -> None:
    assert_error(pay_admin.get("/api/ops/audit/checkpoint.note"), 404, "not_found")
    append(3)
    sign_checkpoint()
    append(4)
    cp = sign_checkpoint()
    assert cp is not None
    resp = pay_admin.get("/api/ops/audit/checkpoint.note")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "text/plain; charset=utf-8"
    text = resp.content.decode()
    origin, size, root, sigs = rfc9162.parse_note(text)
    assert origin == settings.AUDIT_LOG_ORIGIN and size == 7
    assert root.hex() == cp.root_hash
    assert [name for name, _ in sigs] == [origin]
    assert rfc9162.note_verifies(text, origin, key_pem(pay_admin))
    forged = text.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    assert not rfc9162.note_verifies(forged, origin, key_pem(pay_admin))


def test_every_role_reads_checkpoints_an_outsider_does_not(
    ops: Any, finance_ops: Any, outsider: Any
) -> None:
    append(2)
    sign_checkpoint()
    for client in (ops, finance_ops):
        assert client.get("/api/ops/audit/checkpoints").status_code == 200
        assert client.get("/api/ops/audit/proof?seq=1&tree_size=2").status_code == 200
    for path in (
        "checkpoints",
        "checkpoint-key",
        "checkpoint.note",
        "proof?seq=1&tree_size=2",
        "consistency?first=1&second=2",
    ):
        assert_error(outsider.get(f"/api/ops/audit/{path}"), 403, "forbidden")


BAD_PROOF = [
    ("", "seq"),
    ("seq=1", "tree_size"),
    ("seq=x&tree_size=3", "seq"),
    ("seq=0&tree_size=3", "seq"),
    ("seq=-1&tree_size=3", "seq"),
    ("seq=4&tree_size=3", "seq"),
    ("seq=1&tree_size=4", "tree_size"),  # beyond the stored tree
    ("seq=1&tree_size=99999999999999999999999", "tree_size"),
    ("seq=\u0661&tree_size=3", "seq"),  # Arabic-Indic digit one
    ("seq=1.5&tree_size=3", "seq"),
]
BAD_CONSISTENCY = [
    ("", "first"),
    ("first=2", "second"),
    ("first=3&second=2", "first"),
    ("first=0&second=2", "first"),
    ("first=1&second=4", "second"),
    ("first=a&second=b", "first"),
]


@pytest.mark.parametrize(("query", "field"), BAD_PROOF)
def test_bad_proof_queries_are_400(pay_admin: Any, query: str, field: str) -> None:
    append(3)
    sign_checkpoint()
    resp = pay_admin.get(f"/api/ops/audit/proof?{query}")
    assert_error(resp, 400, "validation_error", field)


@pytest.mark.parametrize(("query", "field"), BAD_CONSISTENCY)
def test_bad_consistency_queries_are_400(
    pay_admin: Any, query: str, field: str
) -> None:
    append(3)
    sign_checkpoint()
    resp = pay_admin.get(f"/api/ops/audit/consistency?{query}")
    assert_error(resp, 400, "validation_error", field)


def test_a_rewrite_by_a_superuser_is_refused_and_shown(
    pay_admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    append(10)
    first = sign_checkpoint()
    assert first is not None
    signed = pay_admin.get("/api/ops/audit/checkpoints").json()["results"]
    before = failures()
    delete_and_rehash(4)
    append(2)  # the log goes on: 11 rows now, tree still at 10
    with caplog.at_level(logging.ERROR, logger="audit.checkpoints"):
        assert sign_checkpoint() is None
    assert failures() == before + 1
    (line,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "row seq 10 differs from the stored tree" in line.getMessage()
    assert AuditCheckpoint.objects.count() == 1
    # the chain itself is valid again: only the tree and the checkpoint see it
    after = export(pay_admin)
    entries = rfc9162.entries_of(after)
    assert rfc9162.checkpoint_signed(signed[0], key_pem(pay_admin))
    assert rfc9162.mth(entries[:10]).hex() != signed[0]["root_hash"]
    # the stored leaves name the rewritten rows; the old checkpoint is trusted
    rows = [(r["seq"], r["hash"]) for r in after]
    assert tree.stored_leaf_mismatches(rows) == list(range(4, 11))
    assert checkpoints.newest_trusted_checkpoint() == first


def test_a_row_that_does_not_link_stops_the_tree(pay_admin: Any) -> None:
    append(3)
    last = OpsActionLog.objects.order_by("-seq").first()
    assert last is not None
    last.pk = None
    last.id = last._meta.pk.default()  # type: ignore[union-attr]
    last.seq, last.prev_hash = 4, "f" * 64  # links to nothing
    rawsql.insert(last)
    before = failures()
    assert sign_checkpoint() is None
    assert failures() == before + 1
    assert tree.stored_size() == 3  # the rows before it are in the tree


def test_rotation_verifies_checkpoints_signed_by_the_old_key(
    settings: Any, tmp_path: Any
) -> None:
    append(2)
    old = sign_checkpoint()
    assert old is not None
    old_pem = signing.public_pem(signing.public_key())
    settings.AUDIT_SIGNING_KEY = signing.ensure_dev_key(tmp_path / "new.pem")
    append(1)
    before = failures()
    assert sign_checkpoint() is None  # the old head no longer verifies
    assert failures() == before + 1
    settings.AUDIT_PREVIOUS_PUBLIC_KEYS = old_pem
    new = sign_checkpoint()
    assert new is not None and new.key_id != old.key_id
    assert checkpoints.signature_holds(old) and checkpoints.signature_holds(new)


def test_a_proof_reads_the_tree_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    append(21)
    sign_checkpoint()
    with django_assert_num_queries(1):
        tree.inclusion_proof(6, 21)
    with django_assert_num_queries(1):
        tree.consistency_proof(5, 21)
    assert AuditTreeNode.objects.filter(level=0).count() == 21


def test_beat_signs_checkpoints() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["sign-audit-checkpoint"]
    assert entry["task"] == "audit.tasks.sign_checkpoint"
    assert 0 < entry["schedule"] <= 60
    from audit.tasks import sign_checkpoint as task

    append(1)
    assert task() == 1
    assert task() is None


def test_the_tree_tables_are_append_only() -> None:
    append(2)
    sign_checkpoint()
    for table in ("ops_audit_tree_node", "ops_audit_checkpoint"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(f"DELETE FROM {table}")


def test_the_unsigned_age_gauge() -> None:
    registry = CollectorRegistry()
    install(registry)
    gauge = "molam_ops_audit_unsigned_age_seconds"
    assert registry.get_sample_value(gauge) == 0  # no rows
    append(2)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert (registry.get_sample_value(gauge) or 0) >= 600
        sign_checkpoint()
        assert registry.get_sample_value(gauge) == 0
        append(1)
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        assert 600 <= (registry.get_sample_value(gauge) or 0) < 1300


def test_a_long_log_is_signed_in_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    append(10)
    monkeypatch.setattr(tree, "BATCH", 2)
    monkeypatch.setattr(checkpoints, "EXTEND_MOST", 4)
    sizes = []
    while (cp := sign_checkpoint()) is not None:
        sizes.append(cp.tree_size)
    assert sizes == [4, 8, 10]
    assert tree.root_at(10) == rfc9162.mth(
        [
            bytes.fromhex(h)
            for h in OpsActionLog.objects.order_by("seq").values_list("hash", flat=True)
        ]
    )
