"""GET /api/ops/actions (DESIGN §3, §6); its export: test_actions_export.py."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from audit.serializers import EXPORT_FIELDS, audit_row
from audit.services import append_row
from tests.audit.seed import T0, iso
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

LIST = "/api/ops/actions"
EXPORT = "/api/ops/actions/export"


# fixed, so pytest-xdist workers collect the same test ids
ANY_UUID = "00000000-0000-4000-8000-000000000000"


def seqs(body: dict[str, Any]) -> list[int]:
    return [r["seq"] for r in body["results"]]


# --- the list ------------------------------------------------------------------


def test_list_shape_newest_first(pay_admin: Any, seeded: list[OpsActionLog]) -> None:
    resp = pay_admin.get(LIST)
    assert resp.status_code == 200
    body = resp.json()
    assert body.keys() == {"ok", "count", "count_capped", "next", "results"}
    assert body["ok"] is True
    assert body["count"] == 5
    assert body["count_capped"] is False
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
    # next goes on by keyset from the page's last row, not by offset
    assert "offset=" not in nxt
    assert "cursor=" in nxt
    assert "limit=1" in nxt
    assert seqs(pay_admin.get(nxt).json()) == [1]
    beyond = pay_admin.get(LIST, {"offset": "10"}).json()
    assert beyond == {
        "ok": True,
        "count": 5,
        "count_capped": False,
        "next": None,
        "results": [],
    }


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
