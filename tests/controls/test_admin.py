"""The Django admin changes state only through the runner: bank pause, resume,
freeze and unfreeze, the global freeze and feature flags are audited under the
session user, idempotent per form submission and approval-gated (issue 3
point 7). Driven as a browser does: staff users in ops groups, CSRF enforced.

The helpers here are shared with tests/approvals/test_admin.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from approvals.models import ApprovalRequest
from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl
from tests.factories import BankProfileFactory, operator_user
from tests.helpers import audit_rows

pytestmark = pytest.mark.django_db

BANKS = "/admin/payouts/bankprofile/"
CONTROLS = "/admin/controls/treasurycontrol/"
FREEZE_GLOBAL_URL = CONTROLS + "freeze-global/"
SET_FLAG_URL = CONTROLS + "set-flag/"
FORBIDDEN = "Your roles do not allow this action."
REPLAYED = "already submitted"

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- helpers ------------------------------------------------------------------


def staff_user(username: str, *groups: str, superuser: bool = False) -> User:
    return operator_user(username, *groups, is_superuser=superuser)


def browser(user: User) -> Client:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.1.2.3")
    client.force_login(user)
    return client


def csrf_of(resp: Any) -> str:
    match = _TOKEN.search(resp.content.decode())
    assert match, resp.content.decode()[:3000]
    return match.group(1)


def messages_of(resp: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in resp.context["messages"]]


def choose_action(client: Client, url: str, action: str, ids: list[Any]) -> Any:
    """Tick ``ids`` on the changelist and run ``action`` (the Go button)."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(
        url,
        {
            "csrfmiddlewaretoken": csrf_of(page),
            "action": action,
            "index": 0,
            "select_across": 0,
            "_selected_action": [str(i) for i in ids],
        },
        follow=True,
    )


def confirm_form(page: Any, action: str, ids: list[Any], **fields: Any) -> dict:
    """The POST data of a confirmation page's form, filled in."""
    return {
        "csrfmiddlewaretoken": csrf_of(page),
        "action": action,
        "_selected_action": [str(i) for i in ids],
        "post": "yes",
        **fields,
    }


def is_active(key: str) -> bool:
    control = TreasuryControl.objects.filter(key=key).first()
    return bool(control and control.is_active())


# --- bank pause from the admin -----------------------------------------------


def test_pause_from_admin_runs_the_action_once_per_submission(bank: Any) -> None:
    admin_user = staff_user("ada", "pay_admin")
    client = browser(admin_user)

    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/molam_ops/confirm_action.html"
    assert bank.name in page.content.decode()
    assert not TreasuryControl.objects.exists()  # nothing until confirmed

    form = confirm_form(page, "pause_bank_selected", [bank.pk], reason="maintenance")
    done = client.post(BANKS, form, follow=True)

    assert done.status_code == 200
    assert done.redirect_chain[-1][0] == BANKS
    control = TreasuryControl.objects.get(key=pause_bank_key(bank.id))
    assert control.is_active()
    assert control.value["reason"] == "maintenance"
    assert control.updated_by == admin_user.username
    [row] = audit_rows("pause_bank")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        admin_user.username,
        "pay_admin",
    )
    assert row.ip == "10.1.2.3"
    assert row.idempotency_key.startswith("admin:")
    [(level, text)] = messages_of(done)
    assert level == "success"
    assert bank.name in text
    assert "pause_bank executed" in text

    # the same form submitted again: replayed, not paused twice
    again = client.post(BANKS, form, follow=True)
    [(level, text)] = messages_of(again)
    assert level == "success"
    assert REPLAYED in text
    assert len(audit_rows("pause_bank")) == 1
    control.refresh_from_db()
    assert control.updated_by == admin_user.username

    # a new form is a new intent: the bank is already paused (409, audited)
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    form = confirm_form(page, "pause_bank_selected", [bank.pk], reason="again")
    [(level, text)] = messages_of(client.post(BANKS, form, follow=True))
    assert (level, text) == ("error", f"{bank.name}: This bank is already paused.")
    assert [r.status for r in audit_rows("pause_bank")] == ["executed", "rejected"]


def test_pause_needs_a_reason(bank: Any) -> None:
    client = browser(staff_user("ada", "pay_admin"))
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    form = confirm_form(page, "pause_bank_selected", [bank.pk], reason="")

    resp = client.post(BANKS, form)

    assert resp.status_code == 200  # the confirmation page again, with the error
    assert resp.context["form"].errors == {"reason": ["This field is required."]}
    assert not TreasuryControl.objects.exists()
    assert not audit_rows("pause_bank")


def test_bad_input_is_refused_by_the_runner_with_its_fields(bank: Any) -> None:
    client = browser(staff_user("ada", "pay_admin"))
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    form = confirm_form(
        page,
        "pause_bank_selected",
        [bank.pk],
        reason="x",
        expires_at="2001-01-01 00:00",
    )

    [(level, text)] = messages_of(client.post(BANKS, form, follow=True))

    assert level == "error"
    assert text.startswith(f"{bank.name}: Some fields are invalid.")
    assert "expires_at" in text
    assert not TreasuryControl.objects.exists()
    [row] = audit_rows("pause_bank")
    assert (row.status, row.details["code"]) == ("rejected", "validation_error")


