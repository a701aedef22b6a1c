"""molam_ops_freeze_active{scope} and molam_ops_multi_sig_pending_count are
computed from the database at every scrape of GET /metrics (issue 3 point 8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from approvals import metrics as approval_metrics
from controls import metrics as control_metrics
from controls.keys import FREEZE_GLOBAL
from controls.models import TreasuryControl
from tests.factories import BankProfileFactory
from tests.helpers import post_action

pytestmark = pytest.mark.django_db

FREEZE = "molam_ops_freeze_active"
PENDING = "molam_ops_multi_sig_pending_count"


def scrape() -> tuple[dict[str, float], float, str]:
    """({scope: value} of the freeze gauge, the pending count, the raw text)."""
    resp = Client().get("/metrics")
    assert resp.status_code == 200
    text = resp.content.decode()
    freezes: dict[str, float] = {}
    pending: list[float] = []
    for family in text_string_to_metric_families(text):
        if family.name == FREEZE:
            assert family.type == "gauge"
            freezes = {s.labels["scope"]: s.value for s in family.samples}
        elif family.name == PENDING:
            assert family.type == "gauge"
            pending = [s.value for s in family.samples]
    assert len(pending) == 1, text
    return freezes, pending[0], text


def freeze_body(scope: Any) -> dict[str, Any]:
    return {"scope": scope, "reason": "incident"}


def test_freeze_gauge_follows_bank_freezes(pay_admin: APIClient, bank: Any) -> None:
    BankProfileFactory()  # a bank never frozen has no series
    assert scrape()[:2] == ({"global": 0}, 0)

    scope = {"bank_profile_id": str(bank.id)}
    assert (
        post_action(pay_admin, "freeze-payouts", freeze_body(scope)).status_code == 200
    )
    assert scrape()[0] == {"global": 0, str(bank.id): 1}

    resp = post_action(pay_admin, "unfreeze-payouts", {"scope": scope})
    assert resp.status_code == 200
    # lifted: the series drops to 0 rather than vanishing
    assert scrape()[0] == {"global": 0, str(bank.id): 0}


def test_gauges_follow_a_global_freeze_through_its_approval(
    client_for: Callable[..., APIClient],
) -> None:
    alice = client_for("pay_admin", sub="alice")
    resp = post_action(alice, "freeze-payouts", freeze_body("global"))
    assert resp.status_code == 202, resp.json()
    approval_id = resp.json()["approval"]["id"]
    assert scrape()[:2] == ({"global": 0}, 1)  # requested, not in force

    bruno = client_for("finance_ops", sub="bruno")
    signed = post_action(bruno, f"approve/{approval_id}", {"decision": "approve"})
    assert signed.status_code == 200, signed.json()
    assert scrape()[:2] == ({"global": 0}, 1)  # 1 of 2

    amadou = client_for("pay_admin", sub="amadou")
    signed = post_action(amadou, f"approve/{approval_id}", {"decision": "approve"})
    assert signed.json()["approval"]["status"] == "executed"
    assert scrape()[:2] == ({"global": 1}, 0)

    resp = post_action(alice, "unfreeze-payouts", {"scope": "global"})
    assert resp.status_code == 200, resp.json()
    assert scrape()[:2] == ({"global": 0}, 0)


def test_a_declined_request_leaves_the_pending_count(
    client_for: Callable[..., APIClient],
) -> None:
    alice = client_for("pay_admin", sub="alice")
    first = post_action(alice, "freeze-payouts", freeze_body("global")).json()
    assert scrape()[1] == 1
    bruno = client_for("finance_ops", sub="bruno")
    resp = post_action(
        bruno, f"approve/{first['approval']['id']}", {"decision": "decline"}
    )
    assert resp.status_code == 200, resp.json()
    assert scrape()[1] == 0


def test_expiry_shows_at_once_without_beat(
    client_for: Callable[..., APIClient], bank: Any
) -> None:
    alice = client_for("pay_admin", sub="alice")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        body = {**freeze_body({"bank_profile_id": str(bank.id)}), "ttl_seconds": 60}
        assert post_action(alice, "freeze-payouts", body).status_code == 200
        assert (
            post_action(alice, "freeze-payouts", freeze_body("global")).status_code
            == 202
        )
        assert scrape()[:2] == ({"global": 0, str(bank.id): 1}, 1)

        traveller.move_to(start + timedelta(seconds=60))
        assert scrape()[0] == {"global": 0, str(bank.id): 0}

        traveller.move_to(start + timedelta(hours=24, seconds=1))  # approval TTL
        assert scrape()[1] == 0
    # beat has not run: the rows still say enabled / pending
    assert TreasuryControl.objects.get(key=f"freeze_bank_{bank.id}").enabled


def test_values_are_read_from_the_database_at_each_scrape(bank: Any) -> None:
    """No counter: a row written by another process shows at the next scrape."""
    now = timezone.now()
    TreasuryControl.objects.create(
        key=FREEZE_GLOBAL, enabled=True, created_at=now, updated_at=now
    )
    assert scrape()[0] == {"global": 1}
    TreasuryControl.objects.filter(key=FREEZE_GLOBAL).update(enabled=False)
    assert scrape()[0] == {"global": 0}


def test_install_is_idempotent() -> None:
    control_metrics.install()
    approval_metrics.install()
    control_metrics.install()
    _freezes, _pending, text = scrape()
    assert text.count(f"# TYPE {FREEZE} gauge") == 1
    assert text.count(f"# TYPE {PENDING} gauge") == 1

    registry = CollectorRegistry()
    for _ in range(2):
        control_metrics.install(registry)
        approval_metrics.install(registry)
    families = {
        f.name: f
        for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    assert set(families) == {FREEZE, PENDING, control_metrics.BANK_PAUSED}
    assert [s.labels for s in families[FREEZE].samples] == [{"scope": "global"}]
    assert len(families[PENDING].samples) == 1


def paused() -> dict[str, float]:
    text = Client().get("/metrics").content.decode()
    return {
        s.labels["bank"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == control_metrics.BANK_PAUSED
        for s in family.samples
    }


def test_bank_paused_gauge_per_bank(pay_admin: APIClient, bank: Any) -> None:
    other = BankProfileFactory()
    assert paused() == {str(bank.id): 0, str(other.id): 0}
    body = {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert paused() == {str(bank.id): 1, str(other.id): 0}
    assert post_action(pay_admin, "resume-bank", body).status_code == 200
    assert paused() == {str(bank.id): 0, str(other.id): 0}
