"""POST /api/ops/resume-bank: effect, audit rows, refusals, replay, bad input
(STYLE rule 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from tests.controls.test_pause_bank import (
    control_rows,
    listed_bank,
    listed_control,
)
from tests.helpers import assert_error, audit_rows, post_action

pytestmark = pytest.mark.django_db


def pause(client: APIClient, bank: Any, **extra: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts", **extra}
    resp = post_action(client, "pause-bank", body)
    assert resp.status_code == 200, resp.json()


def resume_body(bank: Any, **extra: Any) -> dict[str, Any]:
    return {"bank_profile_id": str(bank.id), "reason": "connector back", **extra}


def test_resume_bank_resumes_and_audits(pay_admin: APIClient, bank: Any) -> None:
    pause(pay_admin, bank)
    key = pause_bank_key(bank.id)

    resp = post_action(pay_admin, "resume-bank", resume_body(bank))

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["ok"] is True
    assert body["control"]["key"] == key
    assert body["control"]["active"] is False
    control = TreasuryControl.objects.get(key=key)
    assert control.enabled is False
    assert listed_control(pay_admin, key)["active"] is False
    assert listed_bank(pay_admin, bank)["paused"] is False
    [row] = audit_rows("resume_bank")
    assert row.status == "executed"
    assert row.actor_id == "alice"
    assert row.actor_role == "pay_admin"
    assert row.target["bank_profile_id"] == str(bank.id)
    assert row.details["reason"] == "connector back"
    assert body["log"]["id"] == str(row.id)
    # and it can be paused again
    pause(pay_admin, bank)
    assert listed_bank(pay_admin, bank)["paused"] is True


def test_reason_is_optional(pay_admin: APIClient, bank: Any) -> None:
    pause(pay_admin, bank)
    resp = post_action(pay_admin, "resume-bank", {"bank_profile_id": str(bank.id)})
    assert resp.status_code == 200, resp.json()
    assert audit_rows("resume_bank")[0].details["reason"] == ""


def test_other_roles_are_refused(
    finance_ops: APIClient, ops: APIClient, pay_admin: APIClient, bank: Any
) -> None:
    pause(pay_admin, bank)
    before = control_rows()
    for client in (finance_ops, ops):
        resp = post_action(client, "resume-bank", resume_body(bank))
        assert_error(resp, 403, "forbidden")
    assert control_rows() == before
    assert [r.status for r in audit_rows("resume_bank")] == ["rejected", "rejected"]


def test_resuming_a_bank_that_is_not_paused_is_409(
    pay_admin: APIClient, bank: Any
) -> None:
    resp = post_action(pay_admin, "resume-bank", resume_body(bank))

    assert_error(resp, 409, "bank_not_paused")
    # the effect's writes (the control row it would create) are rolled back
    assert not TreasuryControl.objects.exists()
    [row] = audit_rows("resume_bank")
    assert row.status == "rejected"
    assert row.details["code"] == "bank_not_paused"
    assert row.target == {"bank_profile_id": str(bank.id)}


def test_resuming_twice_is_409(pay_admin: APIClient, bank: Any) -> None:
    pause(pay_admin, bank)
    assert post_action(pay_admin, "resume-bank", resume_body(bank)).status_code == 200
    before = control_rows()
    assert_error(
        post_action(pay_admin, "resume-bank", resume_body(bank)),
        409,
        "bank_not_paused",
    )
    assert control_rows() == before
    assert [r.status for r in audit_rows("resume_bank")] == ["executed", "rejected"]


def test_resuming_a_lapsed_pause_is_409(pay_admin: APIClient, bank: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        pause(pay_admin, bank, expires_at=(start + timedelta(hours=1)).isoformat())
        traveller.move_to(start + timedelta(hours=2))
        assert_error(
            post_action(pay_admin, "resume-bank", resume_body(bank)),
            409,
            "bank_not_paused",
        )


def test_replay_returns_the_first_response(pay_admin: APIClient, bank: Any) -> None:
    pause(pay_admin, bank)
    first = post_action(pay_admin, "resume-bank", resume_body(bank), key="resume-1")
    again = post_action(pay_admin, "resume-bank", resume_body(bank), key="resume-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(audit_rows("resume_bank")) == 1
    resp = post_action(
        pay_admin, "resume-bank", resume_body(bank, reason="other"), key="resume-1"
    )
    assert_error(resp, 422, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        pytest.param({}, {"bank_profile_id"}, id="empty"),
        pytest.param({"bank_profile_id": 123}, {"bank_profile_id"}, id="int-id"),
        pytest.param(
            {"bank_profile_id": "not-a-uuid"}, {"bank_profile_id"}, id="bad-uuid"
        ),
        pytest.param({"bank_profile_id": "{bank}", "reason": {}}, {"reason"}, id="obj"),
        pytest.param(
            {"bank_profile_id": "{bank}", "reason": "x" * 501},
            {"reason"},
            id="oversize",
        ),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, bank: Any, body: dict[str, Any], bad_fields: set[str]
) -> None:
    pause(pay_admin, bank)
    before = control_rows()
    body = {k: str(bank.id) if v == "{bank}" else v for k, v in body.items()}

    resp = post_action(pay_admin, "resume-bank", body)

    error = assert_error(resp, 400, "validation_error")
    assert set(error["fields"]) == bad_fields
    assert control_rows() == before
    [row] = audit_rows("resume_bank")
    assert row.status == "rejected"
    assert listed_bank(pay_admin, bank)["paused"] is True


def test_unknown_bank_is_404(pay_admin: APIClient, bank: Any) -> None:
    pause(pay_admin, bank)
    before = control_rows()
    resp = post_action(pay_admin, "resume-bank", {"bank_profile_id": str(uuid.uuid4())})
    assert_error(resp, 404, "bank_not_found")
    assert control_rows() == before
    assert [r.status for r in audit_rows("resume_bank")] == ["rejected"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        ("{", "application/json", 400, "malformed_json"),
        ('"resume"', "application/json", 400, "validation_error"),
        (
            "bank_profile_id=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
    ],
)
def test_non_json_bodies_change_nothing(
    pay_admin: APIClient,
    bank: Any,
    content: str,
    content_type: str,
    status: int,
    code: str,
) -> None:
    pause(pay_admin, bank)
    before = control_rows()
    resp = pay_admin.post(
        "/api/ops/resume-bank",
        content,
        content_type=content_type,
        HTTP_IDEMPOTENCY_KEY="non-json",
    )
    assert_error(resp, status, code)
    assert control_rows() == before
    [row] = audit_rows("resume_bank")
    assert row.details["code"] == code
