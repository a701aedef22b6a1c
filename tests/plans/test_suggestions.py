"""Suggestions (issue 4 point 5): derived from bank health and the local
planner, or read from SIRA; accepting one runs its action as the caller
(roles, approvals, audit); declining records the decision. Each action:
effect, audit rows, refusals, replay, bad input."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions import runner
from molam_ops.identity import system_principal
from plans.models import Plan, Suggestion
from plans.services import suggestion_refresh
from tests.concurrency import race
from tests.factories import BankProfileFactory
from tests.helpers import post_action
from tests.plans.plan_helpers import rails
from tests.plans.sira_helpers import running


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> None:
    settings.SIRA_URL = ""
    settings.SIRA_TIMEOUT_SECONDS = 0.5
    settings.SIRA_BACKOFF_SECONDS = 0.01


def listed(client: APIClient, query: str = "") -> list[dict[str, Any]]:
    """What the list shows after beat's next refresh."""
    suggestion_refresh.refresh()
    resp = client.get(f"/api/ops/suggestions{query}")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["ok"] is True
    return body["results"]


def refreshes() -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(action_type="update_suggestions").order_by("seq")
    )


def is_paused(bank: Any) -> bool:
    return TreasuryControl.objects.filter(
        key=pause_bank_key(bank.id), enabled=True
    ).exists()


@pytest.fixture
def failing(db: None) -> Any:
    return BankProfileFactory(name="Banque Fragile", success_rate=Decimal("0.8800"))


def make(**kw: Any) -> Suggestion:
    now = timezone.now()
    defaults: dict[str, Any] = {
        "source": "sira",
        "fingerprint": f"test:{uuid.uuid4()}",
        "title": "Freeze everything",
        "description": "",
        "confidence": Decimal("0.5"),
        "action_type": "freeze_payouts",
        "payload": {"scope": "global", "reason": "suggested"},
        "created_at": now,
        "updated_at": now,
    }
    return Suggestion.objects.create(**(defaults | kw))


def accept(client: APIClient, suggestion: Any, **kw: Any) -> Any:
    return post_action(client, f"suggestions/{suggestion.id}/accept", {}, **kw)


def decline(client: APIClient, suggestion: Any, body: Any = None, **kw: Any) -> Any:
    return post_action(client, f"suggestions/{suggestion.id}/decline", body or {}, **kw)


# --- deriving and listing -------------------------------------------------------------


def test_a_failing_bank_is_suggested_for_a_pause(failing: Any, ops: APIClient) -> None:
    BankProfileFactory(name="Banque Solide")
    (item,) = listed(ops)
    assert item["source"] == "heuristic"
    assert item["title"] == "Pause bank Banque Fragile: failure rate 12%"
    assert "88%" in item["description"]
    assert item["confidence"] == "0.600"
    assert item["action"] == {
        "action_type": "pause_bank",
        "payload": {
            "bank_profile_id": str(failing.id),
            "reason": "Suggested: failure rate 12%",
        },
    }
    assert item["status"] == "open"
    (row,) = refreshes()
    assert (row.actor_id, row.actor_role, row.status) == (
        "plans.suggestions",
        "system",
        "executed",
    )
    assert row.details["created"] == [f"pause_bank:{failing.id}"]
    assert row.details["fallback_reason"] == "not_configured"

    # nothing changed: the same suggestion, and no new audit row
    assert [s["id"] for s in listed(ops)] == [item["id"]]
    assert len(refreshes()) == 1


def test_an_open_circuit_is_more_certain(db: None, ops: APIClient) -> None:
    bank = BankProfileFactory(circuit_state="open")
    (item,) = listed(ops)
    assert item["confidence"] == "0.950"
    assert "circuit open" in item["title"]
    assert item["action"]["payload"]["bank_profile_id"] == str(bank.id)


def test_the_planner_suggests_a_plan(db: None, ops: APIClient) -> None:
    rails()
    (item,) = listed(ops)
    assert item["action"] == {
        "action_type": "generate_plan",
        "payload": {"plan_params": {"type": "routing_optimization", "timeframe": 24}},
    }
    assert "XOF" in item["title"]
    assert item["description"]  # the planner's summary


