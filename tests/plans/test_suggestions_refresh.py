"""When the suggestions are refreshed: a read never asks SIRA (a real, slow
SIRA server sees no request and the read answers at once); a bank's health
changing, or a pause or a freeze switched on or off (by hand or by beat's
expiry), queues a refresh, one per burst of changes; a suggestion whose
action is already in force is not proposed."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from controls.tasks import expire_controls
from payouts import breaker
from plans.models import Suggestion
from plans.services import suggestion_refresh
from tests.factories import BankProfileFactory
from tests.helpers import assert_error, post_action
from tests.plans.sira_helpers import running


@pytest.fixture(autouse=True)
def _sira(settings: Any) -> None:
    settings.SIRA_URL = ""
    settings.SIRA_TIMEOUT_SECONDS = 5
    settings.SIRA_BACKOFF_SECONDS = 0.01
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 1


def fail_once(bank: Any, on_commit: Any) -> list[Any]:
    """One failed payout at ``bank``, as the dispatcher records it; what it
    queued for after its commit, run."""
    with on_commit(execute=True) as callbacks, transaction.atomic():
        breaker.record_outcome(bank.id, ok=False, latency_ms=120, now=timezone.now())
    return list(callbacks)


def test_reading_never_calls_sira(db: None, ops: APIClient, settings: Any) -> None:
    BankProfileFactory(success_rate=Decimal("0.5"))  # something to suggest
    with running(mode="slow", slow_seconds=5) as server:
        settings.SIRA_URL = server.url
        started = time.monotonic()
        listed = ops.get("/api/ops/suggestions")
        summary = ops.get("/api/metrics/summary")
        elapsed = time.monotonic() - started
        assert server.requests == []
    assert listed.status_code == 200, listed.content
    assert summary.status_code == 200, summary.content
    # SIRA would have taken 5 s (its timeout): the reads did not wait for it
    assert elapsed < 1.0, elapsed
    assert listed.json()["results"] == []
    assert summary.json()["summary"]["suggestions"]["open"] == 0


def test_a_bank_turning_red_refreshes_the_suggestions(
    db: None, ops: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    bank = BankProfileFactory(name="Banque Fragile")
    assert ops.get("/api/ops/suggestions").json()["results"] == []
    fail_once(bank, django_capture_on_commit_callbacks)
    bank.refresh_from_db()
    assert bank.status == "red"
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"
    assert item["action"]["payload"]["bank_profile_id"] == str(bank.id)
    summary = ops.get("/api/metrics/summary").json()["summary"]
    assert summary["suggestions"]["open"] == 1


def test_an_outcome_that_changes_no_colour_queues_nothing(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    bank = BankProfileFactory()
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        breaker.record_outcome(bank.id, ok=True, latency_ms=80, now=timezone.now())
    assert callbacks == []
    assert not Suggestion.objects.exists()


def test_a_burst_of_changes_asks_sira_at_its_start_and_once_for_its_tail(
    db: None, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first, second, third, fourth = BankProfileFactory.create_batch(4)
    with running() as server:
        settings.SIRA_URL = server.url
        fail_once(first, django_capture_on_commit_callbacks)
        fail_once(second, django_capture_on_commit_callbacks)
        fail_once(third, django_capture_on_commit_callbacks)
        # the first change asked at once; the others wait for the window's end
        assert [path for _m, path, _mode in server.requests] == ["/api/suggestions"]
        assert suggestion_refresh.refresh_if_changed() is False  # window open
        assert len(server.requests) == 1
        time.sleep(1.1)  # the window is over: beat's sweep asks once for the tail
        assert suggestion_refresh.refresh_if_changed() is True
        assert len(server.requests) == 2
        time.sleep(1.1)
        assert suggestion_refresh.refresh_if_changed() is False  # nothing new
        fail_once(fourth, django_capture_on_commit_callbacks)
        assert len(server.requests) == 3  # a new burst: asked at once
    assert Suggestion.objects.filter(source="sira", status="open").exists()


# --- a control switched on or off refreshes them too ----------------------------------


def switched(client: APIClient, on_commit: Any, action: str, body: Any) -> Any:
    """POST the action; what it queued for after its commit, run."""
    with on_commit(execute=True):
        return post_action(client, action, body)


def open_count(client: APIClient) -> int:
    return client.get("/api/metrics/summary").json()["summary"]["suggestions"]["open"]


def sira_asked(server: Any) -> int:
    return sum(1 for _m, path, _mode in server.requests if path == "/api/suggestions")


def test_pausing_a_red_bank_closes_the_suggestion_to_pause_it(
    db: None,
    ops: APIClient,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0  # each change refreshes at once
    bank = BankProfileFactory(name="Banque Fragile")
    fail_once(bank, django_capture_on_commit_callbacks)
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"
    assert open_count(ops) == 1

    body = {"bank_profile_id": str(bank.id), "reason": "failing"}
    resp = switched(pay_admin, django_capture_on_commit_callbacks, "pause-bank", body)
    assert resp.status_code == 200, resp.json()

    assert ops.get("/api/ops/suggestions").json()["results"] == []
    assert open_count(ops) == 0
    assert Suggestion.objects.get(pk=item["id"]).status == "expired"


def test_resuming_a_bank_refreshes_the_suggestions(
    db: None,
    ops: APIClient,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0
    bank = BankProfileFactory()  # healthy: once paused, a resume is proposed
    body = {"bank_profile_id": str(bank.id), "reason": "maintenance"}
    resp = switched(pay_admin, django_capture_on_commit_callbacks, "pause-bank", body)
    assert resp.status_code == 200, resp.json()
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "resume_bank"
    assert open_count(ops) == 1

    resp = switched(pay_admin, django_capture_on_commit_callbacks, "resume-bank", body)
    assert resp.status_code == 200, resp.json()
    assert ops.get("/api/ops/suggestions").json()["results"] == []
    assert open_count(ops) == 0


def test_a_pause_hidden_by_a_freeze_still_counts_as_a_pause(
    db: None,
    ops: APIClient,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A frozen bank may be paused too; the dispatch gate then reports only
    the freeze, but the suggestion to pause it goes all the same."""
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0
    bank = BankProfileFactory(success_rate=Decimal("0.5"))
    freeze = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "audit"}
    resp = switched(
        pay_admin, django_capture_on_commit_callbacks, "freeze-payouts", freeze
    )
    assert resp.status_code == 200, resp.json()
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"

    pause = {"bank_profile_id": str(bank.id), "reason": "failing"}
    resp = switched(pay_admin, django_capture_on_commit_callbacks, "pause-bank", pause)
    assert resp.status_code == 200, resp.json()
    assert ops.get("/api/ops/suggestions").json()["results"] == []
    # recovered, it is offered a resume, frozen or not
    bank.success_rate = Decimal("0.99")
    bank.save()
    suggestion_refresh.refresh()
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "resume_bank"


