"""What an audit row stores is what it hashed: numbers a JSON column would
rewrite are stored as strings, and a row read back from PostgreSQL's jsonb or
SQLite's JSON text re-hashes to its stored hash (DESIGN §3)."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from django.db import models

from audit.canonical import inet_text, storable
from audit.chain import HASHED_FIELDS, hash_of, row_hash
from audit.models import OpsActionLog
from audit.selectors import action_log_verify
from audit.serializers import EXPORT_FIELDS, audit_row
from audit.services import append_row
from tests.audit.test_actions_export import read_stream
from tests.helpers import post_action

# a value, and how it is stored
NUMBERS = [
    (1e16, "1e+16"),
    (1e308, "1e+308"),
    (-1e308, "-1e+308"),
    (1.5e300, "1.5e+300"),
    (2.0**53, "9007199254740992.0"),
    (2**53, "9007199254740992"),
    (-(2**53), "-9007199254740992"),
    (2**63, "9223372036854775808"),
    (10**400, "1" + "0" * 400),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
    (math.nan, "NaN"),
    (2**53 - 1, 2**53 - 1),
    (-(2**53 - 1), -(2**53 - 1)),
    (2.0**53 - 1, 2.0**53 - 1),
    (0.1, 0.1),
    (5e-324, 5e-324),
    (1e-7, 1e-7),
    (123.0, 123.0),
    (True, True),
    (None, None),
]


class Colour(models.TextChoices):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(("value", "stored"), NUMBERS, ids=repr)
def test_numbers_a_json_column_would_rewrite_become_strings(
    value: Any, stored: Any
) -> None:
    got = storable({"v": value})["v"]
    assert got == stored and type(got) is type(stored)


def test_other_values_are_stored_as_json_writes_them() -> None:
    when = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    got = storable(
        {
            "amount": Decimal("12.50"),
            "at": when,
            "id": uid,
            "pair": (1, -0.0),
            "colour": Colour.RED,
            "level": Level.HIGH,
            2: "int key",
            False: "bool key",
            "bad\x00text\ud800": ["\x00"],
        }
    )
    assert got == {
        "amount": "12.50",
        "at": "2026-03-02T09:00:00.123Z",
        "id": str(uid),
        "pair": [1, 0.0],
        "colour": "red",
        "level": 3,
        "2": "int key",
        "false": "bool key",
        "bad\ufffdtext\ufffd": ["\ufffd"],
    }
    assert type(got["colour"]) is str and type(got["level"]) is int
    assert math.copysign(1, got["pair"][1]) == 1  # no negative zero
    assert json.loads(json.dumps(got)) == got
    with pytest.raises(TypeError):
        storable({"v": object()})


DEEP: Any = {"leaf": [1e16, 2**63, 0.1]}
for depth in range(24):
    DEEP = {"d": [DEEP, depth * 1e300, -0.0]}


@pytest.mark.django_db
def test_rows_read_back_from_the_database_rehash_to_their_hash() -> None:
    values: list[Any] = [v for v, _stored in NUMBERS] + [DEEP, [DEEP, {"x": DEEP}]]
    written = [
        append_row(
            action_id=uuid.uuid4(),
            actor_id="alice",
            actor_role="pay_admin",
            action_type="generate_plan",
            status="rejected",
            target={"plan_params": {"timeframe": value}},
            details={"value": value, "nested": [{"value": value}]},
            ip="2001:DB8::1",
        )
        for value in values
    ]
    for row in written:
        again = OpsActionLog.objects.get(id=row.id)
        assert audit_row(again) == audit_row(row)
        assert row_hash(again) == again.hash == row.hash
    assert action_log_verify().valid


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "2001:db8::1",
        "2001:DB8:0:0::1",
        "::1",
        "::",
        "::1.2.3.4",
        "::0.0.0.2",
        "::ffff:1.2.3.4",
        "::ffff:0:1",
        "fe80::1%eth0",
    ],
)
def test_addresses_are_hashed_as_the_database_writes_them(ip: str) -> None:
    row = append_row(
        action_id=uuid.uuid4(),
        actor_id="alice",
        actor_role="pay_admin",
        action_type="pause_bank",
        status="rejected",
        target={},
        details={},
        ip=ip,
    )
    again = OpsActionLog.objects.get(id=row.id)
    assert again.ip == row.ip
    assert row_hash(again) == again.hash
    assert action_log_verify().valid


def test_inet_text_is_postgresqls_form() -> None:
    assert inet_text("::102:304") == "::1.2.3.4"
    assert inet_text("::2") == "::2"
    assert inet_text("::1:0") == "::0.1.0.0"
    assert inet_text("::ffff:0:1") == "::ffff:0.0.0.1"
    assert inet_text("::1") == "::1"
    assert inet_text("1::") == "1::"
    assert inet_text("not an address") == "not an address"


@pytest.mark.django_db
def test_the_reported_request_is_stored_as_a_string_and_verifies(
    outsider: Any,
) -> None:
    """A caller with no role sent ``{"plan_params": {"timeframe": 1e16}}``:
    its refusal's row verifies on either database."""
    for value in (1e16, 1e308):
        resp = post_action(
            outsider, "generate-plan", {"plan_params": {"timeframe": value}}
        )
        assert resp.status_code == 403
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert [r.target for r in rows] == [
        {"plan_params": {"timeframe": "1e+16"}},
        {"plan_params": {"timeframe": "1e+308"}},
    ]
    report = action_log_verify()
    assert report.valid and report.checked == 2


@pytest.mark.django_db
def test_an_export_is_enough_to_recompute_every_hash(pay_admin: Any, bank: Any) -> None:
    """Nothing but JCS and SHA-256 over the exported row's hashed fields."""
    assert set(HASHED_FIELDS) <= set(EXPORT_FIELDS)
    post_action(
        pay_admin, "pause-bank", {"bank_profile_id": str(bank.id), "reason": "r"}
    )
    post_action(
        pay_admin, "generate-plan", {"plan_params": {"timeframe": 1e16, "x": 0.1}}
    )
    resp = pay_admin.get("/api/ops/actions/export", {"format": "json"})
    exported = json.loads(read_stream(resp)[0])
    assert len(exported) >= 2
    for row in exported:
        canonical = rfc8785.dumps({f: row[f] for f in HASHED_FIELDS})
        assert hashlib.sha256(canonical).hexdigest() == row["hash"]
        assert hash_of(row) == row["hash"]
        assert row["created_at"].endswith("Z")
