"""POST /api/ops/pause-bank: effect, audit rows, refusals, replay, bad input,
and expiry (STYLE rule 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from tests.helpers import assert_error, audit_rows, post_action

pytestmark = pytest.mark.django_db


def body_for(bank: Any, **extra: Any) -> dict[str, Any]:
    return {"bank_profile_id": str(bank.id), "reason": "connector timeouts", **extra}


def control_rows() -> list[tuple[Any, ...]]:
    """The whole control table, to show that a refusal changed nothing."""
    return list(
        TreasuryControl.objects.order_by("key").values_list(
            "key", "enabled", "expires_at", "value", "updated_at"
        )
    )


def listed_control(client: APIClient, key: str) -> dict[str, Any] | None:
    resp = client.get("/api/ops/controls", {"key": key, "active": "all"})
    assert resp.status_code == 200, resp.json()
    results = resp.json()["results"]
    return results[0] if results else None


def listed_bank(client: APIClient, bank: Any) -> dict[str, Any]:
    resp = client.get("/api/ops/banks")
    assert resp.status_code == 200, resp.json()
    [row] = [b for b in resp.json()["results"] if b["id"] == str(bank.id)]
    return row


def test_pause_bank_pauses_and_audits(pay_admin: APIClient, bank: Any) -> None:
    resp = post_action(pay_admin, "pause-bank", body_for(bank))

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["ok"] is True
    key = pause_bank_key(bank.id)
    # the effect: the control row, the lists
    control = TreasuryControl.objects.get(key=key)
    assert control.enabled is True
    assert control.expires_at is None
    assert control.value == {
        "bank_profile_id": str(bank.id),
        "reason": "connector timeouts",
    }
    assert control.updated_by == "alice"
    assert body["control"]["key"] == key
    assert body["control"]["active"] is True
    assert listed_control(pay_admin, key)["active"] is True
    assert listed_bank(pay_admin, bank)["paused"] is True
    # the audit row
    [row] = audit_rows("pause_bank")
    assert row.status == "executed"
    assert row.actor_id == "alice"
    assert row.actor_role == "pay_admin"
    assert row.target["bank_profile_id"] == str(bank.id)
    assert row.details["reason"] == "connector timeouts"
    assert row.idempotency_key
    assert body["log"]["id"] == str(row.id)
    assert body["log"]["status"] == "executed"


def test_other_roles_are_refused_with_a_rejected_row(
    finance_ops: APIClient, ops: APIClient, outsider: APIClient, bank: Any
) -> None:
    for client, sub in ((finance_ops, "bruno"), (ops, "chloe"), (outsider, "mallory")):
        assert_error(
            post_action(client, "pause-bank", body_for(bank)), 403, "forbidden"
        )
        [row] = audit_rows("pause_bank", actor_id=sub)
        assert row.status == "rejected"
        assert row.target == {"bank_profile_id": str(bank.id)}
    assert not TreasuryControl.objects.exists()


def test_pausing_a_paused_bank_is_409(pay_admin: APIClient, bank: Any) -> None:
    assert post_action(pay_admin, "pause-bank", body_for(bank)).status_code == 200
    before = control_rows()

    resp = post_action(pay_admin, "pause-bank", body_for(bank, reason="again"))

    assert_error(resp, 409, "bank_already_paused")
    assert control_rows() == before
    executed, rejected = audit_rows("pause_bank")
    assert executed.status == "executed"
    assert rejected.status == "rejected"
    assert rejected.details["code"] == "bank_already_paused"
    assert rejected.target == {"bank_profile_id": str(bank.id)}


def test_replay_returns_the_first_response(pay_admin: APIClient, bank: Any) -> None:
    first = post_action(pay_admin, "pause-bank", body_for(bank), key="pause-1")
    again = post_action(pay_admin, "pause-bank", body_for(bank), key="pause-1")

    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert len(audit_rows("pause_bank")) == 1  # no second action
    # same key, different body
    resp = post_action(
        pay_admin, "pause-bank", body_for(bank, reason="other"), key="pause-1"
    )
    assert_error(resp, 422, "idempotency_key_reused")


def test_a_refusal_is_replayed_too(pay_admin: APIClient, bank: Any) -> None:
    post_action(pay_admin, "pause-bank", body_for(bank))
    first = post_action(pay_admin, "pause-bank", body_for(bank), key="dup")
    again = post_action(pay_admin, "pause-bank", body_for(bank), key="dup")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


def test_missing_idempotency_key_is_400(pay_admin: APIClient, bank: Any) -> None:
    resp = post_action(pay_admin, "pause-bank", body_for(bank), key=None)
    error = assert_error(resp, 400, "idempotency_key_required")
    assert "Idempotency-Key" in error["fields"]
    assert not TreasuryControl.objects.exists()


BAD_BODIES = [
    pytest.param({}, {"bank_profile_id", "reason"}, id="empty"),
    pytest.param({"reason": "x"}, {"bank_profile_id"}, id="no-bank"),
    pytest.param({"bank_profile_id": "{bank}"}, {"reason"}, id="no-reason"),
    pytest.param(
        {"bank_profile_id": 123, "reason": "x"}, {"bank_profile_id"}, id="int-id"
    ),
    pytest.param(
        {"bank_profile_id": "not-a-uuid", "reason": "x"},
        {"bank_profile_id"},
        id="bad-uuid",
    ),
    pytest.param(
        {"bank_profile_id": None, "reason": "x"}, {"bank_profile_id"}, id="null-id"
    ),
    pytest.param(
        {"bank_profile_id": ["{bank}"], "reason": "x"},
        {"bank_profile_id"},
        id="list-id",
    ),
    pytest.param({"bank_profile_id": "{bank}", "reason": {}}, {"reason"}, id="obj"),
    pytest.param({"bank_profile_id": "{bank}", "reason": True}, {"reason"}, id="bool"),
    pytest.param({"bank_profile_id": "{bank}", "reason": ""}, {"reason"}, id="blank"),
    pytest.param(
        {"bank_profile_id": "{bank}", "reason": "x" * 501}, {"reason"}, id="oversize"
    ),
    pytest.param(
        {"bank_profile_id": "{bank}", "reason": "x", "expires_at": "{past}"},
        {"expires_at"},
        id="expires-past",
    ),
    pytest.param(
        {"bank_profile_id": "{bank}", "reason": "x", "expires_at": "tomorrow"},
        {"expires_at"},
        id="expires-garbage",
    ),
    pytest.param(
        {"bank_profile_id": "{bank}", "reason": "x", "expires_at": 1700000000},
        {"expires_at"},
        id="expires-int",
    ),
]


def _fill(value: Any, bank: Any) -> Any:
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    if value == "{bank}":
        return str(bank.id)
    if value == "{past}":
        return past
    if isinstance(value, list):
        return [_fill(v, bank) for v in value]
    return value


@pytest.mark.parametrize(("raw", "bad_fields"), BAD_BODIES)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, bank: Any, raw: dict[str, Any], bad_fields: set[str]
) -> None:
    before = control_rows()
    body = {k: _fill(v, bank) for k, v in raw.items()}

    resp = post_action(pay_admin, "pause-bank", body, key="bad-input")

    error = assert_error(resp, 400, "validation_error")
    assert set(error["fields"]) == bad_fields
    assert control_rows() == before
    [row] = audit_rows("pause_bank")
    assert row.status == "rejected"
    assert row.details["code"] == "validation_error"
    assert set(row.details["fields"]) == bad_fields
    # not stored under the key: the corrected request with the same key runs
    resp = post_action(pay_admin, "pause-bank", body_for(bank), key="bad-input")
    assert resp.status_code == 200, resp.json()


def test_oversize_reason_names_the_field(pay_admin: APIClient, bank: Any) -> None:
    error = assert_error(
        post_action(pay_admin, "pause-bank", body_for(bank, reason="r" * 501)),
        400,
        "validation_error",
    )
    assert "500" in error["fields"]["reason"][0]
    ok = post_action(pay_admin, "pause-bank", body_for(bank, reason="r" * 500))
    assert ok.status_code == 200, ok.json()


def test_unknown_bank_is_404_and_changes_nothing(pay_admin: APIClient) -> None:
    unknown = str(uuid.uuid4())
    resp = post_action(
        pay_admin, "pause-bank", {"bank_profile_id": unknown, "reason": "x"}
    )
    error = assert_error(resp, 404, "bank_not_found")
    assert "bank_profile_id" in error["fields"]
    assert not TreasuryControl.objects.exists()
    [row] = audit_rows("pause_bank")
    assert row.status == "rejected"
    assert row.target == {"bank_profile_id": unknown}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        ('{"bank_profile_id": ', "application/json", 400, "malformed_json"),
        ("[1, 2]", "application/json", 400, "validation_error"),
        (
            "bank_profile_id=x&reason=y",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        ("pause", "text/plain", 415, "unsupported_media_type"),
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
    before = control_rows()
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        content,
        content_type=content_type,
        HTTP_IDEMPOTENCY_KEY="non-json",
    )
    assert_error(resp, status, code)
    assert control_rows() == before
    [row] = audit_rows("pause_bank")
    assert row.status == "rejected"
    assert row.details["code"] == code


def test_pause_until_a_time_then_it_lapses(pay_admin: APIClient, bank: Any) -> None:
    key = pause_bank_key(bank.id)
    start = timezone.now()
    until = start + timedelta(minutes=30)

    with time_machine.travel(start, tick=False) as traveller:
        resp = post_action(
            pay_admin, "pause-bank", body_for(bank, expires_at=until.isoformat())
        )
        assert resp.status_code == 200, resp.json()
        body = resp.json()
        assert parse_datetime(body["control"]["expires_at"]) == until
        assert body["control"]["expires_at"].endswith("Z")
        assert (
            audit_rows("pause_bank")[0].details["expires_at"]
            == body["control"]["expires_at"]
        )
        assert listed_control(pay_admin, key)["active"] is True
        assert listed_bank(pay_admin, bank)["paused"] is True

        traveller.move_to(until + timedelta(seconds=1))

        # inactive at once on every read, before any task closes it
        assert TreasuryControl.objects.get(key=key).enabled is True
        listed = listed_control(pay_admin, key)
        assert listed["active"] is False
        assert listed["enabled"] is True
        assert listed_bank(pay_admin, bank)["paused"] is False
        inactive = pay_admin.get("/api/ops/controls", {"active": "false"}).json()
        assert [c["key"] for c in inactive["results"]] == [key]
        # and the bank can be paused again
        again = post_action(pay_admin, "pause-bank", body_for(bank, reason="again"))
        assert again.status_code == 200, again.json()
        assert again.json()["control"]["expires_at"] is None
        assert listed_control(pay_admin, key)["active"] is True
        assert listed_bank(pay_admin, bank)["paused"] is True
    assert [r.status for r in audit_rows("pause_bank")] == ["executed", "executed"]