def test_an_ops_user_is_refused_with_the_forbidden_message(bank: Any) -> None:
    user = staff_user("otto", "ops")
    client = browser(user)
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    form = confirm_form(page, "pause_bank_selected", [bank.pk], reason="x")

    done = client.post(BANKS, form, follow=True)

    assert messages_of(done) == [("error", f"{bank.name}: {FORBIDDEN}")]
    assert not TreasuryControl.objects.exists()
    [row] = audit_rows("pause_bank")
    assert (row.status, row.actor_id, row.actor_role) == (
        "rejected",
        user.username,
        "ops",
    )
    assert row.details["code"] == "forbidden"
    assert row.target == {"bank_profile_id": str(bank.id)}


def test_a_superuser_without_groups_has_no_ops_role(bank: Any) -> None:
    root = staff_user("root", superuser=True)
    client = browser(root)
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    form = confirm_form(page, "pause_bank_selected", [bank.pk], reason="x")

    done = client.post(BANKS, form, follow=True)

    assert messages_of(done) == [("error", f"{bank.name}: {FORBIDDEN}")]
    [row] = audit_rows("pause_bank")
    assert (row.status, row.actor_id, row.actor_role) == (
        "rejected",
        root.username,
        "none",
    )


def test_pause_several_banks_then_resume(bank: Any) -> None:
    other = BankProfileFactory()
    client = browser(staff_user("ada", "pay_admin"))
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk, other.pk])
    form = confirm_form(page, "pause_bank_selected", [bank.pk, other.pk], reason="r")
    done = client.post(BANKS, form, follow=True)

    assert [level for level, _text in messages_of(done)] == ["success", "success"]
    assert is_active(pause_bank_key(bank.id))
    assert is_active(pause_bank_key(other.id))
    assert (
        len({r.idempotency_key for r in audit_rows("pause_bank")}) == 2
    )  # one per bank

    done = choose_action(client, BANKS, "resume_bank_selected", [bank.pk])
    [(level, text)] = messages_of(done)
    assert (level, text) == ("success", f"{bank.name}: resume_bank executed.")
    assert not is_active(pause_bank_key(bank.id))
    assert is_active(pause_bank_key(other.id))
    [row] = audit_rows("resume_bank")
    assert row.status == "executed"


def test_bank_freeze_and_unfreeze_from_admin(bank: Any) -> None:
    client = browser(staff_user("fina", "finance_ops"))
    page = choose_action(client, BANKS, "freeze_payouts_selected", [bank.pk])
    form = confirm_form(page, "freeze_payouts_selected", [bank.pk], reason="fraud")
    [(level, _text)] = messages_of(client.post(BANKS, form, follow=True))

    assert level == "success"
    assert is_active(freeze_bank_key(bank.id))
    [row] = audit_rows("freeze_payouts")
    assert (row.status, row.actor_role) == ("executed", "finance_ops")

    [(level, _text)] = messages_of(
        choose_action(client, BANKS, "unfreeze_payouts_selected", [bank.pk])
    )
    assert level == "success"
    assert not is_active(freeze_bank_key(bank.id))
    # unfreezing what is not frozen: the §6 message
    [(level, text)] = messages_of(
        choose_action(client, BANKS, "unfreeze_payouts_selected", [bank.pk])
    )
    assert (level, text) == ("error", f"{bank.name}: This scope is not frozen.")


# --- controls -----------------------------------------------------------------


def test_global_freeze_from_admin_waits_for_signatures() -> None:
    user = staff_user("ada", "pay_admin")
    client = browser(user)
    page = client.get(FREEZE_GLOBAL_URL)
    assert page.status_code == 200

    data = {"csrfmiddlewaretoken": csrf_of(page), "reason": "incident", "post": "yes"}
    done = client.post(FREEZE_GLOBAL_URL, data, follow=True)

    assert done.redirect_chain[-1][0] == CONTROLS
    [(level, text)] = messages_of(done)
    approval = ApprovalRequest.objects.get()
    assert level == "warning"
    assert "waiting for signatures (0 of 2)" in text
    assert str(approval.id) in text
    assert approval.status == "pending"
    assert approval.initiator_id == user.username
    assert approval.initiator_kind == "session"
    assert not is_active(FREEZE_GLOBAL)
    [row] = audit_rows("freeze_payouts")
    assert (row.status, row.actor_id) == ("requested", user.username)

    # double submit: the same request, not a second one
    again = client.post(FREEZE_GLOBAL_URL, data, follow=True)
    assert REPLAYED in messages_of(again)[0][1]
    assert ApprovalRequest.objects.count() == 1
    assert len(audit_rows("freeze_payouts")) == 1


