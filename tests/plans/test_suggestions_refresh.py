"""When the suggestions are refreshed: a read never asks SIRA (a real, slow
SIRA server sees no request and the read answers at once); a bank's health
changing queues a refresh, one per burst of changes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from payouts import breaker
from plans.models import Suggestion
from tests.factories import BankProfileFactory
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


def test_a_burst_of_changes_asks_sira_once(
    db: None, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first, second, third = BankProfileFactory.create_batch(3)
    with running() as server:
        settings.SIRA_URL = server.url
        fail_once(first, django_capture_on_commit_callbacks)
        fail_once(second, django_capture_on_commit_callbacks)
        assert [path for _m, path, _mode in server.requests] == ["/api/suggestions"]
        time.sleep(1.1)  # the debounce window is over: the next change refreshes
        fail_once(third, django_capture_on_commit_callbacks)
        assert len(server.requests) == 2
    assert Suggestion.objects.filter(source="sira", status="open").exists()