def test_a_recovered_bank_expires_its_suggestion_and_is_offered_a_resume(
    failing: Any, pay_admin: APIClient
) -> None:
    (item,) = listed(pay_admin)
    assert accept(pay_admin, Suggestion.objects.get(pk=item["id"])).status_code == 200
    failing.success_rate = Decimal("0.99")
    failing.save()
    (resume,) = listed(pay_admin)
    assert resume["action"]["action_type"] == "resume_bank"
    assert resume["title"] == "Resume bank Banque Fragile"
    # and a suggestion whose cause went away expires
    TreasuryControl.objects.filter(key=pause_bank_key(failing.id)).update(enabled=False)
    assert listed(pay_admin) == []
    assert Suggestion.objects.get(pk=resume["id"]).status == "expired"
    assert refreshes()[-1].details["expired"] == [f"resume_bank:{failing.id}"]


def test_reading_never_refreshes(failing: Any, ops: APIClient) -> None:
    """A GET shows what is stored: SIRA is asked by beat, not by readers."""
    assert len(listed(ops)) == 1
    BankProfileFactory(success_rate=Decimal("0.5"))  # a second failing bank
    resp = ops.get("/api/ops/suggestions")
    assert len(resp.json()["results"]) == 1  # not refreshed by the read
    assert len(listed(ops)) == 2  # the next refresh finds it


