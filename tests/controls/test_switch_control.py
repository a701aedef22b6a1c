"""switch_control's one statement and control_data's plain dict, held to the
ORM code they replaced (get_or_create + conditional UPDATE + re-read, and
ControlSerializer), on both databases; and the one-of-two-callers guarantee
on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.utils import timezone, translation

from controls.keys import pause_bank_key
from controls.models import TreasuryControl, active_q
from controls.serializers import ControlSerializer, control_data
from controls.services._common import bank_or_404, switch_control
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from molam_ops.tokens import mint
from tests.concurrency import race
from tests.factories import BankProfileFactory
from tests.helpers import post_action

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _ctx(actor: str = "alice") -> ActionContext:
    return ActionContext(
        action_id=uuid.uuid4(),
        action_type="pause_bank",
        principal=Principal(id=actor, roles=frozenset({"pay_admin"})),
        role="pay_admin",
    )


def _reference(
    ctx: ActionContext,
    *,
    key: str,
    on: bool,
    value: dict[str, Any],
    expires_at: datetime | None,
    description: str,
) -> TreasuryControl | None:
    """switch_control as it was, through the ORM."""
    now = timezone.now()
    TreasuryControl.objects.get_or_create(
        key=key, defaults={"created_at": now, "updated_at": now, "enabled": False}
    )
    state = ~active_q(now) if on else active_q(now)
    changes: dict[str, Any] = {"enabled": on, "updated_by": ctx.actor_id}
    changes["updated_at"] = now
    if on:
        changes.update(value=value, expires_at=expires_at, description=description)
    if not TreasuryControl.objects.filter(Q(key=key) & state).update(**changes):
        return None
    return TreasuryControl.objects.get(key=key)


def _seed(key: str, existing: str) -> None:
    states = {
        "off": {"enabled": False, "expires_at": None},
        "on": {"enabled": True, "expires_at": None},
        "on-until-later": {"enabled": True, "expires_at": NOW + timedelta(hours=1)},
        "expired": {"enabled": True, "expires_at": NOW - timedelta(seconds=1)},
    }
    if existing == "none":
        return
    TreasuryControl.objects.create(
        key=key,
        value={"reason": "before"},
        description_en="Paused before",
        description_fr="Suspendue avant",
        updated_by="bruno",
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
        **states[existing],
    )


def _columns(key: str) -> dict[str, Any] | None:
    """Every column as stored (``values()`` would merge the translations)."""
    names = [f.attname for f in TreasuryControl._meta.concrete_fields]
    row = TreasuryControl.objects.filter(key=key).raw_values(*names).first()
    if row is not None:
        del row["id"], row["key"]
    return row


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("existing", ["none", "off", "on", "on-until-later", "expired"])
@pytest.mark.parametrize("on", [True, False])
def test_one_statement_leaves_what_the_orm_sequence_left(
    lang: str, existing: str, on: bool
) -> None:
    args: dict[str, Any] = {
        "on": on,
        "value": {"bank_profile_id": "b-1", "reason": "timeouts"} if on else {},
        "expires_at": NOW + timedelta(minutes=5) if on else None,
        "description": "Bank B paused: timeouts" if on else "",
    }
    _seed("ref", existing)
    _seed("new", existing)
    with time_machine.travel(NOW, tick=False), translation.override(lang):
        expected = _reference(_ctx(), key="ref", **args)
        got = switch_control(_ctx(), key="new", **args)
        shapes = [
            None if c is None else {**control_data(c), "id": None, "key": None}
            for c in (expected, got)
        ]

    assert (got is None) == (expected is None)
    assert shapes[1] == shapes[0]
    if got is not None:
        assert got.key == "new"
        assert got.pk == TreasuryControl.objects.get(key="new").pk
        assert got.description == expected.description  # type: ignore[union-attr]
    if existing == "none" and not on:
        # the old code left a disabled row, which every caller's refusal then
        # rolled back; now there is none to roll back
        assert _columns("new") is None
    else:
        assert _columns("new") == _columns("ref")


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("expires", [None, "past", "future"])
def test_control_data_is_what_the_serializer_renders(
    lang: str, expires: str | None
) -> None:
    when = {
        None: None,
        "past": NOW - timedelta(minutes=1),
        "future": NOW + timedelta(microseconds=1234),
    }[expires]
    control = TreasuryControl.objects.create(
        key="freeze_global",
        value={"scope": "global", "amount": "1.50", "n": [1, None]},
        enabled=True,
        expires_at=when,
        description_en="",
        description_fr="Gel global",
        updated_by="carla",
        created_at=NOW - timedelta(days=2),
        updated_at=NOW,
    )
    control = TreasuryControl.objects.get(pk=control.pk)
    with time_machine.travel(NOW, tick=False), translation.override(lang):
        fast = control_data(control)
        drf = dict(ControlSerializer(control).data)

    assert fast == drf
    assert list(fast) == list(drf)  # the same key order, so the same bytes
    assert fast["description"] == "Gel global"  # falls back to French


@pytest.mark.django_db
def test_the_bank_is_loaded_with_its_name_only() -> None:
    bank = BankProfileFactory(name_en="Ecobank", name_fr="Ecobanque")

    loaded = bank_or_404(str(bank.id))

    assert loaded.pk == bank.pk
    assert loaded.get_deferred_fields() >= {"code", "currencies", "fee_percent"}
    with translation.override("fr"):
        assert loaded.name == "Ecobanque"
    with translation.override("en"):
        assert loaded.name == "Ecobank"
    assert loaded.code == bank.code  # a deferred field still loads
    with pytest.raises(OpsError) as exc:
        bank_or_404(uuid.uuid4())
    assert (exc.value.status, exc.value.code) == (404, "bank_not_found")


@pytest.mark.postgres
@pytest.mark.parametrize("action", ["pause-bank", "resume-bank"])
def test_of_ten_callers_on_an_existing_row_one_switches_it(
    tx_db: None, action: str
) -> None:
    """The row exists (the race on a missing row is in
    tests/molam_ops/test_idempotency_concurrency.py): the conflict path of the
    INSERT and the UPDATE re-check the state on the row the winner committed."""
    from rest_framework.test import APIClient

    bank = BankProfileFactory()
    key = pause_bank_key(bank.id)
    _seed(key, "on" if action == "resume-bank" else "off")
    tokens = [mint(sub=f"racer-{i}", roles=["pay_admin"]) for i in range(10)]
    body = {"bank_profile_id": str(bank.id), "reason": "race"}

    def call(i: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        return post_action(client, action, body).status_code

    results = race(10, call)

    assert sorted(results) == [200] + [409] * 9, results
    control = TreasuryControl.objects.get(key=key)
    assert control.enabled is (action == "pause-bank")
    assert control.updated_by.startswith("racer-")
    assert connection.vendor == "postgresql"
