"""How an outage is answered and configured: 503 service_unavailable from
Django's own error handler (an outage met outside a DRF view, e.g. in a
middleware reading the session), and the timeouts that keep a request from
waiting for a dependency that is down. The served outages themselves are in
tests/faults/."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from molam_ops.errors import handler500
from molam_ops.lib import envconfig
from tests.helpers import assert_error


def _answer(path: str, exc: Exception) -> HttpResponse:
    request = RequestFactory().get(path)
    try:
        raise exc
    except Exception:  # Django calls handler500 inside its except
        resp = handler500(request)
    # what the test client adds, for assert_error
    resp.json = lambda: json.loads(resp.content)  # type: ignore[attr-defined]
    return resp


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (OperationalError("connection refused"), "database"),
        (InterfaceError("connection already closed"), "database"),
        (RedisConnectionError("Connection refused."), "redis"),
    ],
)
def test_an_outage_outside_a_view_is_503_with_retry_after(
    exc: Exception, dependency: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    resp = _answer("/api/ops/controls", exc)
    error = assert_error(resp, 503, "service_unavailable")
    assert error["fields"] == {"dependency": dependency}
    assert int(resp["Retry-After"]) > 0
    # one line naming the dependency; Django's own error line is not added
    lines = [r for r in caplog.records if dependency in r.getMessage()]
    assert len(lines) == 1
    assert resp._has_been_logged  # type: ignore[attr-defined]


def database_gone(get_response: Any) -> Any:
    """A middleware meeting the database down, as the session or the
    operator's language preference do."""

    def middleware(request: Any) -> Any:
        raise OperationalError("connection to server failed: Connection refused")

    return middleware


@pytest.mark.parametrize("debug", [False, True])
def test_an_outage_in_a_middleware_is_503_in_debug_too(
    settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    position = settings.MIDDLEWARE.index(
        "molam_ops.middleware.RequestContextMiddleware"
    )
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: position + 1],
        f"{__name__}.database_gone",
        *settings.MIDDLEWARE[position + 1 :],
    ]
    resp = Client(raise_request_exception=False).get("/api/ops/controls")
    error = assert_error(resp, 503, "service_unavailable")
    assert error["fields"] == {"dependency": "database"}
    assert int(resp["Retry-After"]) > 0
    assert resp["X-Request-ID"]


def test_an_admin_page_gets_a_plain_503() -> None:
    resp = _answer("/admin/", OperationalError("connection refused"))
    assert resp.status_code == 503
    assert resp["Content-Type"].startswith("text/plain")
    assert int(resp["Retry-After"]) > 0


def test_a_bug_is_still_a_500() -> None:
    assert_error(_answer("/api/ops/controls", KeyError("x")), 500, "internal_error")


def test_postgresql_waits_a_bounded_time_to_connect() -> None:
    config = envconfig.database(
        {"ENGINE": "django.db.backends.postgresql", "NAME": "x"},
        conn_max_age=60,
        connect_timeout=4,
    )
    assert config["OPTIONS"]["connect_timeout"] == 4
    assert config["CONN_HEALTH_CHECKS"] is True


def test_redis_waits_are_bounded(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6379/0"
    cache = envconfig.caches(url, key_prefix="", cache_dir=tmp_path, timeout=0.25)
    options = cache["default"]["OPTIONS"]
    assert options == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
    [host] = envconfig.channel_layers(url, timeout=0.25)["default"]["CONFIG"]["hosts"]
    assert host["socket_connect_timeout"] == 0.25


@pytest.mark.django_db
def test_every_fallback_is_exported_from_the_first_scrape(client: Client) -> None:
    text = client.get("/metrics").content.decode()
    for use in ("cache", "rate_limit", "broker", "channel_layer"):
        series = (
            f'molam_ops_dependency_fallback_total{{dependency="redis",use="{use}"}}'
        )
        assert series in text
