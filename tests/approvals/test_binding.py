"""An approval cannot be rewritten under its signers: its binding is a keyed
MAC the database never holds, checked when a signature is recorded and again
when the action executes; only signatures the application recorded count;
tokens are derived, never stored, single-use, and die with their approval."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from approvals import binding
from approvals.models import ApprovalRequest, ApprovalSignature
from audit.models import OpsActionLog
from payouts.models import TreasuryAccount
from tests.factories import BankProfileFactory, TreasuryAccountFactory
from tests.helpers import as_role, post_action, sign
from tests.plans.test_execute_plan_support import (
    cancel,
    execute,
    make_plan,
    open_plan_approval,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts() -> tuple[TreasuryAccount, TreasuryAccount]:
    return (
        TreasuryAccountFactory(
            bank_profile=BankProfileFactory(), currency="USD", balance=Decimal("100000")
        ),
        TreasuryAccountFactory(
            bank_profile=BankProfileFactory(), currency="USD", balance=Decimal("0")
        ),
    )


def ask_transfer(client: Any, source: Any, destination: Any, amount: str) -> str:
    """alice asks to move ``amount`` USD (over 10,000: two signatures)."""
    resp = post_action(
        client,
        "transfer-funds",
        {
            "from_account_id": str(source.id),
            "to_account_id": str(destination.id),
            "amount": amount,
            "reason": "float top-up",
        },
    )
    assert resp.status_code == 202, resp.json()
    return str(resp.json()["approval"]["id"])


def rewrite(approval_id: str, **columns: Any) -> None:
    """What a database role that may write the table can do, in raw SQL."""
    sets = ", ".join(f"{name} = %s" for name in columns)
    values = [
        json.dumps(v) if isinstance(v, dict | list) else v for v in columns.values()
    ]
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE multi_sig_approvals SET {sets} WHERE id = %s",
            [*values, approval_id.replace("-", "") if not is_pg() else approval_id],
        )
        assert cur.rowcount == 1


def is_pg() -> bool:
    return connection.vendor == "postgresql"


def test_a_rewritten_payload_is_refused_at_the_final_signature(
    accounts: Any, pay_admin: Any, finance_ops: Any, client_for: Any
) -> None:
    source, destination = accounts
    approval_id = ask_transfer(pay_admin, source, destination, "12000.00")
    assert sign(finance_ops, approval_id).status_code == 200  # 1 of 2

    # the attacker rewrites the amount and recomputes what a plain hash would be
    payload = dict(ApprovalRequest.objects.get(pk=approval_id).payload)
    payload["amount"] = "90000.00"
    forged = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    rewrite(approval_id, payload=payload, binding=forged)

    resp = sign(client_for("pay_admin", sub="amadou"), approval_id)

    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "approval_tampered"
    source.refresh_from_db()
    destination.refresh_from_db()
    assert (source.balance, destination.balance) == (Decimal("100000"), Decimal("0"))
    assert not OpsActionLog.objects.filter(
        action_type="transfer_funds", status="executed"
    ).exists()
    refusal = OpsActionLog.objects.get(action_type="approve", actor_id="amadou")
    assert (refusal.status, refusal.details["code"]) == (
        "rejected",
        "approval_tampered",
    )
    assert ApprovalRequest.objects.get(pk=approval_id).current_approvals == 1


@pytest.mark.postgres
def test_the_apps_own_database_role_cannot_change_what_executes(
    app_role: str, accounts: Any, pay_admin: Any, finance_ops: Any, client_for: Any
) -> None:
    """As production connects (a role that does not own the tables but may
    write the approvals), the whole flow, with the rewrite in between."""
    as_role(app_role)
    source, destination = accounts
    approval_id = ask_transfer(pay_admin, source, destination, "12000.00")
    assert sign(finance_ops, approval_id).status_code == 200
    payload = {**ApprovalRequest.objects.get(pk=approval_id).payload}
    payload["amount"] = "90000.00"
    forged = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    rewrite(approval_id, payload=payload, binding=forged)  # allowed to this role

    resp = sign(client_for("pay_admin", sub="amadou"), approval_id)

    assert resp.json()["error"]["code"] == "approval_tampered"
    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == app_role
    source.refresh_from_db()
    assert source.balance == Decimal("100000")
    assert not OpsActionLog.objects.filter(
        action_type="transfer_funds", status="executed"
    ).exists()


@pytest.mark.parametrize(
    "change",
    [
        {"required_approvals": 1},
        {"initiator_id": "mallory"},
        {"expires_at": "2099-01-01 00:00:00+00:00"},
    ],
    ids=["fewer-signatures", "another-initiator", "later-deadline"],
)
def test_any_bound_column_rewritten_is_refused(
    global_freeze_request: dict[str, Any], finance_ops: Any, change: dict[str, Any]
) -> None:
    approval_id = global_freeze_request["approval"]["id"]
    rewrite(approval_id, **change)

    resp = sign(finance_ops, approval_id)

    assert resp.json()["error"]["code"] == "approval_tampered"
    assert not ApprovalSignature.objects.exists()


def test_signatures_the_application_did_not_record_do_not_count(
    global_freeze_request: dict[str, Any], finance_ops: Any
) -> None:
    approval_id = global_freeze_request["approval"]["id"]
    # a forged signature and a bumped counter: quorum by database writes
    ApprovalSignature.objects.create(
        approval_id=approval_id,
        signer_id="mallory",
        signer_role="pay_admin",
        decision="approve",
        created_at=timezone.now(),
        mac="0" * 64,
        key_id="dev",
    )
    rewrite(approval_id, current_approvals=5)

    resp = sign(finance_ops, approval_id)

    assert resp.status_code == 200
    assert resp.json()["log"]["details"]["result"] == "signed"  # 1 real of 2
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.status == "pending"
    assert not OpsActionLog.objects.filter(
        action_type="freeze_payouts", status="executed"
    ).exists()


def test_a_new_key_first_keeps_requests_of_the_old_key_valid(
    global_freeze_request: dict[str, Any],
    finance_ops: Any,
    client_for: Any,
    settings: Any,
) -> None:
    approval_id = global_freeze_request["approval"]["id"]
    old = list(settings.APPROVAL_SIGNING_KEYS)
    settings.APPROVAL_SIGNING_KEYS = [("k2", b"n" * 32), *old]
    assert sign(finance_ops, approval_id).status_code == 200
    signature = ApprovalSignature.objects.get()
    assert signature.key_id == "k2"  # new writes use the new key

    resp = sign(client_for("pay_admin", sub="amadou"), approval_id)

    assert resp.json()["log"]["details"]["result"] == "executed"
    # once the old key is gone, what it sealed no longer verifies
    settings.APPROVAL_SIGNING_KEYS = [("k2", b"n" * 32)]
    assert not binding.is_intact(ApprovalRequest.objects.get(pk=approval_id))


# --- tokens ---------------------------------------------------------------------


@pytest.fixture
def approved_plan(client_for: Any) -> tuple[Any, dict[str, Any]]:
    plan = make_plan(total_amount=Decimal("20000"))
    approval = open_plan_approval(plan)
    sign(client_for("finance_ops", sub="bruno"), approval["id"])
    last = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert last.json()["approval"]["status"] == "approved"
    return plan, last.json()["approval"]


def test_the_token_is_never_stored(approved_plan: Any) -> None:
    _plan, approval = approved_plan
    token = approval["approval_token"]
    assert token
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM multi_sig_approvals")
        rows = cur.fetchall()
        cur.execute("SELECT * FROM multi_sig_signatures")
        rows += cur.fetchall()
    assert token not in repr(rows)


def test_the_token_shows_only_to_the_initiator_and_signers(
    approved_plan: Any, client_for: Any
) -> None:
    _plan, approval = approved_plan
    url = f"/api/ops/approvals/{approval['id']}"
    for sub, role in (("alice", "pay_admin"), ("bruno", "finance_ops")):
        seen = client_for(role, sub=sub).get(url).json()["approval"]
        assert seen["approval_token"] == approval["approval_token"]
    other = client_for("finance_ops", sub="fatou").get(url).json()["approval"]
    assert "approval_token" not in other


def test_a_token_past_its_deadline_cannot_execute(
    approved_plan: Any, client_for: Any
) -> None:
    plan, approval = approved_plan
    later = timezone.now() + timedelta(hours=25)
    with time_machine.travel(later, tick=False):
        pay_admin = client_for("pay_admin", sub="alice")  # a token of that time
        shown = pay_admin.get(f"/api/ops/approvals/{approval['id']}").json()
        resp = execute(pay_admin, plan, token=approval["approval_token"])

    assert shown["approval"]["status"] == "expired"  # before beat ran
    assert "approval_token" not in shown["approval"]
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "approval_expired"
    plan.refresh_from_db()
    assert plan.status == "approved"


def test_an_expired_request_reads_as_expired_and_cannot_be_signed(
    global_freeze_request: dict[str, Any], client_for: Any
) -> None:
    approval_id = global_freeze_request["approval"]["id"]
    later = timezone.now() + timedelta(hours=24, seconds=1)
    with time_machine.travel(later, tick=False):
        finance_ops = client_for("finance_ops", sub="bruno")
        shown = finance_ops.get(f"/api/ops/approvals/{approval_id}").json()
        pending = finance_ops.get("/api/ops/pending-approvals").json()
        resp = sign(finance_ops, approval_id)

    assert shown["approval"]["status"] == "expired"
    assert pending["count"] == 0
    assert resp.json()["error"]["code"] == "approval_expired"


def test_cancelling_a_plan_closes_its_approval(pay_admin: Any, client_for: Any) -> None:
    from approvals.metrics import PendingApprovalsCollector

    plan = make_plan(total_amount=Decimal("20000"))
    approval = open_plan_approval(plan)
    assert next(PendingApprovalsCollector().collect()).samples[0].value == 1

    resp = cancel(pay_admin, plan)

    assert resp.status_code == 200, resp.json()
    assert resp.json()["log"]["details"]["approvals_closed"] == [approval["id"]]
    stored = ApprovalRequest.objects.get(pk=approval["id"])
    assert stored.status == "cancelled"
    assert next(PendingApprovalsCollector().collect()).samples[0].value == 0
    late = sign(client_for("finance_ops", sub="bruno"), approval["id"])
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "approval_closed"
