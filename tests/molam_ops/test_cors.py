"""CORS: pages of CORS_ALLOWED_ORIGINS call the API with a bearer token.
A preflight is answered at once (no credentials, never 401, never counted
by the rate limit); every answer to an allowed origin, its refusals
included, carries Access-Control-Allow-Origin so the page can read it;
other origins get none; the list is empty by default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.lib import envconfig
from tests.helpers import assert_error, post_action

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APP = "http://localhost:8081"
PREFLIGHT = {
    "HTTP_ORIGIN": APP,
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, content-type, "
    "idempotency-key",
}


@pytest.fixture
def allowed(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [APP, "https://ops.example.com"]


def listed(header: str) -> set[str]:
    return {h.strip().lower() for h in header.split(",")}


def assert_cors(resp: Any, origin: str = APP) -> None:
    assert resp["Access-Control-Allow-Origin"] == origin
    assert "origin" in listed(resp["Vary"])
    # bearer tokens only: a cookie is never accepted across origins
    assert "Access-Control-Allow-Credentials" not in resp
    assert listed(resp["Access-Control-Expose-Headers"]) == {
        "idempotent-replayed",
        "retry-after",
    }


def test_the_list_is_empty_by_default() -> None:
    from django.conf import settings

    assert "CORS_ALLOWED_ORIGINS" not in os.environ
    assert settings.CORS_ALLOWED_ORIGINS == []
    resp = Client().options("/api/ops/freeze-payouts", **PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in resp
    resp = APIClient().get("/api/ops/banks", HTTP_ORIGIN=APP)
    assert resp.status_code == 401
    assert "Access-Control-Allow-Origin" not in resp


@pytest.mark.usefixtures("allowed")
def test_a_preflight_is_answered_without_credentials(settings: Any) -> None:
    settings.RATE_LIMIT_ANONYMOUS_PER_MINUTE = 2
    for _ in range(5):  # past the anonymous budget: a preflight is not counted
        resp = Client().options("/api/ops/freeze-payouts", **PREFLIGHT)
        assert resp.status_code == 200, resp.content
    assert_cors(resp)
    assert {"authorization", "content-type", "idempotency-key", "accept-language"} <= (
        listed(resp["Access-Control-Allow-Headers"])
    )
    assert "POST" in resp["Access-Control-Allow-Methods"]
    assert int(resp["Access-Control-Max-Age"]) > 0
    assert resp["X-Request-ID"]
    assert not OpsActionLog.objects.exists()  # no refusal, nothing audited
    # the anonymous budget is untouched: the first real 401s are still 401s
    assert APIClient().get("/api/ops/banks").status_code == 401


@pytest.mark.usefixtures("allowed")
@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost:9999", "https://localhost:8081"],
)
def test_other_origins_get_no_allow_origin(origin: str, pay_admin: APIClient) -> None:
    resp = Client().options(
        "/api/ops/freeze-payouts", **{**PREFLIGHT, "HTTP_ORIGIN": origin}
    )
    assert "Access-Control-Allow-Origin" not in resp
    resp = pay_admin.get("/api/ops/banks", HTTP_ORIGIN=origin)
    assert resp.status_code == 200  # answered (same as any client without CORS)
    assert "Access-Control-Allow-Origin" not in resp  # but no page may read it


@pytest.mark.usefixtures("allowed")
def test_an_allowed_origin_reads_answers_and_the_replay_header(
    pay_admin: APIClient, bank: Any
) -> None:
    resp = pay_admin.get("/api/ops/banks", HTTP_ORIGIN="https://ops.example.com")
    assert resp.status_code == 200
    assert_cors(resp, "https://ops.example.com")
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}
    first = post_action(pay_admin, "pause-bank", body, key="k-1", HTTP_ORIGIN=APP)
    assert first.status_code == 200, first.json()
    again = post_action(pay_admin, "pause-bank", body, key="k-1", HTTP_ORIGIN=APP)
    assert again["Idempotent-Replayed"] == "true"
    assert_cors(again)


@pytest.mark.usefixtures("allowed")
def test_refusals_carry_allow_origin(
    pay_admin: APIClient, ops: APIClient, outsider: APIClient, bank: Any
) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "r"}
    refusals = {
        401: APIClient().get("/api/ops/banks", HTTP_ORIGIN=APP),
        403: post_action(ops, "pause-bank", body, HTTP_ORIGIN=APP),
        404: pay_admin.get("/api/ops/no-such-thing", HTTP_ORIGIN=APP),
        400: post_action(pay_admin, "pause-bank", body, key=None, HTTP_ORIGIN=APP),
    }
    assert post_action(pay_admin, "pause-bank", body, key="p").status_code == 200
    refusals[409] = post_action(pay_admin, "pause-bank", body, HTTP_ORIGIN=APP)
    refusals[422] = post_action(
        pay_admin, "pause-bank", {**body, "reason": "other"}, key="p", HTTP_ORIGIN=APP
    )
    codes = {
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        400: "idempotency_key_required",
        409: "bank_already_paused",
        422: "idempotency_key_reused",
    }
    for status, resp in refusals.items():
        assert_error(resp, status, codes[status])
        assert_cors(resp)
    assert_cors(outsider.get("/api/ops/banks", HTTP_ORIGIN=APP))


@pytest.mark.usefixtures("allowed")
def test_a_rate_limited_caller_reads_retry_after(
    pay_admin: APIClient, settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 1
    assert pay_admin.get("/api/ops/banks", HTTP_ORIGIN=APP).status_code == 200
    resp = pay_admin.get("/api/ops/banks", HTTP_ORIGIN=APP)
    assert_error(resp, 429, "rate_limited")
    assert int(resp["Retry-After"]) > 0
    assert_cors(resp)


@pytest.mark.usefixtures("allowed")
def test_refusals_of_the_middlewares_carry_allow_origin(
    pay_admin: APIClient, settings: Any
) -> None:
    settings.OPS_IP_ALLOWLIST = ["203.0.113.0/24"]
    resp = pay_admin.get("/api/ops/banks", HTTP_ORIGIN=APP, REMOTE_ADDR="10.9.9.9")
    assert_error(resp, 403, "address_not_allowed")
    assert_cors(resp)
    settings.OPS_IP_ALLOWLIST = []
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    resp = post_action(pay_admin, "pause-bank", {"x": "y" * 2048}, HTTP_ORIGIN=APP)
    assert_error(resp, 413, "request_too_large")
    assert_cors(resp)


def database_gone(get_response: Any) -> Any:
    """The first middleware after CORS meets the database down."""

    def middleware(request: Any) -> Any:
        raise OperationalError("connection to server failed: Connection refused")

    return middleware


@pytest.mark.usefixtures("allowed")
def test_an_outage_503_carries_allow_origin(settings: Any) -> None:
    position = settings.MIDDLEWARE.index("corsheaders.middleware.CorsMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: position + 1],
        f"{__name__}.database_gone",
        *settings.MIDDLEWARE[position + 1 :],
    ]
    resp = Client(raise_request_exception=False).get("/api/ops/banks", HTTP_ORIGIN=APP)
    assert_error(resp, 503, "service_unavailable")
    assert_cors(resp)


@pytest.mark.usefixtures("allowed")
def test_only_the_api_speaks_cors() -> None:
    for path in ("/admin/login/", "/healthz", "/api-auth/login/"):
        resp = Client().get(path, HTTP_ORIGIN=APP)
        assert "Access-Control-Allow-Origin" not in resp, path
        resp = Client().options(path, **PREFLIGHT)
        assert "Access-Control-Allow-Origin" not in resp, path


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("", []),
        (
            " http://localhost:8081 , HTTPS://Ops.Example.com ",
            [APP, "https://ops.example.com"],
        ),
        ("https://[::1]:8443", ["https://[::1]:8443"]),
    ],
)
def test_origins_read_from_the_environment(
    raw: str, origins: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", raw)
    assert envconfig.origins(environ.Env(), "CORS_ALLOWED_ORIGINS") == origins


@pytest.mark.parametrize(
    "bad",
    [
        "localhost:8081",
        "http://localhost:8081/",
        "https://x.example/app",
        "*",
        "null",
        "http://[",
        "http://a:99999",
        "http://user@host",
    ],
)
def test_a_bad_origin_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{APP},{bad}")
    with pytest.raises(ImproperlyConfigured, match=r"^CORS_ALLOWED_ORIGINS: '"):
        envconfig.origins(environ.Env(), "CORS_ALLOWED_ORIGINS")
