"""POST /api/ops/force-reconciliation: an audited request whose effect is one
event on the bus for the treasury service (202: the work is theirs)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from controls.services.reports import RECONCILIATION_TOPIC
from molam_ops.models import OutboxEvent
from tests.helpers import assert_error, audit_rows, post_action

pytestmark = pytest.mark.django_db
URL = "force-reconciliation"


def events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=RECONCILIATION_TOPIC))


def test_puts_the_request_on_the_bus(pay_admin: APIClient, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "ledger drift 120 XOF"}
    resp = post_action(pay_admin, URL, body)

    assert resp.status_code == 202, resp.json()
    [row] = audit_rows("force_reconciliation")
    assert (row.status, row.actor_role) == ("executed", "pay_admin")
    assert row.target == {"bank_profile_id": str(bank.id)}
    assert row.details["reason"] == "ledger drift 120 XOF"
    [event] = events()
    assert event.action_id == row.action_id
    assert event.payload == {
        **body,
        "action_id": str(row.action_id),
        "requested_by": "alice",
    }
    assert resp.json()["request"]["topic"] == RECONCILIATION_TOPIC


def test_all_banks(finance_ops: APIClient) -> None:
    resp = post_action(finance_ops, URL, {"reason": "month end"})
    assert resp.status_code == 202, resp.json()
    assert events()[0].payload["bank_profile_id"] is None


def test_ops_may_not(ops: APIClient) -> None:
    assert_error(post_action(ops, URL, {"reason": "x"}), 403, "forbidden")
    assert events() == []


def test_unknown_bank_is_404_and_sends_nothing(pay_admin: APIClient) -> None:
    body = {"bank_profile_id": str(uuid.uuid4()), "reason": "x"}
    assert_error(post_action(pay_admin, URL, body), 404, "bank_not_found")
    assert events() == []
    assert audit_rows("force_reconciliation")[0].status == "rejected"


def test_replay(pay_admin: APIClient) -> None:
    first = post_action(pay_admin, URL, {"reason": "x"}, key="f1")
    again = post_action(pay_admin, URL, {"reason": "x"}, key="f1")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(events()) == 1
    assert_error(
        post_action(pay_admin, URL, {"reason": "y"}, key="f1"),
        422,
        "idempotency_key_reused",
    )


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({}, {"reason"}),
        ({"reason": ""}, {"reason"}),
        ({"reason": "x" * 501}, {"reason"}),
        ({"reason": "x", "bank_profile_id": "nope"}, {"bank_profile_id"}),
        ({"reason": "x", "bank_profile_id": ["a"]}, {"bank_profile_id"}),
    ],
)
def test_bad_input_is_400_and_sends_nothing(
    pay_admin: APIClient, body: dict[str, Any], bad: set[str]
) -> None:
    error = assert_error(post_action(pay_admin, URL, body), 400, "validation_error")
    assert set(error["fields"]) == bad
    assert events() == []
