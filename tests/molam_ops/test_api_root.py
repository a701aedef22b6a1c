"""GET /api/ops/: every endpoint the server has, from the URL conf and the
action registry (nothing kept by hand), for any known role, in JSON and in
the browsable API."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

from molam_ops.actions.registry import all_actions
from molam_ops.identity import KNOWN_ROLES
from tests.factories import operator_user
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE = "http://testserver"


def root(client: Any) -> dict[str, Any]:
    resp = client.get("/api/ops/")
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert body["ok"] is True
    return body


def filled(path: str) -> str:
    return re.sub(r"\{\w+\}", str(uuid.uuid4()), path)


def test_the_same_listing_for_every_role_and_none_for_others(
    pay_admin: APIClient,
    finance_ops: APIClient,
    ops: APIClient,
    outsider: APIClient,
    anonymous: APIClient,
) -> None:
    # the caller's own identity and allowed actions are /me's, not the root's
    bodies = [root(c) for c in (pay_admin, finance_ops, ops)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert set(bodies[0]) == {
        "ok",
        "title",
        "version",
        "actions",
        "resources",
        "sockets",
    }
    assert_error(outsider.get("/api/ops/"), 403, "forbidden")
    assert_error(anonymous.get("/api/ops/"), 401, "not_authenticated")


def test_the_actions_are_the_registry(ops: APIClient) -> None:
    listed = {a["name"]: a for a in root(ops)["actions"]}
    specs = {s.name: s for s in all_actions() if s.http}
    assert set(listed) == set(specs)
    for name, action in listed.items():
        assert action["method"] == "POST"
        assert action["roles"] == sorted(specs[name].roles & KNOWN_ROLES)
        assert action["summary"] == specs[name].summary
        assert action["url"] == BASE + action["path"]
        # the path is the action's own route
        assert resolve(filled(action["path"])).url_name == name
    assert listed["pause_bank"]["path"] == "/api/ops/pause-bank"
    assert listed["pause_bank"]["roles"] == ["pay_admin"]  # not "system"
    assert listed["approve"]["path"] == "/api/ops/approve/{approval_id}"


def test_the_resources_are_what_the_url_conf_serves(pay_admin: APIClient) -> None:
    resources = {r["path"]: r for r in root(pay_admin)["resources"]}
    assert {
        "/api/ops/banks",
        "/api/ops/payouts",
        "/api/ops/controls",
        "/api/ops/approvals",
        "/api/ops/pending-approvals",
        "/api/ops/plans",
        "/api/ops/plans/{plan_id}",
        "/api/ops/suggestions",
        "/api/ops/actions",
        "/api/ops/me",
        "/api/metrics/summary",
        "/api/schema/",
        "/api/docs/",
    } <= set(resources)
    assert "/api/ops/" not in resources  # itself
    assert not any(a["path"] in resources for a in root(pay_admin)["actions"])
    assert resources["/api/widgets/state/{widget_type}"]["methods"] == ["GET", "PUT"]
    assert resources["/api/ops/me"]["name"] == "me"
    for path, resource in resources.items():
        assert resource["url"] == BASE + path
        assert "GET" in resource["methods"]
        # the path is the route of that name, and it answers GET (a proof
        # needs parameters: 400; no checkpoint signed yet: 404)
        assert resolve(filled(path)).url_name == resource["name"]
        if "{" not in path:
            assert pay_admin.get(path).status_code in (200, 400, 404), path


def test_the_kpi_socket(ops: APIClient) -> None:
    assert root(ops)["sockets"] == [
        {"name": "kpi-socket", "path": "/ws/kpis/", "url": "ws://testserver/ws/kpis/"}
    ]
    secure = ops.get("/api/ops/", secure=True).json()
    assert secure["sockets"][0]["url"] == "wss://testserver/ws/kpis/"
    assert secure["resources"][0]["url"].startswith("https://testserver/")


def test_the_browsable_api_shows_it() -> None:
    client = Client()
    client.force_login(operator_user("chloe", "ops"))
    resp = client.get("/api/ops/", HTTP_ACCEPT="text/html")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/html")
    page = resp.content.decode()
    assert "Api Root" in page
    assert 'href="http://testserver/api/ops/banks"' in page  # a link to follow


def test_it_is_in_the_openapi(ops: APIClient) -> None:
    resp = ops.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    operation = resp.json()["paths"]["/api/ops/"]["get"]
    assert operation["operationId"] == "api_root"
    assert "401" in operation["responses"]
