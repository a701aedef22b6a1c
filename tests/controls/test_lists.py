"""GET /api/ops/controls and GET /api/ops/banks: filters, DESIGN §6 shapes,
controls read as active or not at read time, pinned query counts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl
from payouts.choices import BankStatus, CircuitState
from tests.factories import BankProfileFactory
from tests.helpers import assert_error
from tests.payouts.test_payout_list import assert_utc_iso

pytestmark = pytest.mark.django_db


def make_control(
    key: str, *, enabled: bool = True, expires_at: datetime | None = None
) -> TreasuryControl:
    now = timezone.now()
    return TreasuryControl.objects.create(
        key=key,
        enabled=enabled,
        expires_at=expires_at,
        value={"reason": "test"},
        created_at=now,
        updated_at=now,
    )


def get_ok(client: APIClient, url: str) -> dict[str, Any]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.json()
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["ok"] is True
    assert set(body) == {"ok", "count", "next", "results"}
    return body


def keys(body: dict[str, Any]) -> list[str]:
    return [c["key"] for c in body["results"]]


# --- controls -----------------------------------------------------------------


@pytest.fixture
def controls() -> dict[str, TreasuryControl]:
    soon = timezone.now() + timedelta(hours=1)
    gone = timezone.now() - timedelta(seconds=1)
    bank_1, bank_2, bank_3 = (uuid.uuid4() for _ in range(3))
    return {
        "paused": make_control(pause_bank_key(bank_1)),
        "paused_until": make_control(pause_bank_key(bank_2), expires_at=soon),
        "lapsed": make_control(pause_bank_key(bank_3), expires_at=gone),
        "lifted": make_control(freeze_bank_key(bank_1), enabled=False),
        "global": make_control(FREEZE_GLOBAL),
    }


def test_control_shape(ops: APIClient) -> None:
    until = datetime(2030, 5, 1, 8, 30, tzinfo=UTC)
    control = make_control(pause_bank_key(uuid.uuid4()), expires_at=until)

    [row] = get_ok(ops, "/api/ops/controls")["results"]

    for field in ("key", "value", "enabled", "expires_at", "active"):
        assert field in row
    assert row["id"] == str(control.id)
    assert row["key"] == control.key
    assert row["value"] == {"reason": "test"}
    assert row["enabled"] is True
    assert row["active"] is True
    assert row["expires_at"] == "2030-05-01T08:30:00Z"
    assert_utc_iso(row["created_at"])
    assert_utc_iso(row["updated_at"])


def test_active_is_computed_at_read_time(
    ops: APIClient, controls: dict[str, TreasuryControl]
) -> None:
    body = get_ok(ops, "/api/ops/controls?active=all")
    assert body["count"] == 5
    active = {c["key"]: c["active"] for c in body["results"]}
    assert active == {
        controls["paused"].key: True,
        controls["paused_until"].key: True,
        controls["lapsed"].key: False,
        controls["lifted"].key: False,
        controls["global"].key: True,
    }
    # the lapsed one is still enabled in the table: expiry alone makes it inactive
    lapsed = next(c for c in body["results"] if c["key"] == controls["lapsed"].key)
    assert lapsed["enabled"] is True


def test_the_active_controls_by_default(
    ops: APIClient, controls: dict[str, TreasuryControl]
) -> None:
    in_force = {
        controls["paused"].key,
        controls["paused_until"].key,
        controls["global"].key,
    }
    # as the product promises: the list is what is in force now
    for url in ("/api/ops/controls", "/api/ops/controls?active="):
        body = get_ok(ops, url)
        assert set(keys(body)) == in_force
        assert body["count"] == 3
        assert all(c["active"] for c in body["results"])


# the values read before as booleans still work, in any case
@pytest.mark.parametrize(("yes", "no"), [("true", "false"), ("True", "False")])
def test_filter_active(
    ops: APIClient, controls: dict[str, TreasuryControl], yes: str, no: str
) -> None:
    assert set(keys(get_ok(ops, f"/api/ops/controls?active={yes}"))) == {
        controls["paused"].key,
        controls["paused_until"].key,
        controls["global"].key,
    }
    assert set(keys(get_ok(ops, f"/api/ops/controls?active={no}"))) == {
        controls["lapsed"].key,
        controls["lifted"].key,
    }


def test_active_all_is_the_history(
    ops: APIClient, controls: dict[str, TreasuryControl]
) -> None:
    body = get_ok(ops, "/api/ops/controls?active=all")
    assert set(keys(body)) == {c.key for c in controls.values()}
    assert keys(body) == sorted(keys(body))


def test_an_unknown_active_value_is_400(ops: APIClient) -> None:
    error = assert_error(
        ops.get("/api/ops/controls?active=maybe"), 400, "validation_error"
    )
    assert "active" in error["fields"]


def test_filter_prefix_and_key(
    ops: APIClient, controls: dict[str, TreasuryControl]
) -> None:
    pauses = keys(get_ok(ops, "/api/ops/controls?prefix=pause_bank_&active=all"))
    assert set(pauses) == {
        controls["paused"].key,
        controls["paused_until"].key,
        controls["lapsed"].key,
    }
    assert pauses == sorted(pauses)
    active_pauses = get_ok(ops, "/api/ops/controls?prefix=pause_bank_&active=true")
    assert set(keys(active_pauses)) == {
        controls["paused"].key,
        controls["paused_until"].key,
    }
    assert keys(get_ok(ops, f"/api/ops/controls?key={FREEZE_GLOBAL}")) == [
        FREEZE_GLOBAL
    ]
    lifted = controls["lifted"].key
    assert keys(get_ok(ops, f"/api/ops/controls?key={lifted}")) == []
    assert keys(get_ok(ops, f"/api/ops/controls?key={lifted}&active=all")) == [lifted]


def test_invalid_control_filters_are_400(ops: APIClient) -> None:
    error = assert_error(
        ops.get("/api/ops/controls?limit=9999"), 400, "validation_error"
    )
    assert "limit" in error["fields"]


def test_every_role_may_list_controls(
    pay_admin: APIClient, finance_ops: APIClient, ops: APIClient, outsider: APIClient
) -> None:
    for client in (pay_admin, finance_ops, ops):
        get_ok(client, "/api/ops/controls")
        get_ok(client, "/api/ops/banks")
    assert_error(outsider.get("/api/ops/banks"), 403, "forbidden")


# --- banks --------------------------------------------------------------------


def test_bank_shape(ops: APIClient) -> None:
    checked = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    bank = BankProfileFactory(
        name="Banque Atlantique",
        status=BankStatus.YELLOW,
        circuit_state=CircuitState.HALF_OPEN,
        last_health_check_at=checked,
    )
    never = BankProfileFactory(name="Zeta Bank", last_health_check_at=None)

    body = get_ok(ops, "/api/ops/banks")

    assert body["count"] == 2
    first, second = body["results"]
    for field in (
        "id",
        "name",
        "status",
        "circuit_state",
        "paused",
        "frozen",
        "last_health_check_at",
    ):
        assert field in first
    assert first["id"] == str(bank.id)
    assert uuid.UUID(first["id"])
    assert first["name"] == "Banque Atlantique"
    assert first["status"] == "yellow"
    assert first["circuit_state"] == "half_open"
    assert first["paused"] is False
    assert first["frozen"] is False
    assert first["last_health_check_at"] == "2026-02-03T04:05:06Z"
    assert isinstance(first["success_rate"], str)  # a decimal, never a float
    assert second["id"] == str(never.id)
    assert second["last_health_check_at"] is None


def test_bank_pause_and_freeze_state(ops: APIClient) -> None:
    paused, frozen, lapsed, plain = (
        BankProfileFactory(name=n) for n in ("A paused", "B frozen", "C lapsed", "D")
    )
    make_control(pause_bank_key(paused.id))
    make_control(freeze_bank_key(frozen.id))
    make_control(
        pause_bank_key(lapsed.id), expires_at=timezone.now() - timedelta(minutes=1)
    )
    make_control(pause_bank_key(plain.id), enabled=False)

    state = {
        b["name"]: (b["paused"], b["frozen"])
        for b in get_ok(ops, "/api/ops/banks")["results"]
    }
    assert state == {
        "A paused": (True, False),
        "B frozen": (False, True),
        "C lapsed": (False, False),
        "D": (False, False),
    }

    make_control(FREEZE_GLOBAL)
    body = get_ok(ops, "/api/ops/banks")
    assert all(b["frozen"] for b in body["results"])


# --- query counts -----------------------------------------------------------


def _fill(rows: int) -> None:
    for _ in range(rows):
        bank = BankProfileFactory()
        make_control(pause_bank_key(bank.id))
        make_control(freeze_bank_key(bank.id), enabled=False)


@pytest.mark.parametrize("rows", [3, 30])
@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # COUNT and one page
        ("/api/ops/controls?limit=500", 2),
        ("/api/ops/controls?limit=500&active=true&prefix=pause_bank_", 2),
        # the active control keys, and the banks
        ("/api/ops/banks?limit=500", 2),
    ],
)
def test_query_count_does_not_grow_with_rows(
    ops: APIClient,
    django_assert_num_queries: Callable[..., Any],
    rows: int,
    url: str,
    queries: int,
) -> None:
    _fill(rows)
    with django_assert_num_queries(queries):
        body = get_ok(ops, url)
    assert len(body["results"]) >= rows


def test_the_active_parameter_is_an_enum_in_the_openapi(ops: APIClient) -> None:
    resp = ops.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert resp.status_code == 200
    operation = resp.json()["paths"]["/api/ops/controls"]["get"]
    [active] = [p for p in operation["parameters"] if p["name"] == "active"]
    assert active["in"] == "query"
    assert active["schema"]["type"] == "string"
    assert active["schema"]["enum"] == ["all", "false", "true"]
    assert "the active ones unless asked otherwise" in active["description"]
