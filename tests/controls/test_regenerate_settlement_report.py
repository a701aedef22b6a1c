"""POST /api/ops/regenerate-settlement-report: an audited request whose effect
is one event on the bus for the settlement service (202: the work is theirs)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from controls.services.reports import SETTLEMENT_REPORT_TOPIC
from molam_ops.models import OutboxEvent
from tests.helpers import assert_error, audit_rows, post_action

pytestmark = pytest.mark.django_db
URL = "regenerate-settlement-report"
DAY = (timezone.now() - timedelta(days=30)).date().isoformat()


def events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=SETTLEMENT_REPORT_TOPIC))


def test_puts_the_request_on_the_bus(finance_ops: APIClient, bank: Any) -> None:
    resp = post_action(finance_ops, URL, {"date": DAY, "bank_profile_id": str(bank.id)})

    assert resp.status_code == 202, resp.json()
    body = resp.json()
    [row] = audit_rows("regenerate_settlement_report")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "bruno",
        "finance_ops",
    )
    assert row.target == {"date": DAY, "bank_profile_id": str(bank.id)}
    assert row.details["topic"] == SETTLEMENT_REPORT_TOPIC
    [event] = events()
    assert event.action_id == row.action_id
    assert event.payload == {
        "date": DAY,
        "bank_profile_id": str(bank.id),
        "action_id": str(row.action_id),
        "requested_by": "bruno",
    }
    assert body["request"] == {
        "topic": SETTLEMENT_REPORT_TOPIC,
        "payload": event.payload,
    }
    assert body["log"]["status"] == "executed"


def test_all_banks_and_today(pay_admin: APIClient) -> None:
    today = timezone.now().date().isoformat()
    resp = post_action(pay_admin, URL, {"date": today})
    assert resp.status_code == 202, resp.json()
    assert events()[0].payload["bank_profile_id"] is None


def test_ops_may_not(ops: APIClient) -> None:
    assert_error(post_action(ops, URL, {"date": DAY}), 403, "forbidden")
    assert events() == []
    assert audit_rows("regenerate_settlement_report")[0].status == "rejected"


def test_unknown_bank_is_404_and_sends_nothing(pay_admin: APIClient) -> None:
    resp = post_action(
        pay_admin, URL, {"date": DAY, "bank_profile_id": str(uuid.uuid4())}
    )
    assert_error(resp, 404, "bank_not_found")
    assert events() == []
    assert audit_rows("regenerate_settlement_report")[0].status == "rejected"


def test_replay(pay_admin: APIClient) -> None:
    first = post_action(pay_admin, URL, {"date": DAY}, key="r1")
    again = post_action(pay_admin, URL, {"date": DAY}, key="r1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(events()) == 1


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({}, {"date"}),
        ({"date": "15/01/2026"}, {"date"}),
        ({"date": 20260115}, {"date"}),
        ({"date": "{tomorrow}"}, {"date"}),
        ({"date": DAY, "bank_profile_id": 1}, {"bank_profile_id"}),
    ],
)
def test_bad_input_is_400_and_sends_nothing(
    pay_admin: APIClient, body: dict[str, Any], bad: set[str]
) -> None:
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    body = {k: tomorrow if v == "{tomorrow}" else v for k, v in body.items()}
    error = assert_error(post_action(pay_admin, URL, body), 400, "validation_error")
    assert set(error["fields"]) == bad
    assert events() == []