def test_an_operator_asks_for_a_refresh(
    failing: Any,
    ops: APIClient,
    outsider: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert ops.get("/api/ops/suggestions").json()["results"] == []
    refused = post_action(outsider, "refresh-suggestions", {})
    assert refused.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_action(ops, "refresh-suggestions", {})
    assert resp.status_code == 200, resp.content
    assert resp.json()["refresh"] == {"queued": True}
    # the queued task ran (tasks run inline in tests) and stored the suggestion
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"
    row = OpsActionLog.objects.get(action_type="refresh_suggestions", status="executed")
    assert (row.status, row.actor_id) == ("executed", "chloe")
    assert refreshes()[-1].actor_id == suggestion_refresh.SYSTEM_ACTOR


def test_status_filter_and_roles(
    failing: Any, outsider: APIClient, anonymous: APIClient, finance_ops: APIClient
) -> None:
    (item,) = listed(finance_ops)
    declined = decline(
        finance_ops, Suggestion.objects.get(pk=item["id"]), {"reason": "planned"}
    )
    assert declined.status_code == 200
    assert listed(finance_ops) == []
    assert [s["id"] for s in listed(finance_ops, "?status=declined")] == [item["id"]]
    assert finance_ops.get("/api/ops/suggestions?status=nope").status_code == 400
    assert outsider.get("/api/ops/suggestions").status_code == 403
    assert anonymous.get("/api/ops/suggestions").status_code == 401


# --- from SIRA ------------------------------------------------------------------------


def test_sira_suggestions_when_sira_answers(
    failing: Any, ops: APIClient, settings: Any
) -> None:
    with running() as server:
        settings.SIRA_URL = server.url
        (item,) = listed(ops)
    assert item["source"] == "sira"
    assert item["title"] == "Optimise routing of pending payouts"
    assert item["confidence"] == "0.820"
    assert item["action"]["action_type"] == "generate_plan"
    assert refreshes()[-1].details["source"] == "sira"


@pytest.mark.parametrize("mode", ["error", "schema", "slow"])
def test_local_suggestions_when_sira_fails(
    failing: Any, ops: APIClient, settings: Any, mode: str
) -> None:
    with running(mode=mode, slow_seconds=2) as server:
        settings.SIRA_URL = server.url
        (item,) = listed(ops)
        assert len(server.requests) == 1  # one try: a person is waiting
    assert item["source"] == "heuristic"
    assert item["action"]["action_type"] == "pause_bank"
    reason = {"error": "server_error", "schema": "invalid_response", "slow": "timeout"}
    assert refreshes()[-1].details["fallback_reason"] == reason[mode]


# --- accept ---------------------------------------------------------------------------


def test_accept_runs_the_action_as_the_caller(
    failing: Any, pay_admin: APIClient
) -> None:
    (item,) = listed(pay_admin)
    suggestion = Suggestion.objects.get(pk=item["id"])
    resp = accept(pay_admin, suggestion, key="acc-1")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["suggestion"]["status"] == "accepted"
    assert body["suggestion"]["decided_by"] == "alice"
    assert body["result"]["control"]["key"] == pause_bank_key(failing.id)
    assert is_paused(failing)

    accepted = OpsActionLog.objects.get(action_type="accept_suggestion")
    paused = OpsActionLog.objects.get(action_type="pause_bank")
    assert body["log"]["id"] == str(accepted.id)
    assert body["result"]["log"]["id"] == str(paused.id)
    assert (accepted.actor_id, accepted.actor_role, accepted.status) == (
        "alice",
        "pay_admin",
        "executed",
    )
    assert (paused.actor_id, paused.actor_role, paused.status) == (
        "alice",
        "pay_admin",
        "executed",
    )
    assert accepted.target["proposed_action_id"] == str(paused.action_id)
    suggestion.refresh_from_db()
    assert suggestion.result["action_id"] == str(paused.action_id)

    again = accept(pay_admin, suggestion, key="acc-1")
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["Idempotent-Replayed"] == "true"
    other = accept(pay_admin, suggestion, key="acc-2")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "suggestion_closed"
    assert OpsActionLog.objects.filter(action_type="pause_bank").count() == 1


def test_a_role_that_cannot_run_the_action_gets_403(
    failing: Any, finance_ops: APIClient, ops: APIClient, outsider: APIClient
) -> None:
    (item,) = listed(ops)
    suggestion = Suggestion.objects.get(pk=item["id"])
    for client in (finance_ops, ops):  # pause_bank is pay_admin's
        resp = accept(client, suggestion)
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "forbidden"
    resp = accept(outsider, suggestion)
    assert resp.status_code == 403
    assert not is_paused(failing)
    suggestion.refresh_from_db()
    assert suggestion.status == "open"
    rejected = OpsActionLog.objects.filter(action_type="accept_suggestion")
    assert {r.status for r in rejected} == {"rejected"}
    assert not OpsActionLog.objects.filter(action_type="pause_bank").exists()


def test_accepting_a_dangerous_action_asks_for_signatures(
    db: None, pay_admin: APIClient
) -> None:
    suggestion = make()  # a global freeze: 2 signatures (DESIGN §7)
    resp = accept(pay_admin, suggestion)
    assert resp.status_code == 202, resp.json()
    body = resp.json()
    approval = body["result"]["approval"]
    assert approval["action_type"] == "freeze_payouts"
    assert approval["required_approvals"] == 2
    assert approval["initiator_id"] == "alice"
    assert body["suggestion"]["status"] == "accepted"
    assert body["suggestion"]["result"]["status"] == "requested"
    requested = OpsActionLog.objects.get(action_type="freeze_payouts")
    assert (requested.status, requested.actor_id) == ("requested", "alice")
    assert not TreasuryControl.objects.filter(
        key="freeze_global", enabled=True
    ).exists()


def test_accepting_a_plan_suggestion_generates_the_plan(
    db: None, ops: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    (item,) = listed(ops)
    with django_capture_on_commit_callbacks(execute=True):
        resp = accept(ops, Suggestion.objects.get(pk=item["id"]))
    assert resp.status_code == 202, resp.json()
    plan = Plan.objects.get(pk=resp.json()["result"]["plan"]["id"])
    assert plan.status == "pending" and plan.created_by == "chloe"
    assert OpsActionLog.objects.get(action_type="generate_plan").actor_id == "chloe"
    # accepted lately: not proposed again at once
    assert listed(ops) == []


def test_a_refused_action_leaves_the_suggestion_open(
    failing: Any, pay_admin: APIClient
) -> None:
    (item,) = listed(pay_admin)
    suggestion = Suggestion.objects.get(pk=item["id"])
    runner.run(
        "pause_bank",
        system_principal("breaker"),
        {"bank_profile_id": str(failing.id), "reason": "breaker"},
    )
    resp = accept(pay_admin, suggestion)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "bank_already_paused"
    suggestion.refresh_from_db()
    assert suggestion.status == "open"
    rejected = OpsActionLog.objects.get(action_type="accept_suggestion")
    assert rejected.details["code"] == "bank_already_paused"
    # the proposed action's own row was undone with the acceptance
    assert OpsActionLog.objects.filter(action_type="pause_bank").count() == 1


def test_a_stale_payload_is_422(db: None, pay_admin: APIClient) -> None:
    suggestion = make(action_type="pause_bank", payload={"bank_profile_id": "nope"})
    resp = accept(pay_admin, suggestion)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "suggestion_invalid"
    assert "bank_profile_id" in resp.json()["error"]["fields"]
    suggestion.refresh_from_db()
    assert suggestion.status == "open"


def test_an_action_not_allowed_for_suggestions_is_refused(
    db: None, pay_admin: APIClient
) -> None:
    suggestion = make(action_type="approve", payload={})
    resp = accept(pay_admin, suggestion)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "suggestion_action_unknown"


def test_accept_unknown_and_bad_ids(db: None, pay_admin: APIClient) -> None:
    resp = post_action(pay_admin, f"suggestions/{uuid.uuid4()}/accept", {})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "suggestion_not_found"
    assert post_action(pay_admin, "suggestions/nope/accept", {}).status_code == 404
    resp = post_action(pay_admin, f"suggestions/{uuid.uuid4()}/accept", [])
    assert resp.status_code == 400


# --- decline --------------------------------------------------------------------------


def test_decline_records_the_decision(failing: Any, ops: APIClient) -> None:
    (item,) = listed(ops)
    suggestion = Suggestion.objects.get(pk=item["id"])
    resp = decline(ops, suggestion, {"reason": "known maintenance"}, key="dec-1")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["suggestion"]["status"] == "declined"
    assert body["suggestion"]["decided_by"] == "chloe"
    assert body["suggestion"]["result"] == {"reason": "known maintenance"}
    row = OpsActionLog.objects.get(action_type="decline_suggestion")
    assert (row.status, row.actor_role) == ("executed", "ops")
    assert row.details["reason"] == "known maintenance"
    assert not is_paused(failing)

    again = decline(ops, suggestion, {"reason": "known maintenance"}, key="dec-1")
    assert again.json() == body and again.headers["Idempotent-Replayed"] == "true"
    other = decline(ops, suggestion, {"reason": "again"}, key="dec-2")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "suggestion_closed"
    assert accept(ops, suggestion).status_code in {403, 409}
    # declined: not proposed again while the snooze lasts
    assert listed(ops) == []


def test_decline_refusals(failing: Any, outsider: APIClient, ops: APIClient) -> None:
    (item,) = listed(ops)
    suggestion = Suggestion.objects.get(pk=item["id"])
    assert decline(outsider, suggestion, {"reason": "no"}).status_code == 403
    # a reason is required, and spaces are none
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        resp = decline(ops, suggestion, body)
        assert resp.status_code == 400, body
        assert "reason" in resp.json()["error"]["fields"], body
    assert decline(ops, suggestion, {"reason": "no"}, key=None).status_code == 400
    resp = post_action(
        ops, f"suggestions/{uuid.uuid4()}/decline", {"reason": "unknown"}
    )
    assert resp.status_code == 404
    suggestion.refresh_from_db()
    assert suggestion.status == "open"


# --- concurrent decisions -----------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_accepts_run_the_action_once(tx_db: None, client_for: Any) -> None:
    bank = BankProfileFactory(success_rate=Decimal("0.5"))
    suggestion = make(
        action_type="pause_bank",
        payload={"bank_profile_id": str(bank.id), "reason": "suggested"},
    )
    admins = [client_for("pay_admin", sub=f"admin-{i}") for i in range(4)]
    results = race(4, lambda i: accept(admins[i], suggestion).status_code)
    assert sorted(results) == [200, 409, 409, 409]
    assert (
        OpsActionLog.objects.filter(action_type="pause_bank", status="executed").count()
        == 1
    )
    suggestion.refresh_from_db()
    assert suggestion.status == "accepted"
    assert is_paused(bank)
