"""GET /api/ops/actions and its streamed export (DESIGN §3, §6)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
from audit.serializers import EXPORT_FIELDS, audit_row
from audit.services import append_row
from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import Principal
from tests.factories import BankProfileFactory
from tests.helpers import assert_error, post_action

pytestmark = pytest.mark.django_db

LIST = "/api/ops/actions"
EXPORT = "/api/ops/actions/export"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

ALICE = Principal(id="alice", roles=frozenset({"pay_admin"}))
BRUNO = Principal(id="bruno", roles=frozenset({"finance_ops"}))
CHLOE = Principal(id="chloe", roles=frozenset({"ops"}))

# fixed, so pytest-xdist workers collect the same test ids
ANY_UUID = "00000000-0000-4000-8000-000000000000"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _run(principal: Principal, name: str, payload: dict[str, Any]) -> None:
    with contextlib.suppress(OpsError):  # refusals leave their row too
        runner.run(name, principal, payload, idempotency_key=uuid.uuid4().hex)


@pytest.fixture
def seeded() -> list[OpsActionLog]:
    """Five rows through the runner, one an hour from T0:

    seq 1  T0     alice  pause_bank   executed
    seq 2  T0+1h  bruno  pause_bank   rejected (role)
    seq 3  T0+2h  alice  resume_bank  executed
    seq 4  T0+3h  chloe  resume_bank  rejected (role)
    seq 5  T0+4h  alice  pause_bank   rejected (validation)
    """
    bank = str(BankProfileFactory().id)
    calls = [
        (ALICE, "pause_bank", {"bank_profile_id": bank, "reason": "timeouts"}),
        (BRUNO, "pause_bank", {"bank_profile_id": bank, "reason": "timeouts"}),
        (ALICE, "resume_bank", {"bank_profile_id": bank}),
        (CHLOE, "resume_bank", {"bank_profile_id": bank}),
        (ALICE, "pause_bank", {"bank_profile_id": bank}),
    ]
    for hour, (who, name, payload) in enumerate(calls):
        with time_machine.travel(T0 + timedelta(hours=hour), tick=False):
            _run(who, name, payload)
    rows = list(OpsActionLog.objects.order_by("seq"))
    assert [(r.seq, r.actor_id, r.action_type, r.status) for r in rows] == [
        (1, "alice", "pause_bank", "executed"),
        (2, "bruno", "pause_bank", "rejected"),
        (3, "alice", "resume_bank", "executed"),
        (4, "chloe", "resume_bank", "rejected"),
        (5, "alice", "pause_bank", "rejected"),
    ]
    assert [r.created_at for r in rows] == [T0 + timedelta(hours=h) for h in range(5)]
    return rows


def seqs(body: dict[str, Any]) -> list[int]:
    return [r["seq"] for r in body["results"]]


# --- the list ------------------------------------------------------------------


def test_list_shape_newest_first(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp = pay_admin.get(LIST)
    assert resp.status_code == 200
    body = resp.json()
    assert body.keys() == {"ok", "count", "next", "results"}
    assert body["ok"] is True
    assert body["count"] == 5
    assert body["next"] is None
    assert seqs(body) == [5, 4, 3, 2, 1]
    newest = body["results"][0]
    assert set(newest) == set(EXPORT_FIELDS)
    assert newest == json.loads(json.dumps(audit_row(seeded[-1])))
    assert newest["created_at"] == "2026-03-02T13:00:00Z"
    assert newest["hash"] == seeded[-1].hash
    assert newest["prev_hash"] == seeded[-2].hash


def test_every_role_may_list(
    finance_ops: Any, ops: Any, outsider: Any, seeded: list[OpsActionLog]
) -> None:
    assert finance_ops.get(LIST).json()["count"] == 5
    assert ops.get(LIST).json()["count"] == 5
    assert_error(outsider.get(LIST), 403, "forbidden")


LIST_FILTERS: list[tuple[dict[str, str], list[int]]] = [
    ({"actor_id": "alice"}, [5, 3, 1]),
    ({"actor_id": "nobody"}, []),
    ({"action_type": "pause_bank"}, [5, 2, 1]),
    ({"action_type": "resume_bank"}, [4, 3]),
    ({"status": "rejected"}, [5, 4, 2]),
    ({"status": "executed"}, [3, 1]),
    ({"status": "failed"}, []),
    ({"actor_id": "alice", "status": "executed"}, [3, 1]),
    ({"actor_id": "alice", "action_type": "pause_bank"}, [5, 1]),
    # from is inclusive, to exclusive
    ({"from": iso(T0 + timedelta(hours=1))}, [5, 4, 3, 2]),
    ({"to": iso(T0 + timedelta(hours=2))}, [2, 1]),
    (
        {"from": iso(T0 + timedelta(hours=1)), "to": iso(T0 + timedelta(hours=3))},
        [3, 2],
    ),
    # an offset is honoured: 12:00+01:00 is 11:00Z, T0+2h
    ({"from": "2026-03-02T12:00:00+01:00"}, [5, 4, 3]),
    ({"from": "2026-03-02T10:30:00Z", "status": "rejected"}, [5, 4]),
    ({"to": iso(T0)}, []),
    # an unknown parameter is ignored, as with any list
    ({"colour": "blue"}, [5, 4, 3, 2, 1]),
]


def test_filters(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    for params, expected in LIST_FILTERS:
        resp = pay_admin.get(LIST, params)
        assert resp.status_code == 200, (params, resp.json())
        body = resp.json()
        assert (params, seqs(body), body["count"]) == (
            params,
            expected,
            len(expected),
        )


BAD_PARAMS: list[tuple[dict[str, str], str]] = [
    ({"limit": "501"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": "x"}, "offset"),
    ({"status": "deleted"}, "status"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-45T00:00:00Z"}, "to"),
]


def test_bad_parameters_are_400(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    for params, field in BAD_PARAMS:
        assert_error(pay_admin.get(LIST, params), 400, "validation_error", field)


def test_limit_501_names_the_field(pay_admin: Any) -> None:
    body = pay_admin.get(LIST, {"limit": "501"}).json()
    assert list(body["error"]["fields"]) == ["limit"]
    assert body["error"]["fields"]["limit"] == ["Expected an integer from 1 to 500."]


def test_limit_500_is_allowed(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp = pay_admin.get(LIST, {"limit": "500"})
    assert resp.status_code == 200
    assert seqs(resp.json()) == [5, 4, 3, 2, 1]


def test_pagination_follows_next(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    pages, url, params = [], LIST, {"limit": "2"}
    while url:
        resp = pay_admin.get(url, params)
        assert resp.status_code == 200
        body = resp.json()
        assert body["count"] == 5
        pages.append(seqs(body))
        url, params = body["next"], None
    assert pages == [[5, 4], [3, 2], [1]]


def test_offset_and_filters_in_next(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    body = pay_admin.get(
        LIST, {"actor_id": "alice", "limit": "1", "offset": "1"}
    ).json()
    assert seqs(body) == [3]
    assert body["count"] == 3
    nxt = body["next"]
    assert nxt.startswith("http://testserver/api/ops/actions?")
    assert "actor_id=alice" in nxt
    assert "offset=2" in nxt
    assert "limit=1" in nxt
    assert seqs(pay_admin.get(nxt).json()) == [1]
    beyond = pay_admin.get(LIST, {"offset": "10"}).json()
    assert beyond == {"ok": True, "count": 5, "next": None, "results": []}


def _append(n: int) -> None:
    for i in range(n):
        append_row(
            action_id=uuid.uuid4(),
            actor_id=f"filler-{i}",
            actor_role="ops",
            action_type="resume_bank",
            status="rejected",
            target={},
            details={"i": i},
        )


def test_list_query_count_is_constant(
    pay_admin: Any, seeded: list[OpsActionLog], django_assert_num_queries: Any
) -> None:
    # a COUNT and one SELECT of the page, whatever the number of rows
    with django_assert_num_queries(2):
        assert pay_admin.get(LIST, {"limit": "500"}).json()["count"] == 5
    _append(40)
    with django_assert_num_queries(2):
        body = pay_admin.get(LIST, {"limit": "500", "status": "rejected"}).json()
    assert body["count"] == 43
    assert len(body["results"]) == 43


# --- export --------------------------------------------------------------------


def read_stream(resp: StreamingHttpResponse) -> tuple[bytes, int]:
    """The whole body and the number of chunks it came in.

    The export streams an *async* iterator (so ASGI servers send it chunk by
    chunk); the test client hands it back as such, so it is drained here the
    way an ASGI server would, on an event loop. Its database reads run through
    sync_to_async(thread_sensitive=True), which under async_to_sync comes back
    to this thread and so sees the test's transaction.
    """
    assert resp.streaming is True
    assert resp.is_async is True

    async def drain() -> list[bytes]:
        return [chunk async for chunk in resp.streaming_content]

    chunks = async_to_sync(drain)()
    return b"".join(chunks), len(chunks)


def export(client: Any, **params: str) -> tuple[Any, bytes]:
    resp = client.get(EXPORT, params)
    assert resp.status_code == 200
    body, _chunks = read_stream(resp)
    return resp, body


def csv_rows(body: bytes) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(body.decode()))
    header = next(reader)
    assert header == list(EXPORT_FIELDS)
    return [dict(zip(header, line, strict=True)) for line in reader]


def test_export_csv(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp, body = export(pay_admin, format="csv")
    assert resp["Content-Type"] == "text/csv; charset=utf-8"
    assert resp["Content-Disposition"] == ('attachment; filename="ops_actions_log.csv"')
    rows = csv_rows(body)
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5]  # oldest first
    for line, row in zip(rows, seeded, strict=True):
        assert line["id"] == str(row.id)
        assert line["hash"] == row.hash
        assert line["prev_hash"] == row.prev_hash
        assert line["created_at"] == iso(row.created_at)
        assert json.loads(line["target"]) == row.target
        assert json.loads(line["details"]) == row.details
        assert line["ip"] == ""
    assert rows[0]["prev_hash"] == GENESIS


def test_export_defaults_to_csv(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp, body = export(pay_admin)
    assert resp["Content-Type"].startswith("text/csv")
    assert len(csv_rows(body)) == 5


def test_export_json(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp, body = export(pay_admin, format="json")
    assert resp["Content-Type"] == "application/json; charset=utf-8"
    assert resp["Content-Disposition"] == (
        'attachment; filename="ops_actions_log.json"'
    )
    data = json.loads(body)
    assert data == [json.loads(json.dumps(audit_row(r))) for r in seeded]
    for before, after in itertools.pairwise(data):
        assert after["prev_hash"] == before["hash"]


EXPORT_FILTERS: list[tuple[dict[str, str], list[int]]] = [
    ({"actor_id": "alice"}, [1, 3, 5]),
    ({"action_type": "resume_bank"}, [3, 4]),
    ({"status": "rejected"}, [2, 4, 5]),
    (
        {"from": iso(T0 + timedelta(hours=1)), "to": iso(T0 + timedelta(hours=3))},
        [2, 3],
    ),
    ({"actor_id": "alice", "status": "rejected"}, [5]),
    ({"actor_id": "nobody"}, []),
]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_filters(pay_admin: Any, seeded: list[OpsActionLog], fmt: str) -> None:
    for params, expected in EXPORT_FILTERS:
        _resp, body = export(pay_admin, format=fmt, **params)
        if fmt == "csv":
            got = [int(r["seq"]) for r in csv_rows(body)]
        else:
            got = [r["seq"] for r in json.loads(body)]
        assert (params, got) == (params, expected)


def test_export_ignores_list_paging(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    _resp, body = export(pay_admin, format="json", limit="1", offset="3")
    assert len(json.loads(body)) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"format": "csv", "status": "deleted"}, "status"),
        ({"format": "json", "from": "yesterday"}, "from"),
    ],
)
def test_export_bad_parameters_are_400(
    pay_admin: Any, params: dict[str, str], field: str
) -> None:
    resp = pay_admin.get(EXPORT, params)
    assert not resp.streaming
    assert_error(resp, 400, "validation_error", field)


def _bulk_chain(n: int) -> list[OpsActionLog]:
    """``n`` chained rows in one INSERT (the triggers allow inserts)."""
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row = OpsActionLog(
            seq=seq,
            action_id=uuid.uuid4(),
            actor_id=f"bulk-{seq % 7}",
            actor_role="ops",
            action_type="resume_bank",
            status="rejected",
            target={},
            details={"n": seq},
            created_at=T0 + timedelta(seconds=seq),
            prev_hash=prev,
        )
        row.hash = prev = row_hash(row)
        rows.append(row)
    OpsActionLog.objects.bulk_create(rows, batch_size=500)
    return rows


def test_export_streams_in_keyset_chunks(pay_admin: Any) -> None:
    """2,500 rows come out in chunks of 1,000 rows, one query each (plus the
    empty one that ends it), not one query or one string for the whole log."""
    _bulk_chain(2500)
    with CaptureQueriesContext(connection) as queries:
        resp = pay_admin.get(EXPORT, {"format": "json"})
    assert resp.status_code == 200
    # nothing is read until the body is: the view only builds the stream
    assert not [q for q in queries if "ops_actions_log" in q["sql"]]
    with CaptureQueriesContext(connection) as queries:
        body, chunks = read_stream(resp)
    selects = [q for q in queries if "ops_actions_log" in q["sql"]]
    assert len(selects) == 4
    assert chunks >= 3
    data = json.loads(body)
    assert [r["seq"] for r in data] == list(range(1, 2501))
    for before, after in itertools.pairwise(data):
        assert after["prev_hash"] == before["hash"]

    resp = pay_admin.get(EXPORT, {"format": "csv"})
    body, chunks = read_stream(resp)
    assert chunks >= 3  # at least a piece per keyset chunk
    assert [int(r["seq"]) for r in csv_rows(body)] == list(range(1, 2501))

    resp = pay_admin.get(EXPORT, {"format": "csv", "actor_id": "bulk-3"})
    body, _chunks = read_stream(resp)
    lines = csv_rows(body)
    assert [int(r["seq"]) for r in lines] == [s for s in range(1, 2501) if s % 7 == 3]


# --- authentication on every GET ---------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def api_get_paths() -> list[str]:
    """Every /api/ops/ endpoint that answers GET, path parameters filled in."""
    out = []
    for route, pattern in _walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        if not route.startswith("api/ops/") or view is None:
            continue
        if "get" not in getattr(view, "http_method_names", ()) or not hasattr(
            view, "get"
        ):
            continue
        out.append("/" + re.sub(r"<(?:\w+:)?\w+>", ANY_UUID, route))
    return sorted(out)


def test_the_walk_finds_the_audit_endpoints() -> None:
    paths = api_get_paths()
    assert {LIST, EXPORT, "/api/ops/audit/verify"} <= set(paths)
    assert "/api/ops/pause-bank" not in paths


@pytest.mark.parametrize("path", api_get_paths())
def test_every_get_needs_authentication(anonymous: Any, path: str) -> None:
    resp = anonymous.get(path, {"format": "csv"} if path == EXPORT else None)
    assert_error(resp, 401, "not_authenticated")
    assert resp["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", api_get_paths())
def test_every_get_refuses_a_bad_token(path: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert_error(client.get(path), 401, "token_invalid")


def test_csv_export_defuses_formula_cells(db, client_for, bank):
    from asgiref.sync import async_to_sync

    client = client_for("pay_admin", sub="=HYPERLINK(1)")
    post_action(
        client,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "r"},
        HTTP_USER_AGENT="@SUM(A1)",
    )
    resp = client.get("/api/ops/actions/export?format=csv")

    async def read() -> bytes:
        return b"".join([c async for c in resp.streaming_content])

    text = async_to_sync(read)().decode()
    assert "'=HYPERLINK(1)" in text and "'@SUM(A1)" in text
    assert ",=HYPERLINK" not in text and ",@SUM" not in text
