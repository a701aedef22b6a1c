"""One person, one principal: a bearer token, a session and an admin action of
the same Molam ID subject are the same initiator, the same signer and the
same actor in the audit log, so no second credential of theirs can sign what
they asked for, or sign twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from approvals.models import ApprovalRequest
from audit.models import OpsActionLog
from tests.approvals.test_admin import request_global_freeze
from tests.approvals.test_admin import sign as admin_sign
from tests.controls.test_admin import browser, messages_of
from tests.factories import operator_user
from tests.helpers import post_action, sign

pytestmark = pytest.mark.django_db

# How each credential of one person asks for a global freeze and signs it.
Initiate = Callable[[User], str]
Decide = Callable[[User, str, str], tuple[int, str]]


def token_client(user: User, client_for: Any) -> APIClient:
    roles = list(user.groups.values_list("name", flat=True))
    return client_for(*roles, sub=user.username)


def session_client(user: User) -> APIClient:
    """A browser's session (Django's login), not a token."""
    client = APIClient()
    client.force_login(user)
    return client


def _api_code(resp: Any) -> tuple[int, str]:
    body = resp.json()
    return resp.status_code, "" if body.get("ok") else body["error"]["code"]


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "alice": operator_user("alice", "pay_admin"),
        "bruno": operator_user("bruno", "finance_ops"),
    }


@pytest.fixture
def initiators(client_for: Any) -> dict[str, Initiate]:
    def by_token(user: User) -> str:
        resp = post_action(
            token_client(user, client_for),
            "freeze-payouts",
            {"scope": "global", "reason": "incident"},
        )
        assert resp.status_code == 202, resp.json()
        return str(resp.json()["approval"]["id"])

    def by_session(user: User) -> str:
        resp = post_action(
            session_client(user),
            "freeze-payouts",
            {"scope": "global", "reason": "incident"},
        )
        assert resp.status_code == 202, resp.json()
        return str(resp.json()["approval"]["id"])

    def by_admin(user: User) -> str:
        return str(request_global_freeze(user).pk)

    return {"token": by_token, "session": by_session, "admin": by_admin}


@pytest.fixture
def deciders(client_for: Any) -> dict[str, Decide]:
    def by_token(user: User, approval_id: str, decision: str) -> tuple[int, str]:
        return _api_code(sign(token_client(user, client_for), approval_id, decision))

    def by_session(user: User, approval_id: str, decision: str) -> tuple[int, str]:
        return _api_code(sign(session_client(user), approval_id, decision))

    def by_admin(user: User, approval_id: str, decision: str) -> tuple[int, str]:
        approval = ApprovalRequest.objects.get(pk=approval_id)
        done, _form = admin_sign(browser(user), approval, f"{decision}_selected")
        [(level, text)] = messages_of(done)
        return (200 if level == "success" else 409), text

    return {"token": by_token, "session": by_session, "admin": by_admin}


CROSSINGS = [("token", "session"), ("session", "admin"), ("admin", "token")]


@pytest.mark.parametrize(("asked_by", "signed_by"), CROSSINGS)
@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_the_initiator_cannot_decide_with_another_credential(
    people: dict[str, User],
    initiators: dict[str, Initiate],
    deciders: dict[str, Decide],
    asked_by: str,
    signed_by: str,
    decision: str,
) -> None:
    alice = people["alice"]
    approval_id = initiators[asked_by](alice)
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.initiator_id == "alice"

    status, said = deciders[signed_by](alice, approval_id, decision)

    assert status != 200
    assert "initiator_cannot_sign" in said or "cannot sign it" in said
    approval.refresh_from_db()
    assert (approval.status, approval.current_approvals) == ("pending", 0)
    assert not approval.signatures.exists()
    refused = OpsActionLog.objects.get(action_type="approve")
    assert (refused.actor_id, refused.status) == ("alice", "rejected")


@pytest.mark.parametrize(("first", "second"), CROSSINGS)
def test_a_signer_cannot_sign_twice_with_another_credential(
    people: dict[str, User],
    initiators: dict[str, Initiate],
    deciders: dict[str, Decide],
    first: str,
    second: str,
    settings: Any,
) -> None:
    settings.APPROVAL_GLOBAL_FREEZE_SIGNATURES = 3  # so one signature leaves it open
    approval_id = initiators["token"](people["alice"])

    assert deciders[first](people["bruno"], approval_id, "approve")[0] == 200
    status, said = deciders[second](people["bruno"], approval_id, "approve")

    assert status != 200
    assert "already_signed" in said or "already signed" in said
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.current_approvals == 1
    assert list(approval.signatures.values_list("signer_id", flat=True)) == ["bruno"]


def test_every_credential_of_one_person_is_one_actor_in_the_audit_log(
    people: dict[str, User], initiators: dict[str, Initiate], pay_admin: APIClient
) -> None:
    for asked_by, initiate in initiators.items():
        approval_id = initiate(people["alice"])
        # decline it so the next credential may ask again
        ApprovalRequest.objects.filter(pk=approval_id).update(status="declined")
        assert asked_by

    rows = pay_admin.get("/api/ops/actions?actor_id=alice&limit=50").json()
    requested = [r for r in rows["results"] if r["action_type"] == "freeze_payouts"]
    assert len(requested) == 3
    assert {r["actor_id"] for r in rows["results"]} == {"alice"}
    assert not OpsActionLog.objects.filter(actor_id__startswith="user:").exists()


def test_a_user_not_linked_to_a_subject_has_no_role(bank: Any) -> None:
    ghost = operator_user("ghost", "pay_admin", subject=None)
    client = session_client(ghost)

    assert client.get("/api/ops/banks").status_code == 403
    resp = post_action(
        client, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "x"}
    )

    assert resp.status_code == 403
    row = OpsActionLog.objects.get(action_type="pause_bank")
    assert (row.actor_id, row.status) == (f"user:{ghost.pk}", "rejected")


def test_a_linked_subject_other_than_the_username_is_the_principal() -> None:
    user = operator_user(f"a.diallo-{uuid.uuid4().hex[:4]}", "ops", subject="amina")
    me = session_client(user).get("/api/ops/me").json()
    assert (me["id"], me["roles"]) == ("amina", ["ops"])
