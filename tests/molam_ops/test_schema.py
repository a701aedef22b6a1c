"""/api/schema/ and /api/docs/: generated from the registry, valid, no CDN."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS

from molam_ops.actions.registry import all_actions

pytestmark = pytest.mark.django_db

OPENAPI_JSON = "application/vnd.oai.openapi+json"

GET_ENDPOINTS = (
    "actions",
    "actions/export",
    "audit/verify",
    "controls",
    "banks",
    "payouts",
)


def openapi_path(url: str) -> str:
    """A Django route (``approve/<uuid:approval_id>``) as an OpenAPI path."""
    return "/api/ops/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", url)


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    # URL_FORMAT_OVERRIDE is None (``?format=`` belongs to the export), so
    # drf-spectacular picks JSON by content negotiation on Accept.
    with django_db_blocker.unblock():
        resp = Client().get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert resp.status_code == 200, resp.content[:2000]
    assert resp["Content-Type"].startswith(OPENAPI_JSON)
    return resp.json()


def test_schema_is_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Molam Ops Controls API"
    scheme = schema["components"]["securitySchemes"]["molamIdJWT"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT (RS256)",
        "description": "A Molam ID access token.",
    }


def test_schema_is_also_served_as_yaml_and_plain_json(client: Client) -> None:
    resp = client.get("/api/schema/")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(resp.content)["openapi"].startswith("3.")
    resp = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/json")
    assert resp.json()["openapi"].startswith("3.")


def test_every_http_action_is_documented(schema: dict[str, Any]) -> None:
    specs = [s for s in all_actions() if s.http]
    assert {"pause_bank", "resume_bank"} <= {s.name for s in specs}
    for spec in specs:
        path = openapi_path(spec.url)
        assert path in schema["paths"], path
        operation = schema["paths"][path]["post"]
        assert operation["operationId"] == spec.name
        assert "ops actions" in operation["tags"]
        for role in spec.roles:
            assert role in operation["description"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "$ref" in body, (path, body)
        assert {"200", "202", "400", "403", "409"} <= set(operation["responses"])
        for code in ("200", "202"):
            assert "application/json" in operation["responses"][code]["content"]
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        [key] = [p for p in headers if p["name"] == "Idempotency-Key"]
        assert key["required"] is True


def test_internal_actions_are_not_documented(schema: dict[str, Any]) -> None:
    for spec in all_actions():
        if not spec.http:
            assert openapi_path(spec.url) not in schema["paths"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def test_pause_bank_shapes(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/ops/pause-bank"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]
    body = _resolve(schema, ref)
    assert set(body["required"]) == {"bank_profile_id", "reason"}
    assert body["properties"]["bank_profile_id"]["format"] == "uuid"
    assert body["properties"]["reason"]["maxLength"] == 500
    assert body["properties"]["expires_at"]["format"] == "date-time"
    error = operation["responses"]["409"]["content"]["application/json"]["schema"]
    assert set(_resolve(schema, error)["properties"]) == {"ok", "error"}


def test_every_get_endpoint_has_a_response_schema(schema: dict[str, Any]) -> None:
    for name in GET_ENDPOINTS:
        path = f"/api/ops/{name}"
        assert path in schema["paths"], path
        operation = schema["paths"][path]["get"]
        content = operation["responses"]["200"]["content"]
        assert content, path
        for media in content.values():
            assert media["schema"], (path, media)


def test_lists_document_the_envelope_and_filters(schema: dict[str, Any]) -> None:
    payouts = schema["paths"]["/api/ops/payouts"]["get"]
    params = {p["name"]: p for p in payouts["parameters"]}
    assert {"status", "bank_profile_id", "currency", "limit", "offset"} <= set(params)
    page = _resolve(
        schema, payouts["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert set(page["required"]) == {"ok", "count", "next", "results"}
    payout = _resolve(schema, page["properties"]["results"]["items"])
    assert payout["properties"]["amount"]["type"] == "string"
    assert payout["properties"]["amount"]["format"] == "decimal"
    controls = schema["paths"]["/api/ops/controls"]["get"]
    assert {"active", "prefix", "key"} <= {p["name"] for p in controls["parameters"]}
    banks = schema["paths"]["/api/ops/banks"]["get"]
    page = _resolve(
        schema, banks["responses"]["200"]["content"]["application/json"]["schema"]
    )
    bank = _resolve(schema, page["properties"]["results"]["items"])
    assert {
        "id",
        "name",
        "status",
        "circuit_state",
        "paused",
        "frozen",
        "last_health_check_at",
    } <= set(bank["properties"])


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    GENERATOR_STATS.reset()  # warnings seen earlier in this process do not count
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert yaml.safe_load(out.read_text())["paths"]


def test_docs_are_served_without_a_cdn(client: Client) -> None:
    resp = client.get("/api/docs/")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/html")
    html = resp.content.decode()
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert "drf_spectacular_sidecar" in bundle
    asset = client.get(bundle)
    assert asset.status_code == 200
    assert b"".join(asset.streaming_content)
    assert "/api/schema/" in html