def test_a_freeze_refreshes_and_drops_sira_s_suggestion_to_freeze(
    db: None,
    ops: APIClient,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0
    bank = BankProfileFactory(name="Banque Douteuse")
    scope = {"bank_profile_id": str(bank.id).upper()}  # SIRA's spelling
    freeze_it = {
        "id": "sira-freeze-1",
        "title": "Freeze payouts to Banque Douteuse",
        "confidence": "0.700",
        "action": {
            "action_type": "freeze_payouts",
            "payload": {"scope": scope, "reason": "suspicious"},
        },
    }
    body = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "suspicious"}
    with running(suggestions=[freeze_it]) as server:
        settings.SIRA_URL = server.url
        switched(ops, django_capture_on_commit_callbacks, "refresh-suggestions", {})
        (item,) = ops.get("/api/ops/suggestions").json()["results"]
        assert item["action"]["action_type"] == "freeze_payouts"
        assert sira_asked(server) == 1

        resp = switched(
            pay_admin, django_capture_on_commit_callbacks, "freeze-payouts", body
        )
        assert resp.status_code == 200, resp.json()
        assert sira_asked(server) == 2
        # SIRA still proposes it; it is in force, so it is not proposed here
        assert ops.get("/api/ops/suggestions").json()["results"] == []
        assert open_count(ops) == 0

        resp = switched(
            pay_admin, django_capture_on_commit_callbacks, "unfreeze-payouts", body
        )
        assert resp.status_code == 200, resp.json()
        assert sira_asked(server) == 3
        (again,) = ops.get("/api/ops/suggestions").json()["results"]
        assert again["action"]["action_type"] == "freeze_payouts"


