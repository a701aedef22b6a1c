"""Signing and declining from the admin run the ``approve`` action through the
runner: the same refusals, audit rows and exactly-once quorum as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from approvals.admin import _subject as subject
from approvals.models import ApprovalRequest
from audit.models import OpsActionLog
from controls.keys import FREEZE_GLOBAL
from controls.models import TreasuryControl
from tests.controls.test_admin import (
    FORBIDDEN,
    FREEZE_GLOBAL_URL,
    REPLAYED,
    browser,
    choose_action,
    confirm_form,
    csrf_of,
    is_active,
    messages_of,
    staff_user,
)

pytestmark = pytest.mark.django_db

APPROVALS = "/admin/approvals/approvalrequest/"


def request_global_freeze(user: User) -> ApprovalRequest:
    client = browser(user)
    page = client.get(FREEZE_GLOBAL_URL)
    data = {"csrfmiddlewaretoken": csrf_of(page), "reason": "incident", "post": "yes"}
    client.post(FREEZE_GLOBAL_URL, data)
    return ApprovalRequest.objects.latest("created_at")


def sign(
    client: Client,
    approval: ApprovalRequest,
    action: str = "approve_selected",
    **kw: Any,
) -> tuple[Any, dict[str, Any]]:
    """Choose the action, confirm it; (the final response, the form posted)."""
    page = choose_action(client, APPROVALS, action, [approval.pk])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/molam_ops/confirm_action.html"
    form = confirm_form(page, action, [approval.pk], comment=kw.get("comment", ""))
    return client.post(APPROVALS, form, follow=True), form


def approve_rows(**filters: Any) -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(action_type="approve", **filters).order_by("seq")
    )


def test_two_other_users_approve_from_the_admin_and_it_executes() -> None:
    alice = staff_user("alice", "pay_admin")
    bruno = staff_user("bruno", "finance_ops")
    carol = staff_user("carol", "pay_admin")
    approval = request_global_freeze(alice)
    assert approval.required_approvals == 2

    # the initiator cannot sign their own request
    done, _form = sign(browser(alice), approval)
    assert messages_of(done) == [
        (
            "error",
            f"Request {approval.pk} (freeze all payouts, 0/2 signatures): "
            "The initiator of a request cannot sign it.",
        )
    ]

    bruno_client = browser(bruno)
    done, form = sign(bruno_client, approval, comment="confirmed by phone")
    [(level, text)] = messages_of(done)
    assert level == "success"
    assert "pending (1 of 2 signatures)" in text
    approval.refresh_from_db()
    assert approval.current_approvals == 1
    assert not is_active(FREEZE_GLOBAL)

    # bruno's form submitted again: replayed, still one signature
    again = bruno_client.post(APPROVALS, form, follow=True)
    assert REPLAYED in messages_of(again)[0][1]
    approval.refresh_from_db()
    assert approval.current_approvals == 1
    # a new form from bruno: a second signature by the same person is refused
    done, _form = sign(bruno_client, approval)
    assert messages_of(done)[0][1].endswith("You have already signed this request.")

    done, _form = sign(browser(carol), approval)
    [(level, text)] = messages_of(done)
    assert level == "success"
    assert "executed (2 of 2 signatures)" in text
    approval.refresh_from_db()
    assert approval.status == "executed"
    assert is_active(FREEZE_GLOBAL)
    assert TreasuryControl.objects.get(key=FREEZE_GLOBAL).updated_by == (
        alice.username  # the action runs as its initiator
    )

    # the audit trail: every signature, and the freeze under its own action id
    statuses = [(r.actor_id, r.status) for r in approve_rows()]
    assert statuses == [
        (alice.username, "rejected"),
        (bruno.username, "executed"),
        (bruno.username, "rejected"),
        (carol.username, "executed"),
    ]
    signed = approve_rows(actor_id=bruno.username, status="executed")[0]
    assert signed.details["comment"] == "confirmed by phone"
    freeze = OpsActionLog.objects.filter(action_id=approval.action_reference)
    assert sorted(freeze.values_list("status", flat=True)) == ["executed", "requested"]


def test_an_ops_user_cannot_sign() -> None:
    approval = request_global_freeze(staff_user("alice", "pay_admin"))
    otto = staff_user("otto", "ops")

    done, _form = sign(browser(otto), approval)

    [(level, text)] = messages_of(done)
    assert (level, text) == ("error", f"{subject(approval)}: {FORBIDDEN}")
    [row] = approve_rows()
    assert (row.status, row.actor_id, row.actor_role) == (
        "rejected",
        otto.username,
        "ops",
    )
    approval.refresh_from_db()
    assert approval.current_approvals == 0


def test_decline_from_the_admin_rejects_the_request() -> None:
    approval = request_global_freeze(staff_user("alice", "pay_admin"))
    bruno = staff_user("bruno", "finance_ops")

    done, _form = sign(browser(bruno), approval, "decline_selected", comment="no")

    [(level, text)] = messages_of(done)
    assert level == "success"
    assert "declined" in text
    approval.refresh_from_db()
    assert approval.status == "declined"
    assert not is_active(FREEZE_GLOBAL)
    [row] = approve_rows()
    assert (row.details["decision"], row.details["comment"]) == ("decline", "no")
    # a closed request refuses further signatures
    done, _form = sign(browser(staff_user("carol", "pay_admin")), approval)
    assert messages_of(done)[0][1].endswith("This request was declined.")


def test_approvals_are_read_only_in_the_admin() -> None:
    approval = request_global_freeze(staff_user("alice", "pay_admin"))
    client = browser(staff_user("bruno", "finance_ops"))
    assert client.get(APPROVALS).status_code == 200
    change = client.get(f"{APPROVALS}{approval.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert 'name="_save"' not in html
    assert "incident" in html  # the payload being signed is shown
    assert client.get(APPROVALS + "add/").status_code == 403
    assert client.get(f"{APPROVALS}{approval.pk}/delete/").status_code == 403
    assert "delete_selected" not in client.get(APPROVALS).content.decode()
