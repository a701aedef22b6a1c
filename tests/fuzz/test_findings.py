"""What the API fuzzer found (tests/fuzz/test_api_schema.py), pinned so each
stays fixed whatever examples a later run happens to draw."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from tests.helpers import post_action

pytestmark = pytest.mark.django_db


def _schema(client: APIClient) -> dict[str, Any]:
    return yaml.safe_load(client.get("/api/schema/").content)


def _responses(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return schema["paths"][path][method]["responses"]


def test_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(
    make_token: Any,
) -> None:
    # a path parameter that does not match its converter falls through to the
    # catch-all /api 404, which the CSRF middleware used to answer in HTML
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    resp = client.post("/api/ops/approve/not-a-uuid", {}, format="json")
    assert resp.status_code == 404
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"]["code"] == "not_found"


def test_a_202_waiting_for_signatures_matches_its_documented_shape(
    pay_admin: APIClient,
) -> None:
    resp = post_action(
        pay_admin, "freeze-payouts", {"scope": "global", "reason": "incident"}
    )
    assert resp.status_code == 202, resp.content
    assert "control" not in resp.json()
    ref = _responses(_schema(pay_admin), "/api/ops/freeze-payouts", "post")["202"]
    name = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    documented = _schema(pay_admin)["components"]["schemas"][name]
    assert set(documented["required"]) <= set(resp.json())
    assert "control" in documented["properties"]  # still documented, optional


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("pause-bank", {"bank_profile_id": "a\x00b", "reason": "r"}),
        # valid, plus an unknown key: the approval request stored it raw
        ("freeze-payouts", {"scope": "global", "reason": "r", "x": {"\x00": 1}}),
    ],
)
def test_a_body_with_a_nul_character_is_a_400_and_is_audited(
    pay_admin: APIClient, action: str, body: dict[str, Any]
) -> None:
    # PostgreSQL's jsonb cannot store U+0000: storing the raw input (the
    # refusal's audit row, the approval's payload) used to be a 500 there
    resp = post_action(pay_admin, action, body)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == "malformed_json"
    row = OpsActionLog.objects.get(status="rejected")
    assert row.action_type == action.replace("-", "_")


def test_every_api_operation_documents_the_design_6_errors(
    pay_admin: APIClient,
) -> None:
    schema = _schema(pay_admin)
    error = {"$ref": "#/components/schemas/Error"}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            for status in ("401", "403", "429"):
                assert status in responses, (method, path, status)
                body = responses[status]["content"]["application/json"]["schema"]
                assert body == error, (method, path, status)
            if "{" in path:
                assert "404" in responses, (method, path)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("0376-12-31T12:56:47+21:30", 200),  # an offset PostgreSQL cannot take
        ("2026-01-01T00:00:00-23:59", 200),
        ("0001-01-01T00:00:00+05:00", 400),  # before year 1 once in UTC
        ("9999-12-31T23:00:00-05:00", 400),  # after year 9999 once in UTC
    ],
)
@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/ops/payouts", "from"),
        ("/api/ops/actions", "to"),
        ("/api/ops/plans", "created_from"),
    ],
)
def test_time_filters_take_any_offset_python_parses(
    pay_admin: APIClient, url: str, param: str, value: str, status: int
) -> None:
    resp = pay_admin.get(url, {param: value})
    assert resp.status_code == status, resp.content
    if status == 400:
        assert param in resp.json()["error"]["fields"]
