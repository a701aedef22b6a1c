"""switch_control: what turning a control on or off leaves in the row, the
refusals (None, the actions' 409), and the one-of-many-callers guarantee on
PostgreSQL, including a caller that blocks on the winner's uncommitted row."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import translation

from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from controls.services._common import bank_or_404, switch_control
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from molam_ops.tokens import mint
from tests.concurrency import race
from tests.factories import BankProfileFactory
from tests.helpers import post_action

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BEFORE = NOW - timedelta(days=1)
STATES: dict[str, dict[str, Any]] = {
    "off": {"enabled": False, "expires_at": None},
    "on": {"enabled": True, "expires_at": None},
    "on-until-later": {"enabled": True, "expires_at": NOW + timedelta(hours=1)},
    "expired": {"enabled": True, "expires_at": NOW - timedelta(seconds=1)},
}
ACTIVE = {"on", "on-until-later"}


def _ctx(actor: str = "alice") -> ActionContext:
    return ActionContext(
        action_id=uuid.uuid4(),
        action_type="pause_bank",
        principal=Principal(id=actor, roles=frozenset({"pay_admin"})),
        role="pay_admin",
    )


def _seed(key: str, existing: str) -> None:
    if existing == "none":
        return
    TreasuryControl.objects.create(
        key=key,
        value={"reason": "before"},
        description_en="Paused before",
        description_fr="Suspendue avant",
        updated_by="bruno",
        created_at=BEFORE,
        updated_at=BEFORE,
        **STATES[existing],
    )


def _on(actor: str = "alice", key: str = "k") -> TreasuryControl | None:
    return switch_control(
        _ctx(actor),
        key=key,
        on=True,
        value={"bank_profile_id": "b-1", "reason": "timeouts"},
        expires_at=NOW + timedelta(minutes=5),
        description="Bank B paused: timeouts",
    )


def _off(actor: str = "alice", key: str = "k") -> TreasuryControl | None:
    return switch_control(
        _ctx(actor), key=key, on=False, value={}, expires_at=None, description=""
    )


def _stored(key: str = "k") -> dict[str, Any] | None:
    names = [f.attname for f in TreasuryControl._meta.concrete_fields]
    return TreasuryControl.objects.filter(key=key).values(*names).first()


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("existing", ["none", "off", "expired"])
def test_turning_on_an_inactive_control_switches_it(lang: str, existing: str) -> None:
    _seed("k", existing)
    with time_machine.travel(NOW, tick=False), translation.override(lang):
        control = _on()
        assert control is not None
        assert control.is_active()

    stored = TreasuryControl.objects.get(key="k")
    assert control.pk == stored.pk
    assert stored.enabled is True
    assert stored.value == {"bank_profile_id": "b-1", "reason": "timeouts"}
    assert stored.expires_at == NOW + timedelta(minutes=5)
    assert (stored.updated_by, stored.updated_at) == ("alice", NOW)
    assert stored.created_at == (NOW if existing == "none" else BEFORE)
    # stored in the active language's column; the other one is left alone
    other = "fr" if lang == "en" else "en"
    assert getattr(stored, f"description_{lang}") == "Bank B paused: timeouts"
    assert getattr(stored, f"description_{other}") in (
        {"", None} if existing == "none" else {"Paused before", "Suspendue avant"}
    )
    with translation.override(lang):
        assert stored.description == "Bank B paused: timeouts"


@pytest.mark.django_db
@pytest.mark.parametrize("existing", sorted(ACTIVE))
def test_turning_on_an_active_control_is_refused_and_changes_nothing(
    existing: str,
) -> None:
    _seed("k", existing)
    before = _stored()

    with time_machine.travel(NOW, tick=False):
        assert _on() is None

    assert _stored() == before
    assert TreasuryControl.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("existing", sorted(ACTIVE))
def test_turning_off_an_active_control_keeps_its_row(existing: str) -> None:
    _seed("k", existing)
    before = _stored()
    assert before is not None

    with time_machine.travel(NOW, tick=False):
        control = _off(actor="carla")

    assert control is not None
    assert control.is_active(NOW) is False
    after = _stored()
    assert after == {
        **before,
        "enabled": False,
        "updated_by": "carla",
        "updated_at": NOW,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("existing", ["none", "off", "expired"])
def test_turning_off_an_inactive_control_is_refused_and_changes_nothing(
    existing: str,
) -> None:
    _seed("k", existing)
    before = _stored()

    with time_machine.travel(NOW, tick=False):
        assert _off() is None

    assert _stored() == before  # and no row when there was none


@pytest.mark.django_db
def test_the_bank_is_loaded_with_its_name_only(
    django_assert_num_queries: Any,
) -> None:
    bank = BankProfileFactory(name_en="Ecobank", name_fr="Ecobanque")

    with django_assert_num_queries(1):
        loaded = bank_or_404(str(bank.id))
        with translation.override("fr"):
            assert loaded.name == "Ecobanque"
        with translation.override("en"):
            assert loaded.name == "Ecobank"

    assert loaded.pk == bank.pk
    assert loaded.get_deferred_fields() >= {"code", "currencies", "fee_percent"}
    assert loaded.code == bank.code  # a deferred field still loads
    with pytest.raises(OpsError) as exc:
        bank_or_404(uuid.uuid4())
    assert (exc.value.status, exc.value.code) == (404, "bank_not_found")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("action", "existing"),
    [("pause-bank", "none"), ("pause-bank", "off"), ("resume-bank", "on")],
)
def test_of_ten_callers_one_switches_the_control(
    tx_db: None, action: str, existing: str
) -> None:
    bank = BankProfileFactory()
    key = pause_bank_key(bank.id)
    _seed(key, existing)
    tokens = [mint(sub=f"racer-{i}", roles=["pay_admin"]) for i in range(10)]
    body = {"bank_profile_id": str(bank.id), "reason": "race"}

    def call(i: int) -> int:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        return post_action(client, action, body).status_code

    results = race(10, call)

    assert sorted(results) == [200] + [409] * 9, results
    control = TreasuryControl.objects.get(key=key)
    assert control.enabled is (action == "pause-bank")
    assert control.updated_by.startswith("racer-")
    assert connection.vendor == "postgresql"


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("existing", "on"), [("none", True), ("off", True), ("on", False)]
)
def test_a_caller_blocked_by_the_winner_finds_the_switch_made(
    tx_db: None, existing: str, on: bool
) -> None:
    """The second caller's statement waits on the first caller's uncommitted
    row (the UPDATE's row lock, or the INSERT's unique index entry), then
    re-checks the committed state and changes nothing."""
    _seed("k", existing)
    switch = _on if on else _off
    first_switched, release_first = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = switch("first")
                first_switched.set()
                release_first.wait(10)
        finally:
            connection.close()

    def second() -> None:
        first_switched.wait(10)
        try:
            with transaction.atomic():
                results["second"] = switch("second")
        except Exception as exc:  # reported by the assertions below
            results["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    # time_machine leaves time.monotonic alone, which the waits below use
    with time_machine.travel(NOW, tick=False):
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock():
            assert time.monotonic() < deadline, "the second caller never blocked"
        release_first.set()
        for t in threads:
            t.join(10)

    assert isinstance(results["first"], TreasuryControl)
    assert results["second"] is None
    control = TreasuryControl.objects.get(key="k")
    assert (control.enabled, control.updated_by) == (on, "first")
