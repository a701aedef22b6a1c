"""Signing and declining (DESIGN §7): every refusal has its code, every
signature its audit row, and closed requests stay queryable."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.tasks import expire_approvals
from audit.models import OpsActionLog
from controls.models import TreasuryControl
from tests.helpers import sign


def _frozen() -> bool:
    return TreasuryControl.objects.filter(key="freeze_global", enabled=True).exists()


def test_request_is_bound_to_its_payload_and_lists_as_pending(
    global_freeze_request, pay_admin
):
    approval = global_freeze_request["approval"]
    stored = ApprovalRequest.objects.get(pk=approval["id"])
    assert stored.payload == {"scope": "global", "reason": "incident 42"}
    assert len(stored.binding) == 64 and stored.binding_key_id
    listed = pay_admin.get("/api/ops/pending-approvals").json()
    assert [a["id"] for a in listed["results"]] == [approval["id"]]
    assert listed["results"][0]["target"] == {"scope": "global"}
    assert listed["results"][0]["summary"].startswith(
        "alice asks to freeze all payouts — reason: “incident 42” — "
        "0 of 2 signatures — until "
    )


def test_ineligible_role_is_refused_and_audited(global_freeze_request, ops):
    approval_id = global_freeze_request["approval"]["id"]
    resp = sign(ops, approval_id)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    assert (
        OpsActionLog.objects.filter(action_type="approve", status="rejected").count()
        == 1
    )
    assert ApprovalRequest.objects.get(pk=approval_id).current_approvals == 0


def test_second_signature_by_same_person_is_refused(global_freeze_request, finance_ops):
    approval_id = global_freeze_request["approval"]["id"]
    assert sign(finance_ops, approval_id).status_code == 200
    resp = sign(finance_ops, approval_id)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "already_signed"
    assert ApprovalRequest.objects.get(pk=approval_id).current_approvals == 1
    assert not _frozen()


def test_one_decline_rejects_and_later_signatures_are_refused(
    global_freeze_request, client_for
):
    approval = global_freeze_request["approval"]
    bruno = client_for("finance_ops", sub="bruno")
    resp = sign(bruno, approval["id"], "decline")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["approval"]["status"] == "declined"
    resp = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "approval_declined"
    assert not _frozen()
    # the guarded action's life ends rejected, under its own action id
    statuses = OpsActionLog.objects.filter(
        action_id=approval["action_reference"]
    ).values_list("status", flat=True)
    assert sorted(statuses) == ["rejected", "requested"]
    # still queryable, with the decline and its author
    detail = bruno.get(f"/api/ops/approvals/{approval['id']}").json()["approval"]
    assert detail["approvers"][0]["decision"] == "decline"
    assert detail["approvers"][0]["signer_id"] == "bruno"


def test_expired_request_refuses_signatures_and_beat_closes_it(
    global_freeze_request, client_for
):
    approval = global_freeze_request["approval"]
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        finance_ops = client_for("finance_ops", sub="bruno")  # a token of that day
        resp = sign(finance_ops, approval["id"])
        assert resp.status_code == 409
        assert resp.json()["error"]["code"] == "approval_expired"
        assert finance_ops.get("/api/ops/pending-approvals").json()["count"] == 0
        assert expire_approvals() == 1
        assert expire_approvals() == 0  # nothing left: no new action
        listed = finance_ops.get("/api/ops/approvals?status=expired").json()
        assert [a["id"] for a in listed["results"]] == [approval["id"]]
    stored = ApprovalRequest.objects.get(pk=approval["id"])
    assert stored.status == "expired"
    row = OpsActionLog.objects.get(action_type="expire_approvals")
    assert row.actor_role == "system" and row.details["expired"] == 1
    assert OpsActionLog.objects.filter(
        action_id=approval["action_reference"], status="rejected"
    ).exists()


def test_every_signature_is_an_audit_row_and_executed_request_is_closed(
    global_freeze_request, client_for
):
    approval = global_freeze_request["approval"]
    bruno = client_for("finance_ops", sub="bruno")
    amadou = client_for("pay_admin", sub="amadou")
    fatou = client_for("finance_ops", sub="fatou")
    assert sign(bruno, approval["id"]).status_code == 200
    assert sign(amadou, approval["id"]).status_code == 200
    assert _frozen()
    resp = sign(fatou, approval["id"])
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "approval_closed"
    signers = OpsActionLog.objects.filter(
        action_type="approve", status="executed"
    ).values_list("actor_id", flat=True)
    assert sorted(signers) == ["amadou", "bruno"]
    detail = bruno.get(f"/api/ops/approvals/{approval['id']}").json()["approval"]
    assert detail["status"] == "executed"
    assert [a["signer_id"] for a in detail["approvers"]] == ["bruno", "amadou"]


def test_quorum_rechecks_state_and_fails_without_double_effect(
    global_freeze_request, client_for
):
    """A global freeze that got frozen meanwhile is refused at quorum."""
    approval = global_freeze_request["approval"]
    TreasuryControl.objects.create(
        key="freeze_global",
        enabled=True,
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    assert (
        sign(client_for("finance_ops", sub="bruno"), approval["id"]).status_code == 200
    )
    resp = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert resp.status_code == 200, resp.json()
    assert resp.json()["approval"]["status"] == "failed"
    assert resp.json()["executed_log"]["status"] == "rejected"
    assert resp.json()["executed_log"]["details"]["code"] == "already_frozen"


def test_replayed_signature_returns_the_same_response(
    global_freeze_request, finance_ops
):
    approval_id = global_freeze_request["approval"]["id"]
    first = sign(finance_ops, approval_id, key="sig-1")
    again = sign(finance_ops, approval_id, key="sig-1")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ApprovalRequest.objects.get(pk=approval_id).current_approvals == 1


def test_bad_input(global_freeze_request, finance_ops):
    approval_id = global_freeze_request["approval"]["id"]
    resp = sign(finance_ops, approval_id, "maybe")
    assert resp.status_code == 400
    assert "decision" in resp.json()["error"]["fields"]
    resp = finance_ops.post(
        f"/api/ops/approve/{approval_id}",
        {"decision": "approve", "comment": "x" * 1001},
        format="json",
        HTTP_IDEMPOTENCY_KEY="long-comment",
    )
    assert resp.status_code == 400
    assert "comment" in resp.json()["error"]["fields"]
    resp = sign(finance_ops, "7c4d3b5e-0000-4000-8000-000000000000")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "approval_not_found"
    resp = finance_ops.post(
        "/api/ops/approve/not-a-uuid",
        {"decision": "approve"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert resp.status_code == 404
    assert ApprovalRequest.objects.get(pk=approval_id).current_approvals == 0


def test_eligible_approvers_get_an_email(
    approver_users, client_for, django_capture_on_commit_callbacks
):
    from tests.helpers import post_action

    with django_capture_on_commit_callbacks(execute=True):
        resp = post_action(
            client_for("pay_admin", sub="alice"),
            "freeze-payouts",
            {"scope": "global", "reason": "incident 42"},
        )
    assert resp.status_code == 202
    recipients = sorted(r for m in mail.outbox for r in m.to)
    # approver roles only, and never the initiator
    assert recipients == ["amadou@molam.test", "bruno@molam.test"]
    body = mail.outbox[0].body
    assert body.startswith(
        "alice asks to freeze all payouts — reason: “incident 42” — "
        "0 of 2 signatures — until "
    )
    link = f"http://127.0.0.1:8084/?approval={resp.json()['approval']['id']}"
    assert link in body and "POST" not in body