def test_a_lapsed_pause_closed_by_beat_brings_the_suggestion_back(
    db: None,
    ops: APIClient,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0
    bank = BankProfileFactory(success_rate=Decimal("0.5"))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        body = {
            "bank_profile_id": str(bank.id),
            "reason": "failing",
            "expires_at": (start + timedelta(minutes=1)).isoformat(),
        }
        resp = switched(
            pay_admin, django_capture_on_commit_callbacks, "pause-bank", body
        )
        assert resp.status_code == 200, resp.json()
        assert ops.get("/api/ops/suggestions").json()["results"] == []

        traveller.move_to(start + timedelta(minutes=2))
        with django_capture_on_commit_callbacks(execute=True):
            assert expire_controls() == 1
    (item,) = ops.get("/api/ops/suggestions").json()["results"]
    assert item["action"]["action_type"] == "pause_bank"
    assert item["action"]["payload"]["bank_profile_id"] == str(bank.id)
    assert open_count(ops) == 1


def test_a_switch_that_changes_nothing_queues_nothing(
    db: None,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.SUGGESTIONS_DEBOUNCE_SECONDS = 0  # every change would ask SIRA
    bank = BankProfileFactory()
    body = {"bank_profile_id": str(bank.id), "reason": "maintenance"}
    scope = {"scope": {"bank_profile_id": str(bank.id)}, "reason": "x"}
    with running() as server:
        settings.SIRA_URL = server.url
        resume = switched(
            pay_admin, django_capture_on_commit_callbacks, "resume-bank", body
        )
        assert_error(resume, 409, "bank_not_paused")
        unfreeze = switched(
            pay_admin, django_capture_on_commit_callbacks, "unfreeze-payouts", scope
        )
        assert_error(unfreeze, 409, "not_frozen")
        assert sira_asked(server) == 0

        pause = switched(
            pay_admin, django_capture_on_commit_callbacks, "pause-bank", body
        )
        assert pause.status_code == 200, pause.json()
        assert sira_asked(server) == 1
        again = switched(
            pay_admin, django_capture_on_commit_callbacks, "pause-bank", body
        )
        assert_error(again, 409, "bank_already_paused")
        assert sira_asked(server) == 1


def test_a_pause_within_a_health_changes_window_shares_its_refresh(
    db: None,
    pay_admin: APIClient,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bank = BankProfileFactory()
    body = {"bank_profile_id": str(bank.id), "reason": "failing"}
    with running() as server:
        settings.SIRA_URL = server.url
        fail_once(bank, django_capture_on_commit_callbacks)
        assert sira_asked(server) == 1
        pause = switched(
            pay_admin, django_capture_on_commit_callbacks, "pause-bank", body
        )
        assert pause.status_code == 200, pause.json()
        assert sira_asked(server) == 1  # left to the sweep at the window's end
        time.sleep(1.1)  # the window is over: the next switch refreshes
        resume = switched(
            pay_admin, django_capture_on_commit_callbacks, "resume-bank", body
        )
        assert resume.status_code == 200, resume.json()
        assert sira_asked(server) == 2
