"""freeze-payouts / unfreeze-payouts (issue 3 point 1)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from tests.helpers import post_action

pytestmark = pytest.mark.django_db


def _control(key: str) -> TreasuryControl | None:
    return TreasuryControl.objects.filter(key=key).first()


def test_bank_freeze_executes_at_once(finance_ops, bank):
    resp = post_action(
        finance_ops,
        "freeze-payouts",
        {"scope": {"bank_profile_id": str(bank.id)}, "reason": "fraud"},
    )
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["log"]["status"] == "executed"
    assert body["log"]["actor_role"] == "finance_ops"
    assert body["log"]["target"]["bank_profile_id"] == str(bank.id)
    assert body["control"]["key"] == f"freeze_bank_{bank.id}"
    assert body["control"]["active"] is True
    banks = finance_ops.get("/api/ops/banks").json()["results"]
    assert [(b["frozen"], b["freeze_scope"]) for b in banks] == [(True, "bank")]


def test_global_freeze_needs_signatures(finance_ops):
    resp = post_action(
        finance_ops, "freeze-payouts", {"scope": "global", "reason": "incident"}
    )
    assert resp.status_code == 202
    assert resp.json()["log"]["status"] == "requested"
    assert resp.json()["approval"]["required_approvals"] == 2
    assert _control("freeze_global") is None


def test_freezing_what_is_frozen_is_409_and_changes_nothing(pay_admin, bank):
    body = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "fraud"}
    assert post_action(pay_admin, "freeze-payouts", body).status_code == 200
    before = _control(f"freeze_bank_{bank.id}").updated_at
    resp = post_action(pay_admin, "freeze-payouts", {**body, "reason": "again"})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "already_frozen"
    assert _control(f"freeze_bank_{bank.id}").updated_at == before
    assert (
        OpsActionLog.objects.filter(
            action_type="freeze_payouts", status="rejected"
        ).count()
        == 1
    )


def test_global_freeze_of_frozen_scope_is_refused_before_asking(pay_admin):
    now = timezone.now()
    TreasuryControl.objects.create(
        key="freeze_global", enabled=True, created_at=now, updated_at=now
    )
    resp = post_action(pay_admin, "freeze-payouts", {"scope": "global", "reason": "x"})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "already_frozen"
    assert pay_admin.get("/api/ops/pending-approvals").json()["count"] == 0


def test_unfreeze_lifts_and_refuses_when_not_frozen(pay_admin, bank):
    scope = {"bank_profile_id": str(bank.id)}
    resp = post_action(pay_admin, "unfreeze-payouts", {"scope": scope})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "not_frozen"
    post_action(pay_admin, "freeze-payouts", {"scope": scope, "reason": "r"})
    resp = post_action(pay_admin, "unfreeze-payouts", {"scope": scope, "reason": "ok"})
    assert resp.status_code == 200
    assert resp.json()["control"]["active"] is False
    assert _control(f"freeze_bank_{bank.id}").enabled is False


def test_ttl_seconds_sets_expiry_and_freeze_lapses(pay_admin, bank):
    scope = {"bank_profile_id": str(bank.id)}
    resp = post_action(
        pay_admin, "freeze-payouts", {"scope": scope, "reason": "r", "ttl_seconds": 60}
    )
    assert resp.status_code == 200
    control = _control(f"freeze_bank_{bank.id}")
    assert (
        timedelta(seconds=55)
        < control.expires_at - timezone.now()
        <= timedelta(seconds=60)
    )
    control.expires_at = timezone.now() - timedelta(seconds=1)
    control.save()
    assert pay_admin.get("/api/ops/banks").json()["results"][0]["frozen"] is False
    assert (
        post_action(
            pay_admin, "freeze-payouts", {"scope": scope, "reason": "again"}
        ).status_code
        == 200
    )


def test_ops_role_cannot_freeze(ops, bank):
    resp = post_action(
        ops,
        "freeze-payouts",
        {"scope": {"bank_profile_id": str(bank.id)}, "reason": "r"},
    )
    assert resp.status_code == 403
    assert _control(f"freeze_bank_{bank.id}") is None


def test_replay_returns_first_response(pay_admin, bank):
    body = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "r"}
    first = post_action(pay_admin, "freeze-payouts", body, key="f-1")
    again = post_action(pay_admin, "freeze-payouts", body, key="f-1")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OpsActionLog.objects.filter(action_type="freeze_payouts").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "r"}, "scope"),
        ({"scope": "everything", "reason": "r"}, "scope"),
        ({"scope": {"bank_profile_id": "nope"}, "reason": "r"}, "scope"),
        (
            {"scope": {"bank_profile_id": str(uuid.uuid4()), "x": 1}, "reason": "r"},
            "scope",
        ),
        ({"scope": "global"}, "reason"),
        ({"scope": "global", "reason": "r" * 501}, "reason"),
        ({"scope": "global", "reason": "r", "ttl_seconds": 0}, "ttl_seconds"),
        ({"scope": "global", "reason": "r", "ttl_seconds": "soon"}, "ttl_seconds"),
        (
            {"scope": "global", "reason": "r", "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at",
        ),
        (
            {
                "scope": "global",
                "reason": "r",
                "ttl_seconds": 5,
                "expires_at": "2999-01-01T00:00:00Z",
            },
            "ttl_seconds",
        ),
    ],
)
def test_bad_input_is_400_with_fields_and_no_effect(pay_admin, body, field):
    resp = post_action(pay_admin, "freeze-payouts", body)
    assert resp.status_code == 400, resp.json()
    assert resp.json()["ok"] is False
    assert field in resp.json()["error"]["fields"]
    assert TreasuryControl.objects.count() == 0
    assert pay_admin.get("/api/ops/pending-approvals").json()["count"] == 0
    assert list(OpsActionLog.objects.values_list("status", flat=True)) == ["rejected"]


def test_unknown_bank_is_404_and_no_effect(pay_admin):
    resp = post_action(
        pay_admin,
        "freeze-payouts",
        {"scope": {"bank_profile_id": str(uuid.uuid4())}, "reason": "r"},
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "bank_not_found"
    assert TreasuryControl.objects.count() == 0
