"""GET /api/ops/actions pages by keyset (DESIGN §3): ``next`` is a cursor URL,
stable while rows are appended; offsets are capped; the count is capped."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from audit.models import OpsActionLog
from audit.services import append_row
from molam_ops.pagination import (
    CursorError,
    KeysetPagination,
    decode_cursor,
    encode_cursor,
)
from tests.audit.seed import T0, iso
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

LIST = "/api/ops/actions"
ACTORS = ("alice", "bruno", "chloe")


def append(n: int, at: datetime, *, step: timedelta = timedelta(0)) -> list[int]:
    """``n`` rows through the one writer, the first at ``at``, each ``step``
    later (0: all at the same instant, so only ``seq`` orders them)."""
    seqs = []
    for i in range(n):
        with time_machine.travel(at + i * step, tick=False):
            row = append_row(
                action_id=uuid.uuid4(),
                actor_id=ACTORS[i % 3],
                actor_role="ops",
                action_type=("pause_bank", "resume_bank")[i % 2],
                status=("executed", "rejected")[i % 4 == 0],
                target={},
                details={"i": i},
            )
        seqs.append(row.seq)
    return seqs


def walk(
    client: Any, params: dict[str, str], between: Any = None
) -> tuple[list[int], list[dict[str, Any]]]:
    """Every page from the first by ``next``; ``between()`` runs after each."""
    seen: list[int] = []
    bodies = []
    resp = client.get(LIST, params)
    while True:
        assert resp.status_code == 200, resp.json()
        body = resp.json()
        bodies.append(body)
        seen += [r["seq"] for r in body["results"]]
        if body["next"] is None:
            return seen, bodies
        if between is not None:
            between()
        resp = client.get(body["next"])


def test_walk_returns_every_row_once_in_order_while_rows_are_appended(
    pay_admin: Any,
) -> None:
    # ties on created_at (7 rows at one instant) are ordered by seq
    first = append(7, T0) + append(10, T0 + timedelta(seconds=1), step=timedelta(1))
    later = T0 + timedelta(days=30)
    added: list[int] = []

    def more() -> None:
        nonlocal later
        added.extend(append(2, later))
        later += timedelta(seconds=1)

    seen, bodies = walk(pay_admin, {"limit": "3"}, between=more)
    assert seen == sorted(first, reverse=True)
    assert len(added) == 2 * (len(bodies) - 1) > 0
    # the count follows the filters, not the page: it grows with the appends
    assert [b["count"] for b in bodies] == [17 + 2 * i for i in range(len(bodies))]
    # a fresh walk sees the new rows first
    fresh, _ = walk(pay_admin, {"limit": "500"})
    assert fresh == sorted(first + added, reverse=True)


def test_newer_rows_with_an_older_clock_are_not_lost(pay_admin: Any) -> None:
    """created_at orders the list, seq breaks ties: a row whose clock is
    behind its predecessors' still comes up exactly once."""
    rows = append(6, T0 + timedelta(hours=1), step=timedelta(minutes=1))
    seen, _ = walk(pay_admin, {"limit": "2"}, between=None)
    assert seen == sorted(rows, reverse=True)
    late = append(1, T0)  # newest seq, oldest time: at the end of the list
    seen, _ = walk(pay_admin, {"limit": "2"})
    assert seen == sorted(rows, reverse=True) + late


FILTERED: list[dict[str, str]] = [
    {"actor_id": "alice"},
    {"action_type": "resume_bank"},
    {"status": "rejected"},
    {"actor_id": "bruno", "status": "executed"},
    {"from": iso(T0 + timedelta(days=3)), "to": iso(T0 + timedelta(days=9))},
    {"actor_id": "chloe", "from": iso(T0 + timedelta(days=2))},
]


@pytest.mark.parametrize("params", FILTERED, ids=lambda p: "&".join(p))
def test_filters_combine_with_the_cursor(
    pay_admin: Any, params: dict[str, str]
) -> None:
    append(4, T0)  # ties
    append(14, T0 + timedelta(days=1), step=timedelta(days=1))
    expected = [
        r["seq"]
        for r in pay_admin.get(LIST, {**params, "limit": "500"}).json()["results"]
    ]
    assert len(expected) >= 3
    seen, bodies = walk(pay_admin, {**params, "limit": "2"})
    assert seen == expected
    assert len(bodies) == (len(expected) + 1) // 2
    for body in bodies[:-1]:
        nxt = body["next"]
        assert "cursor=" in nxt and "limit=2" in nxt
        for key in params:
            assert f"{key}=" in nxt
    assert {b["count"] for b in bodies} == {len(expected)}


