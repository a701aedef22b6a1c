"""Every error under /api answers the DESIGN §6 body: JSON, never HTML, never 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from tests.helpers import assert_error, post_action


def rejected_rows(**filters: Any) -> list[OpsActionLog]:
    return list(OpsActionLog.objects.filter(status="rejected", **filters))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/nope", "/api/ops/nope", "/api/ops/pause-bank/", "/api/ops/x/y", "/api/"],
)
def test_unknown_api_url_is_json_404(pay_admin: APIClient, url: str) -> None:
    assert_error(pay_admin.get(url), 404, "not_found")
    assert_error(pay_admin.post(url, {}, format="json"), 404, "not_found")


@pytest.mark.django_db
def test_unknown_api_url_is_json_404_when_anonymous(anonymous: APIClient) -> None:
    assert_error(anonymous.get("/api/ops/nope"), 404, "not_found")


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_unknown_api_url_is_json_even_with_debug(pay_admin: APIClient) -> None:
    resp = pay_admin.get("/api/ops/does-not-exist", HTTP_ACCEPT="text/html")
    assert_error(resp, 404, "not_found")
    assert b"<html" not in resp.content.lower()


@pytest.mark.django_db
def test_unknown_bank_is_404_bank_not_found(pay_admin: APIClient) -> None:
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(uuid.uuid4()), "reason": "timeouts"},
    )
    error = assert_error(resp, 404, "bank_not_found")
    assert "bank_profile_id" in error["fields"]
    assert not TreasuryControl.objects.exists()
    [row] = rejected_rows(action_type="pause_bank")
    assert row.details["code"] == "bank_not_found"


@pytest.mark.django_db
def test_wrong_method_is_405(pay_admin: APIClient) -> None:
    assert_error(pay_admin.get("/api/ops/pause-bank"), 405, "method_not_allowed")
    assert_error(pay_admin.delete("/api/ops/pause-bank"), 405, "method_not_allowed")
    assert_error(
        pay_admin.post("/api/ops/controls", {}, format="json"),
        405,
        "method_not_allowed",
    )


@pytest.mark.django_db
def test_malformed_json_is_400_with_a_rejected_row(
    pay_admin: APIClient, bank: Any
) -> None:
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        '{"bank_profile_id": "',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="malformed-1",
    )
    assert_error(resp, 400, "malformed_json")
    [row] = rejected_rows(action_type="pause_bank")
    assert row.actor_id == "alice"
    assert row.details["code"] == "malformed_json"
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
def test_malformed_json_is_checked_after_the_role(finance_ops: APIClient) -> None:
    resp = finance_ops.post(
        "/api/ops/pause-bank",
        "{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="malformed-2",
    )
    assert_error(resp, 403, "forbidden")
    [row] = rejected_rows(action_type="pause_bank")
    assert row.actor_id == "bruno"
    assert row.details["code"] == "forbidden"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("bank_profile_id=x&reason=y", "application/x-www-form-urlencoded"),
        ("pause it please", "text/plain"),
        ("<bank/>", "application/xml"),
    ],
)
def test_unsupported_media_type_is_415(
    pay_admin: APIClient, bank: Any, body: str, content_type: str
) -> None:
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        body,
        content_type=content_type,
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert_error(resp, 415, "unsupported_media_type")
    [row] = rejected_rows(action_type="pause_bank")
    assert row.details["code"] == "unsupported_media_type"
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
def test_multipart_body_is_415(pay_admin: APIClient, bank: Any) -> None:
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "form"},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="multipart-1",
    )
    assert_error(resp, 415, "unsupported_media_type")
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ['["a", "b"]', '"a string"', "42", "null", "true"])
def test_json_body_that_is_not_an_object_is_400(
    pay_admin: APIClient, bank: Any, body: str
) -> None:
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    error = assert_error(resp, 400, "validation_error")
    assert "non_field_errors" in error["fields"]
    [row] = rejected_rows(action_type="pause_bank")
    assert row.details["code"] == "validation_error"
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/ops/pause-bank"),
        ("post", "/api/ops/resume-bank"),
        ("get", "/api/ops/controls"),
        ("get", "/api/ops/banks"),
        ("get", "/api/ops/payouts"),
        ("get", "/api/ops/actions"),
        ("get", "/api/ops/actions/export"),
        ("get", "/api/ops/audit/verify"),
    ],
)
def test_anonymous_is_401_with_www_authenticate(
    anonymous: APIClient, method: str, url: str
) -> None:
    resp = getattr(anonymous, method)(url, {}, format="json")
    assert_error(resp, 401, "not_authenticated")
    assert resp["WWW-Authenticate"].startswith("Bearer")
    assert not OpsActionLog.objects.exists()


@pytest.mark.django_db
def test_bad_token_is_401_token_invalid(anonymous: APIClient) -> None:
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    resp = anonymous.get("/api/ops/controls")
    assert_error(resp, 401, "token_invalid")
    assert resp["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_unknown_role_on_a_get_is_403(outsider: APIClient) -> None:
    assert_error(outsider.get("/api/ops/controls"), 403, "forbidden")


@pytest.mark.django_db
def test_invalid_list_parameters_are_400(pay_admin: APIClient) -> None:
    error = assert_error(
        pay_admin.get("/api/ops/controls?limit=0"), 400, "validation_error"
    )
    assert "limit" in error["fields"]
    error = assert_error(
        pay_admin.get("/api/ops/payouts?offset=-1"), 400, "validation_error"
    )
    assert "offset" in error["fields"]


@pytest.mark.django_db
def test_body_over_the_upload_limit_is_json_413(
    pay_admin: APIClient, bank: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    resp = pay_admin.post(
        "/api/ops/pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "x" * 20_000},
        format="json",
        HTTP_IDEMPOTENCY_KEY="too-big",
    )
    assert_error(resp, 413, "request_too_large")
    assert not TreasuryControl.objects.exists()


@pytest.mark.django_db
def test_disallowed_host_is_json_400(pay_admin: APIClient) -> None:
    resp = pay_admin.get("/api/ops/controls", HTTP_HOST="evil.example")
    assert_error(resp, 400, "bad_request")
