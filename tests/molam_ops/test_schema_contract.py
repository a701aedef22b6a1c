"""The OpenAPI document as a code generator reads it: valid OpenAPI 3,
served as JSON on ``?format=json``, every body typed, the §5/§6 headers and
statuses on the operations that answer them, stable identifiers — and the
checker that holds every answer of the suite to it (tests/schema_check.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from django.http import JsonResponse
from django.test import Client
from openapi_spec_validator import validate

from molam_ops.actions.registry import all_actions
from tests.schema_check import check_response, openapi_document

pytestmark = pytest.mark.django_db

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# free-form on purpose: what an action acted on, what audit keeps of it, the
# field errors of an error body, a widget's saved state, SIRA's answer facts
FREE_FORM = {
    "AuditRow.target",
    "AuditRow.details",
    "ErrorDetail.fields",
    "Approval.target",
    "WidgetState.state",
    "SuggestedAction.payload",
    "Suggestion.result",
    "PlanDetails.summary_facts",
    "RefusedStep.step",
    "RollbackStep.fields",
}


def api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in openapi_document()["paths"].items()
        for method, operation in operations.items()
        if path.startswith("/api/")
    ]


def test_the_document_is_valid_openapi_3() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.0")
    validate(document)  # openapi-spec-validator: raises on any violation


def test_format_json_answers_json_and_yaml_stays_the_default(client: Client) -> None:
    resp = client.get("/api/schema/?format=json")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(resp.content)["paths"] == openapi_document()["paths"]
    for query in ("", "?format=yaml"):
        resp = client.get(f"/api/schema/{query}")
        assert resp["Content-Type"].startswith("application/vnd.oai.openapi")
        assert "json" not in resp["Content-Type"]
        assert yaml.safe_load(resp.content)["openapi"].startswith("3.0")


def test_servers_default_to_this_origin() -> None:
    assert openapi_document()["servers"] == [{"url": "/"}]


def test_operation_ids_are_unique_identifiers() -> None:
    ids = [
        operation["operationId"]
        for operations in openapi_document()["paths"].values()
        for operation in operations.values()
    ]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not IDENTIFIER.match(i)] == []
    note = openapi_document()["paths"]["/api/ops/audit/checkpoint.note"]["get"]
    assert note["operationId"] == "ops_audit_checkpoint_note_retrieve"


def _untyped(name: str, node: Any, found: set[str]) -> None:
    """Object schemas with neither properties nor typed values, by path."""
    if isinstance(node, dict):
        if (
            node.get("type") == "object"
            and not node.get("properties")
            and "enum" not in node  # the null of a nullable reference
            and node.get("additionalProperties", {}) in ({}, True)
        ):
            found.add(name)
        for key, value in node.items():
            same = key in {"items", "allOf", "oneOf", "anyOf"}
            child = name if same else f"{name}.{key}"
            _untyped(child.replace(".properties.", "."), value, found)
    elif isinstance(node, list):
        for value in node:
            _untyped(name, value, found)


def test_every_response_body_is_typed() -> None:
    """No ``{type: object}`` without fields in what the API answers, but for
    the few values that are free-form by nature (FREE_FORM)."""
    found: set[str] = set()
    for name, schema in openapi_document()["components"]["schemas"].items():
        if not name.endswith("Request"):
            _untyped(name, schema, found)
    assert found == FREE_FORM


def test_action_responses_reference_their_resources() -> None:
    schemas = openapi_document()["components"]["schemas"]
    freeze = schemas["FreezeResponse"]["properties"]
    assert freeze["control"] == {"$ref": "#/components/schemas/Control"}
    assert freeze["approval"] == {"$ref": "#/components/schemas/Approval"}
    plan = schemas["GeneratePlanAcceptedResponse"]["properties"]["plan"]
    assert plan == {"$ref": "#/components/schemas/Plan"}
    steps = schemas["Plan"]["properties"]["steps"]["items"]
    assert steps == {"$ref": "#/components/schemas/PlanStep"}
    assert schemas["PlanStep"]["discriminator"]["propertyName"] == "action"
    assert set(schemas["PlanStep"]["discriminator"]["mapping"]) == {
        "pause_bank",
        "reroute_payouts",
        "transfer_funds",
    }


def test_statuses_and_types_are_enums() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["BankStatus"]["enum"] == ["green", "yellow", "red"]
    assert schemas["CircuitState"]["enum"] == ["closed", "open", "half_open"]
    for schema, field, enum in (
        ("Bank", "status", "BankStatus"),
        ("BankHealth", "circuit_state", "CircuitState"),
        ("Approval", "status", "ApprovalStatus"),
        ("Plan", "plan_type", "PlanType"),
        ("Plan", "status", "PlanStatusEnum"),
        ("Suggestion", "status", "SuggestionStatusEnum"),
        ("StepProgress", "status", "StepStatus"),
        ("StepRow", "status", "StepStatus"),
    ):
        prop = schemas[schema]["properties"][field]
        refs = [prop.get("$ref")] + [p.get("$ref") for p in prop.get("allOf", [])]
        assert f"#/components/schemas/{enum}" in refs, (schema, field, prop)


def test_state_changing_posts_take_and_echo_the_idempotency_key() -> None:
    posts = [op for _p, method, op in api_operations() if method == "post"]
    assert len(posts) == len([s for s in all_actions() if s.http])
    for operation in posts:
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header"
        assert key["required"] is True
        assert key["schema"]["maxLength"] == 255
        for status in ("200", "202", "409", "422"):
            headers = operation["responses"][status]["headers"]
            assert "Idempotent-Replayed" in headers, (operation["operationId"], status)


def test_refusals_every_operation_can_meet_are_documented() -> None:
    for path, method, operation in api_operations():
        responses = operation["responses"]
        assert {"400", "403", "406", "429", "431", "503"} <= set(responses), path
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["required"] is True
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (path, method)


def test_the_widgets_catalogue_is_documented_and_answers_so(client: Client) -> None:
    operation = openapi_document()["paths"]["/widgets/i18n/{lang}.json"]["get"]
    assert operation["parameters"][0]["schema"]["enum"] == ["en", "fr"]
    resp = client.get("/widgets/i18n/fr.json")
    check_response("GET", "/widgets/i18n/fr.json", "", resp)
    assert resp.json()["catalog"]


def test_the_checker_refuses_what_the_document_does_not_say() -> None:
    def error(code: str, status: int) -> JsonResponse:
        body = {"ok": False, "error": {"code": code, "message": "m", "fields": {}}}
        return JsonResponse(body, status=status)

    check_response("GET", "/api/ops/banks", "", error("forbidden", 403))
    with pytest.raises(AssertionError, match="no_such_code"):
        check_response("GET", "/api/ops/banks", "", error("no_such_code", 403))
    with pytest.raises(AssertionError, match="status not documented"):
        check_response("GET", "/api/ops/banks", "", error("forbidden", 409))
    page = {"ok": True, "count": 1, "next": None, "results": [{"id": "x"}]}
    with pytest.raises(AssertionError, match="does not match"):
        check_response("GET", "/api/ops/banks", "", JsonResponse(page))
    with pytest.raises(AssertionError, match="no such path"):
        check_response("GET", "/api/ops/nothing-here", "", JsonResponse(page))
    check_response("GET", "/api/ops/nothing-here", "", error("not_found", 404))
    with pytest.raises(AssertionError, match="Retry-After"):
        check_response("GET", "/api/ops/banks", "", error("service_unavailable", 503))
