"""CORS on the refusals made in front of Django (the ASGI layer): the
penalty box's 429 and the body limit's 413 are readable by a page of an
allowed origin too, through the real ASGI application."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core.signals import request_started
from django.db import connections

from molam_ops.asgi import application
from molam_ops.penalty_box import penalty_box
from molam_ops.tokens import mint

APP = "http://localhost:8081"
FROZEN = datetime(2026, 11, 28, 12, 0, 45, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("tx_db")


@pytest.fixture(autouse=True)
def limited(settings: Any) -> Iterator[None]:
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.RATE_LIMIT_PER_MINUTE = 1
    penalty_box.clear()
    yield
    penalty_box.clear()


def call(method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            response = await client.request(method, path, headers=headers, **kw)
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        return response

    return asyncio.run(run())


def test_the_penalty_box_429_is_readable_by_an_allowed_origin() -> None:
    with time_machine.travel(FROZEN, tick=False):
        bearer = "Bearer " + mint(sub=f"flood-{uuid.uuid4().hex[:8]}", roles=["ops"])
        headers = {"Authorization": bearer, "Origin": APP}
        assert call("GET", "/api/ops/banks", headers).status_code == 200
        assert call("GET", "/api/ops/banks", headers).status_code == 429  # boxed
        entered: list[Any] = []

        def count(**_kw: Any) -> None:
            entered.append(1)

        request_started.connect(count)
        try:
            boxed = call("GET", "/api/ops/banks", headers)
        finally:
            request_started.disconnect(count)
        assert entered == [], "refused by DRF, not by the box in front of Django"
        other = call(
            "GET", "/api/ops/banks", {**headers, "Origin": "https://evil.example"}
        )
    assert boxed.status_code == 429
    assert boxed.json()["error"]["code"] == "rate_limited"
    assert boxed.headers["Retry-After"] == "15"
    assert boxed.headers["Access-Control-Allow-Origin"] == APP
    assert "Retry-After" in boxed.headers["Access-Control-Expose-Headers"]
    assert other.status_code == 429
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_asgi_body_limit_413_is_readable_by_an_allowed_origin(
    settings: Any,
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    headers = {"Origin": APP, "Content-Type": "application/json"}
    resp = call("POST", "/api/ops/pause-bank", headers, content=b"x" * 4096)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "request_too_large"
    assert resp.headers["Access-Control-Allow-Origin"] == APP
    assert "origin" in resp.headers["Vary"].lower()