def test_global_freeze_form_needs_a_reason() -> None:
    client = browser(staff_user("ada", "pay_admin"))
    page = client.get(FREEZE_GLOBAL_URL)
    data = {"csrfmiddlewaretoken": csrf_of(page), "reason": "", "post": "yes"}
    resp = client.post(FREEZE_GLOBAL_URL, data)
    assert resp.status_code == 200
    assert "reason" in resp.context["form"].errors
    assert not ApprovalRequest.objects.exists()
    assert not audit_rows("freeze_payouts")


def test_lift_selected_freezes_from_the_controls_list(bank: Any) -> None:
    client = browser(staff_user("ada", "pay_admin"))
    page = choose_action(client, BANKS, "freeze_payouts_selected", [bank.pk])
    client.post(
        BANKS, confirm_form(page, "freeze_payouts_selected", [bank.pk], reason="r")
    )
    page = choose_action(client, BANKS, "pause_bank_selected", [bank.pk])
    client.post(BANKS, confirm_form(page, "pause_bank_selected", [bank.pk], reason="r"))
    freeze = TreasuryControl.objects.get(key=freeze_bank_key(bank.id))
    pause = TreasuryControl.objects.get(key=pause_bank_key(bank.id))

    done = choose_action(
        client, CONTROLS, "unfreeze_payouts_selected", [freeze.pk, pause.pk]
    )

    got = dict(messages_of(done))
    assert got["success"] == f"{freeze.key}: unfreeze_payouts executed."
    assert got["warning"] == f"{pause.key}: not applicable, skipped."
    assert not is_active(freeze.key)
    assert is_active(pause.key)

    done = choose_action(client, CONTROLS, "resume_bank_selected", [pause.pk])
    assert messages_of(done) == [("success", f"{pause.key}: resume_bank executed.")]
    assert not is_active(pause.key)


def test_set_flag_from_admin() -> None:
    user = staff_user("fina", "finance_ops")
    client = browser(user)
    page = client.get(SET_FLAG_URL)
    data = {
        "csrfmiddlewaretoken": csrf_of(page),
        "name": "checkout-v2",
        "enabled": "on",
        "percentage": "12.5",
        "allow": "vip-1\n vip-2 \n\n",
        "deny": "",
    }
    done = client.post(SET_FLAG_URL, data, follow=True)

    [(level, _text)] = messages_of(done)
    assert level == "success"
    control = TreasuryControl.objects.get(key="feature:checkout-v2")
    assert control.enabled is True
    assert control.value == {
        "percentage": "12.50",
        "allow": ["vip-1", "vip-2"],
        "deny": [],
    }
    [row] = audit_rows("set_flag")
    assert (row.actor_id, row.actor_role) == (user.username, "finance_ops")
    # the form opens prefilled for an existing flag
    page = client.get(SET_FLAG_URL, {"name": "checkout-v2"})
    assert page.context["form"].initial["allow"] == "vip-1\nvip-2"


def test_admin_models_are_read_only(bank: Any) -> None:
    client = browser(staff_user("ada", "pay_admin"))
    now_control = TreasuryControl.objects.create(
        key=FREEZE_GLOBAL,
        enabled=False,
        created_at="2026-01-01T00:00Z",
        updated_at="2026-01-01T00:00Z",
    )
    for url in (CONTROLS, BANKS, "/admin/payouts/payout/", "/admin/approvals/"):
        assert client.get(url).status_code == 200, url
    assert client.get(CONTROLS + "add/").status_code == 403
    change = client.get(f"{CONTROLS}{now_control.pk}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    delete = client.get(f"{CONTROLS}{now_control.pk}/delete/")
    assert delete.status_code == 403
    post = client.post(
        f"{CONTROLS}{now_control.pk}/change/",
        {"csrfmiddlewaretoken": csrf_of(change), "enabled": "on"},
    )
    assert post.status_code == 403
    now_control.refresh_from_db()
    assert now_control.enabled is False
    assert client.get(BANKS + "add/").status_code == 403
    listing = client.get(CONTROLS).content.decode()
    assert "delete_selected" not in listing
    assert "Freeze all payouts" in listing


def test_the_console_needs_staff_in_an_ops_group() -> None:
    nobody = staff_user("nobody")  # staff, no group, no permission
    assert browser(nobody).get(CONTROLS).status_code == 403
    plain = User.objects.create_user("plain")
    plain.groups.add(Group.objects.get_or_create(name="pay_admin")[0])
    client = Client()
    client.force_login(plain)  # not staff: sent to the login page
    assert client.get(CONTROLS).status_code == 302


def test_every_admin_action_runs_a_registered_ops_action() -> None:
    """The registry is the source of truth for admin actions too (DESIGN §2)."""
    from django.contrib import admin

    from molam_ops.actions.registry import get_action

    found = {}
    for model, model_admin in admin.site._registry.items():
        for func in model_admin.actions or ():
            if hasattr(func, "ops_action"):
                found[(model._meta.label, func.__name__)] = get_action(func.ops_action)
    assert {name for (_m, name) in found} >= {
        "pause_bank_selected",
        "resume_bank_selected",
        "freeze_payouts_selected",
        "unfreeze_payouts_selected",
        "approve_selected",
        "decline_selected",
    }
