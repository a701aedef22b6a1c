"""``GET /api/ops/audit/verify`` starts from the newest checkpoint it trusts;
``?full=1`` walks everything and names rows rewritten behind the chain's back."""

from __future__ import annotations

from typing import Any

import pytest

from audit.checkpoints import sign_checkpoint
from tests.audit.checkpoint_helpers import append, delete_and_rehash
from tests.audit.tamper import tamper
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def verify(client: Any, query: str = "") -> dict[str, Any]:
    resp = client.get(f"/api/ops/audit/verify{query}")
    assert resp.status_code == 200, resp.content
    body: dict[str, Any] = resp.json()
    return body


def test_it_walks_only_the_rows_after_the_trusted_checkpoint(pay_admin: Any) -> None:
    append(12)
    cp = sign_checkpoint()
    assert cp is not None
    append(3)
    body = verify(pay_admin)
    assert body["valid"] is True
    assert body["checked"] == 3
    assert body["full"] is False
    assert body["checkpoint"]["tree_size"] == 12
    assert body["checkpoint"]["root_hash"] == cp.root_hash
    full = verify(pay_admin, "?full=1")
    assert (full["valid"], full["checked"], full["full"]) == (True, 15, True)


def test_without_a_checkpoint_it_walks_everything(pay_admin: Any) -> None:
    append(4)
    body = verify(pay_admin)
    assert (body["valid"], body["checked"], body["checkpoint"]) == (True, 4, None)


def test_a_rehashed_suffix_is_named_row_by_row(pay_admin: Any) -> None:
    append(10)
    assert sign_checkpoint() is not None
    delete_and_rehash(4)  # seq closed up, every later hash recomputed
    body = verify(pay_admin, "?full=1")
    assert body["valid"] is False
    codes = {(b["seq"], b["code"]) for b in body["broken"]}
    # the rows now at 4..9 are not the ones the signed tree holds there;
    # row 10 is gone, so the checkpoint over 10 rows no longer holds
    assert {(s, "rewritten") for s in range(4, 10)} <= codes
    assert (10, "missing_rows") in codes
    # the quick run still trusts the checkpoint (its tree is intact) and
    # finds the last row it signed gone
    quick = verify(pay_admin)
    assert quick["valid"] is False
    assert quick["checkpoint"]["tree_size"] == 10
    assert (10, "missing_rows") in {(b["seq"], b["code"]) for b in quick["broken"]}


def test_an_edit_after_the_checkpoint_is_named(pay_admin: Any) -> None:
    append(6)
    assert sign_checkpoint() is not None
    append(3)
    tamper("UPDATE ops_actions_log SET actor_id = 'mallory' WHERE seq = 8")
    body = verify(pay_admin)
    assert [(b["seq"], b["code"]) for b in body["broken"]] == [(8, "hash_mismatch")]
    assert body["broken"][0]["id"] is not None


def test_an_edit_inside_the_checkpoint_needs_full(pay_admin: Any) -> None:
    append(6)
    assert sign_checkpoint() is not None
    tamper("UPDATE ops_actions_log SET actor_id = 'mallory' WHERE seq = 2")
    # the quick check trusts the checkpoint and reads only what follows it
    assert verify(pay_admin)["valid"] is True
    full = verify(pay_admin, "?full=1")
    assert [(b["seq"], b["code"]) for b in full["broken"]] == [(2, "hash_mismatch")]


@pytest.mark.parametrize("value", ["maybe", "2", "oui"])
def test_a_bad_full_flag_is_400(pay_admin: Any, value: str) -> None:
    resp = pay_admin.get(f"/api/ops/audit/verify?full={value}")
    assert_error(resp, 400, "validation_error", "full")
