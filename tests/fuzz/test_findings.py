"""What the API fuzzer found (tests/fuzz/test_api_schema.py), pinned so each
stays fixed whatever examples a later run happens to draw."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from rest_framework import serializers
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.actions.registry import all_actions
from molam_ops.lib.fields import AsciiDecimalField, AsciiIntegerField
from molam_ops.lib.parsers import has_unstorable, json_depth
from plans.planner.types import ConstraintError, Constraints
from tests.helpers import assert_error, post_action
from widgets.consumers import KpiConsumer

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
        if not path.startswith("/api/"):  # the widgets' catalogue: public
            continue
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


# --- bodies nested too deep, characters PostgreSQL cannot store -------------


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,  # never closed: the decoder recursed into each
        _nested(5_000),
        # a valid body but for its 900-deep evidence
        '{"bank_profile_id": "00000000-0000-0000-0000-000000000001", "reason": "r", '
        f'"evidence": {_nested(900)}}}',
    ],
    ids=["100k-brackets", "5k-objects", "900-deep-evidence"],
)
def test_a_body_nested_too_deep_is_a_400_not_a_recursion_error(
    pay_admin: APIClient, raw: str
) -> None:
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        raw,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"deep-{len(raw)}",
    )
    assert_error(resp, 400, "malformed_json")
    assert OpsActionLog.objects.get(status="rejected").action_type == "pause_bank"


def test_a_body_as_deep_as_the_limit_is_read(
    pay_admin: APIClient, bank: Any, settings: Any
) -> None:
    evidence: dict[str, Any] = {"leaf": "[not a bracket {"}
    # the body's object and evidence itself are two of the levels
    for _level in range(settings.JSON_MAX_DEPTH - 2):
        evidence = {"a": evidence}
    body = {"bank_profile_id": str(bank.id), "reason": "r", "evidence": evidence}
    resp = post_action(pay_admin, "pause-bank", body)
    assert resp.status_code == 200, resp.content


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth('{"a": [1, {"b": "]]]}}}"}]}') == 3
    assert json_depth(r'["\"[[[", [[]]]') == 3
    assert json_depth('"[[[[') == 0  # an unterminated string
    assert json_depth("[" * 100_000) == 100_000


def test_the_unstorable_character_check_does_not_recurse() -> None:
    deep: Any = "\x00"
    for _level in range(100_000):
        deep = [deep] if _level % 2 else {"k": deep}
    assert has_unstorable(deep)
    assert not has_unstorable({"k": ["ok", 1, None, {"\U0001f600": 2.5}]})


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\u0000"])
def test_a_body_with_a_lone_surrogate_is_a_400_and_is_audited(
    pay_admin: APIClient, bank: Any, text: str
) -> None:
    # a JSON escape decodes to a lone surrogate, which PostgreSQL's UTF-8
    # cannot hold: the audit row or the control's reason failed with a 500
    raw = f'{{"bank_profile_id": "{bank.id}", "reason": "{text}"}}'
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        raw,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="surrogate",
    )
    assert_error(resp, 400, "malformed_json")
    assert OpsActionLog.objects.get(status="rejected").action_type == "pause_bank"


def test_a_nul_in_the_path_is_a_400(pay_admin: APIClient) -> None:
    # the flag's name went into a query: PostgreSQL's DataError was a 500
    assert_error(
        pay_admin.get("/api/ops/flags/a%00b"), 400, "invalid_character", "path"
    )


@pytest.mark.parametrize("query", ["name=a%00b", "a%00b=1", "status=%ED%A0%80%00"])
def test_a_nul_in_the_query_string_is_a_400(pay_admin: APIClient, query: str) -> None:
    resp = pay_admin.get(f"/api/ops/flags?{query}")
    assert_error(resp, 400, "invalid_character", "query")


def test_a_nul_in_the_idempotency_key_is_a_400(pay_admin: APIClient, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "r"}
    resp = post_action(pay_admin, "pause-bank", body, key="a\x00b")
    assert_error(resp, 400, "invalid_character", "headers")
    assert not OpsActionLog.objects.exists()


def test_a_nul_in_the_admin_path_is_a_400_page(pay_admin: APIClient) -> None:
    resp = pay_admin.get("/admin/controls/treasurycontrol/a%00b/change/")
    assert resp.status_code == 400
    assert b"invalid_character" in resp.content


def test_an_overlong_authorization_header_is_refused_before_the_token_is_read(
    make_token: Any,
) -> None:
    # a real token, padded: verified, it would have been a 200 or a 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}" + " " * 9000)
    error = assert_error(client.get("/api/ops/banks"), 431, "header_too_large")
    assert "Authorization" in error["fields"]


# --- numbers in ASCII digits only --------------------------------------------


ARABIC_100 = "\u0661\u0660\u0660"
FULLWIDTH_100 = "\uff11\uff10\uff10"


@pytest.mark.parametrize("digits", [ARABIC_100, FULLWIDTH_100, "1\u0660"])
@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        (
            "transfer-funds",
            {
                "from_account_id": "00000000-0000-0000-0000-00000000000a",
                "to_account_id": "00000000-0000-0000-0000-00000000000b",
            },
            "amount",
        ),
        ("set-flag", {"name": "digits", "enabled": True}, "percentage"),
        ("freeze-payouts", {"scope": "global", "reason": "r"}, "ttl_seconds"),
        (
            "reroute-payouts",
            {
                "from_bank_id": "00000000-0000-0000-0000-00000000000a",
                "to_bank_id": "00000000-0000-0000-0000-00000000000b",
                "currency": "XOF",
            },
            "count",
        ),
    ],
)
def test_numbers_in_other_digits_than_ascii_are_refused(
    pay_admin: APIClient, action: str, body: dict[str, Any], field: str, digits: str
) -> None:
    # Decimal(ARABIC_100) is 100: an amount moved that nobody typed in digits
    resp = post_action(pay_admin, action, {**body, field: digits})
    assert_error(resp, 400, "validation_error", field)


def _number_fields(field: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(field, serializers.Serializer):
        for name, child in field.fields.items():
            yield from _number_fields(child, f"{path}.{name}")
    elif isinstance(field, serializers.ListSerializer | serializers.ListField):
        yield from _number_fields(field.child, f"{path}[]")
    elif isinstance(field, serializers.DictField):
        yield from _number_fields(field.child, f"{path}{{}}")
    elif isinstance(
        field,
        serializers.DecimalField | serializers.IntegerField | serializers.FloatField,
    ):
        yield path, field


def test_every_number_an_action_takes_is_ascii_only() -> None:
    loose = [
        path
        for spec in all_actions()
        for path, field in _number_fields(spec.input(), spec.name)
        if not isinstance(field, AsciiDecimalField | AsciiIntegerField)
    ]
    assert loose == []


def test_plan_constraints_take_ascii_digits_only() -> None:
    with pytest.raises(ConstraintError) as refused:
        Constraints.from_params({"max_cost": ARABIC_100})
    assert "max_cost" in refused.value.fields
    assert Constraints.from_params({"max_cost": "100"}).max_cost == 100


@pytest.mark.parametrize(
    ("frame", "decoded"),
    [
        ("[" * 100_000, None),  # a socket frame: was a RecursionError (1011)
        (_nested(5_000), None),
        ('{"type": "refresh"}', {"type": "refresh"}),
    ],
)
def test_a_socket_frame_nested_too_deep_is_ignored(frame: str, decoded: Any) -> None:
    assert asyncio.run(KpiConsumer.decode_json(frame)) == decoded


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_list_paging_takes_ascii_digits_only(pay_admin: APIClient, param: str) -> None:
    resp = pay_admin.get("/api/ops/banks", {param: ARABIC_100[:2]})
    assert_error(resp, 400, "validation_error", param)
    assert pay_admin.get("/api/ops/banks", {param: "10"}).status_code == 200


@pytest.mark.parametrize("number", ["1e99999", "-1E400", "1.5e309"])
def test_a_number_overflowing_to_infinity_is_a_400_and_is_audited(
    pay_admin: APIClient, number: str
) -> None:
    # (found by tests/fuzz/test_inputs.py) the literal Infinity was refused,
    # but 1e99999 parsed to float("inf"): its audit row, written as JSON with
    # Infinity in it, was refused by PostgreSQL's jsonb with a 500
    resp = pay_admin.post(
        "/api/ops/cancel-plan",
        f'{{"plan_id": {number}}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="overflow",
    )
    assert_error(resp, 400, "malformed_json")
    assert OpsActionLog.objects.get(status="rejected").action_type == "cancel_plan"
