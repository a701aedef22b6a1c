"""Controls past expires_at: inactive on every read at once; beat closes them
with one system action (DESIGN §9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.keys import freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl
from controls.tasks import expire_controls
from molam_ops.actions import runner
from molam_ops.celery import app as celery_app
from molam_ops.errors import OpsError
from molam_ops.identity import Principal, system_principal
from tests.factories import BankProfileFactory
from tests.helpers import assert_error, post_action

# not module-wide: the PostgreSQL race test uses tx_db, whose trigger handling
# must wrap the flush that a django_db mark would set up first
db = pytest.mark.django_db


def control(client: APIClient, key: str) -> dict[str, Any]:
    resp = client.get("/api/ops/controls", {"key": key, "active": "all"})
    assert resp.status_code == 200, resp.json()
    [row] = resp.json()["results"]
    return row


def active_keys(client: APIClient) -> set[str]:
    resp = client.get("/api/ops/controls", {"active": "true"})
    assert resp.status_code == 200, resp.json()
    return {c["key"] for c in resp.json()["results"]}


def bank_row(client: APIClient, bank: Any) -> dict[str, Any]:
    resp = client.get("/api/ops/banks")
    assert resp.status_code == 200, resp.json()
    [row] = [b for b in resp.json()["results"] if b["id"] == str(bank.id)]
    return row


def expiry_rows() -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(action_type="expire_controls").order_by("seq")
    )


def pause(client: APIClient, bank: Any, until: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "r"}
    resp = post_action(client, "pause-bank", {**body, "expires_at": until.isoformat()})
    assert resp.status_code == 200, resp.json()


def freeze(client: APIClient, bank: Any, ttl: int) -> None:
    body = {
        "scope": {"bank_profile_id": str(bank.id)},
        "reason": "r",
        "ttl_seconds": ttl,
    }
    resp = post_action(client, "freeze-payouts", body)
    assert resp.status_code == 200, resp.json()


@db
def test_an_expired_control_is_inactive_on_every_read_at_once(
    pay_admin: APIClient, bank: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        pause(pay_admin, bank, start + timedelta(minutes=10))
        freeze(pay_admin, bank, ttl=300)
        pause_key, freeze_key = pause_bank_key(bank.id), freeze_bank_key(bank.id)
        assert active_keys(pay_admin) == {pause_key, freeze_key}
        row = bank_row(pay_admin, bank)
        assert (row["paused"], row["frozen"], row["freeze_scope"]) == (
            True,
            True,
            "bank",
        )

        traveller.move_to(start + timedelta(seconds=300))  # the freeze's ttl
        assert control(pay_admin, freeze_key)["active"] is False
        assert control(pay_admin, freeze_key)["enabled"] is True  # beat not run
        assert active_keys(pay_admin) == {pause_key}
        row = bank_row(pay_admin, bank)
        assert (row["paused"], row["frozen"], row["freeze_scope"]) == (
            True,
            False,
            None,
        )

        traveller.move_to(start + timedelta(minutes=10))
        assert control(pay_admin, pause_key)["active"] is False
        assert active_keys(pay_admin) == set()
        assert bank_row(pay_admin, bank)["paused"] is False
        inactive = pay_admin.get("/api/ops/controls", {"active": "false"}).json()
        assert {c["key"] for c in inactive["results"]} == {pause_key, freeze_key}
        # and writes see it too: the bank can be paused again at once
        pause(pay_admin, bank, start + timedelta(hours=1))
        assert control(pay_admin, pause_key)["active"] is True
    assert not expiry_rows()  # reads never needed beat


@db
def test_beat_closes_expired_controls_with_one_system_row(
    pay_admin: APIClient, bank: Any
) -> None:
    other = BankProfileFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        pause(pay_admin, bank, start + timedelta(minutes=1))
        freeze(pay_admin, bank, ttl=60)
        pause(pay_admin, other, start + timedelta(hours=1))  # not due
        assert expire_controls() == 0  # nothing due: no action, no row
        assert not expiry_rows()

        traveller.move_to(start + timedelta(minutes=2))
        assert expire_controls() == 2

        closed = {pause_bank_key(bank.id), freeze_bank_key(bank.id)}
        for key in closed:
            row = TreasuryControl.objects.get(key=key)
            assert row.enabled is False
            assert row.updated_by == "beat"
            assert row.expires_at == start + timedelta(minutes=1)  # kept
        assert TreasuryControl.objects.get(key=pause_bank_key(other.id)).enabled
        [row] = expiry_rows()
        assert (row.status, row.actor_id, row.actor_role) == (
            "executed",
            "beat",
            "system",
        )
        assert set(row.details["keys"]) == closed
        assert row.details["closed"] == 2
        assert set(row.target["control_keys"]) == closed

        # run again (beat twice, two workers): nothing left, no second row
        assert expire_controls() == 0
        assert len(expiry_rows()) == 1
        # the pause of the other bank closes on its own time
        traveller.move_to(start + timedelta(hours=1))
        assert expire_controls() == 1
        assert expiry_rows()[-1].details["keys"] == [pause_bank_key(other.id)]


@db
def test_a_control_lifted_or_renewed_is_not_closed(
    pay_admin: APIClient, bank: Any
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        pause(pay_admin, bank, start + timedelta(minutes=1))
        resume = {"bank_profile_id": str(bank.id)}
        assert post_action(pay_admin, "resume-bank", resume).status_code == 200
        traveller.move_to(start + timedelta(minutes=2))
        assert expire_controls() == 0  # lifted by a person before it lapsed
        pause(pay_admin, bank, start + timedelta(minutes=30))  # renewed
        assert expire_controls() == 0
        assert control(pay_admin, pause_bank_key(bank.id))["active"] is True
    assert not expiry_rows()


@db
def test_expire_controls_is_for_the_system_only(pay_admin: APIClient) -> None:
    person = Principal(id="alice", roles=frozenset({"pay_admin"}))
    with pytest.raises(OpsError) as exc:
        runner.run("expire_controls", person, {})
    assert (exc.value.status, exc.value.code) == (403, "forbidden")
    [row] = expiry_rows()
    assert (row.status, row.actor_id) == ("rejected", "alice")
    # and it is not on the HTTP surface
    resp = post_action(pay_admin, "expire-controls", {})
    assert_error(resp, 404, "not_found")


@db
def test_expire_controls_replays_and_refuses_bad_input(bank: Any) -> None:
    TreasuryControl.objects.create(
        key=pause_bank_key(bank.id),
        enabled=True,
        expires_at=timezone.now() - timedelta(seconds=1),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    beat = system_principal("beat")
    first = runner.run("expire_controls", beat, {}, idempotency_key="sweep-1")
    again = runner.run("expire_controls", beat, {}, idempotency_key="sweep-1")
    assert again.replayed is True
    assert again.body == first.body
    assert first.body["log"]["details"]["closed"] == 1
    assert len(expiry_rows()) == 1

    with pytest.raises(OpsError) as exc:
        runner.run("expire_controls", beat, ["not", "an", "object"])
    assert (exc.value.status, exc.value.code) == (400, "validation_error")
    assert expiry_rows()[-1].status == "rejected"


@db
def test_the_task_is_on_the_beat_schedule() -> None:
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "controls.tasks.expire_controls"
    ]
    assert len(entries) == 1
    assert 0 < float(entries[0]["schedule"]) <= 60
    assert "controls.tasks.expire_controls" in celery_app.tasks


@pytest.mark.postgres
def test_two_sweeps_at_once_close_each_control_once(tx_db: None) -> None:
    from tests.molam_ops.test_idempotency_concurrency import _race

    now = timezone.now()
    banks = [BankProfileFactory() for _ in range(6)]
    for bank in banks:
        TreasuryControl.objects.create(
            key=pause_bank_key(bank.id),
            enabled=True,
            expires_at=now - timedelta(seconds=1),
            created_at=now,
            updated_at=now,
        )

    results = _race(3, lambda _i: expire_controls())

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == 6
    reported = [k for row in expiry_rows() for k in row.details["keys"]]
    assert sorted(reported) == sorted(pause_bank_key(b.id) for b in banks)
    assert not TreasuryControl.objects.filter(enabled=True).exists()