def test_offset_is_served_up_to_the_cap(pay_admin: Any) -> None:
    rows = sorted(append(5, T0, step=timedelta(seconds=1)), reverse=True)
    body = pay_admin.get(LIST, {"offset": "2", "limit": "2"}).json()
    assert [r["seq"] for r in body["results"]] == rows[2:4]
    assert [r["seq"] for r in pay_admin.get(body["next"]).json()["results"]] == rows[4:]
    at_cap = pay_admin.get(LIST, {"offset": str(KeysetPagination.max_offset)})
    assert at_cap.status_code == 200
    assert at_cap.json()["results"] == []
    err = assert_error(
        pay_admin.get(LIST, {"offset": str(KeysetPagination.max_offset + 1)}),
        400,
        "validation_error",
        "offset",
    )
    assert "next" in err["fields"]["offset"][0]


def _b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


BAD_CURSORS = [
    "x",
    "!!!!",
    "é",
    _b64(b"garbage"),
    _b64(b"\xff\xfe|1"),
    _b64(b"2026-03-02T09:00:00|5"),  # no zone
    _b64(b"2026-03-02T09:00:00+00:00|-1"),
    _b64(b"2026-03-02T09:00:00+00:00|0"),
    _b64(b"2026-03-02T09:00:00+00:00|abc"),
    _b64("2026-03-02T09:00:00+00:00|\u0663".encode()),  # Arabic-Indic 3
    _b64(b"2026-03-02T09:00:00+00:00|99999999999999999999"),
    _b64(b"2026-13-02T09:00:00+00:00|5"),
    _b64(b"2026-03-02T09:00:00+00:00|5|6"),
    _b64(b"0001-01-01T00:00:00+01:00|5"),  # before year 1 in UTC
    _b64(b"9999-12-31T23:59:59-01:00|5"),  # after year 9999 in UTC
    "A" * 500,
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_is_400(pay_admin: Any, cursor: str) -> None:
    append(3, T0)
    assert_error(
        pay_admin.get(LIST, {"cursor": cursor}), 400, "validation_error", "cursor"
    )


def test_the_cursor_round_trips() -> None:
    at = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, 42)) == (at, 42)
    for bad in BAD_CURSORS:
        with pytest.raises(CursorError):
            decode_cursor(bad)


def test_the_count_is_capped(pay_admin: Any, monkeypatch: Any) -> None:
    append(5, T0)
    monkeypatch.setattr(KeysetPagination, "count_cap", 3)
    body = pay_admin.get(LIST, {"limit": "2"}).json()
    assert (body["count"], body["count_capped"]) == (3, True)
    assert len(body["results"]) == 2
    alice = pay_admin.get(LIST, {"actor_id": "alice"}).json()  # 2 rows
    assert (alice["count"], alice["count_capped"]) == (2, False)
    bruno = pay_admin.get(LIST, {"status": "executed"}).json()  # exactly 3
    assert (bruno["count"], bruno["count_capped"]) == (3, False)


def test_a_cursor_page_costs_two_queries(
    pay_admin: Any, django_assert_num_queries: Any
) -> None:
    append(30, T0, step=timedelta(seconds=1))
    nxt = pay_admin.get(LIST, {"limit": "5"}).json()["next"]
    # the capped count and the page, however deep
    with django_assert_num_queries(2):
        body = pay_admin.get(nxt).json()
    assert [r["seq"] for r in body["results"]] == [25, 24, 23, 22, 21]


def test_the_schema_names_the_cursor(client: Any) -> None:
    resp = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert resp.status_code == 200
    schema = resp.json()
    op = schema["paths"]["/api/ops/actions"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {"cursor", "limit", "offset", "actor_id", "from", "to"} <= names
    page = op["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in page:
        page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert "count_capped" in page["required"]
    assert OpsActionLog.objects.count() == 0
