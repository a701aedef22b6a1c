"""GET /api/ops/actions/export: the audit trail streamed as CSV or JSON lines,
in keyset chunks, with the list's filters (DESIGN §3)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
from audit.serializers import EXPORT_FIELDS, audit_row
from tests.audit.seed import T0, iso
from tests.helpers import assert_error, post_action

pytestmark = pytest.mark.django_db

EXPORT = "/api/ops/actions/export"


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
    # the view reads only whether the rows fit a request (a LIMITed count,
    # never a COUNT(*) of the table); the rows wait for the body
    (count,) = [q for q in queries if "ops_actions_log" in q["sql"]]
    assert f"LIMIT {settings.AUDIT_SYNC_MAX_ROWS + 1}" in count["sql"], count["sql"]
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
