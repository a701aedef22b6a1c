"""The ASGI penalty box: a caller the throttle refused is refused again before
Django, until its window ends — only for the exact credential DRF verified."""

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
from prometheus_client import REGISTRY

from molam_ops.asgi import application
from molam_ops.penalty_box import penalty_box
from molam_ops.tokens import mint

# 45 s into a minute: the window ends 15 s later
FROZEN = datetime(2026, 11, 28, 12, 0, 45, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("tx_db")


@pytest.fixture(autouse=True)
def limited(settings: Any) -> Iterator[None]:
    settings.RATE_LIMIT_PER_MINUTE = 2
    penalty_box.clear()
    yield
    penalty_box.clear()


@pytest.fixture
def entered() -> Iterator[list[int]]:
    """Counts requests that reached Django's handler (request_started fires
    there, before any middleware)."""
    seen: list[int] = []

    def count(**_kwargs: Any) -> None:
        seen.append(1)

    request_started.connect(count)
    yield seen
    request_started.disconnect(count)


def token(sub: str) -> str:
    return "Bearer " + mint(sub=sub, roles=["pay_admin"], lang="en")


def get(authorization: str, path: str = "/api/ops/controls") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            response = await client.get(path, headers={"Authorization": authorization})
        # the view ran on asgiref's thread, with a connection of its own that
        # would outlive the test (and keep the test database from being dropped)
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        return response

    return asyncio.run(call())


def boxed_total() -> float:
    return (
        REGISTRY.get_sample_value("molam_ops_rate_limited_total", {"layer": "asgi"})
        or 0.0
    )


def test_a_refused_caller_is_refused_again_before_django(entered: list[int]) -> None:
    with time_machine.travel(FROZEN, tick=False):
        a = token(f"flood-{uuid.uuid4().hex[:8]}")
        assert [get(a).status_code for _ in range(2)] == [200, 200]
        first = get(a)  # refused by DRF's throttle: it boxes the token
        assert first.status_code == 429
        assert len(entered) == 3
        before = boxed_total()

        again = get(a)
        assert again.status_code == 429
        assert again.headers["Retry-After"] == "15"
        assert again.json() == first.json()
        assert again.json()["error"]["code"] == "rate_limited"
        assert len(entered) == 3, "the boxed request reached Django"
        assert boxed_total() == before + 1

        # never on health or non-API paths
        assert get(a, "/healthz").status_code == 200
        assert len(entered) == 4


def test_other_users_and_other_tokens_are_unaffected(entered: list[int]) -> None:
    sub = f"flood-{uuid.uuid4().hex[:8]}"
    with time_machine.travel(FROZEN, tick=False):
        a = token(sub)
        for _ in range(3):
            get(a)
        assert get(token(f"other-{uuid.uuid4().hex[:8]}")).status_code == 200
        # the same user's other token reaches Django (the user's budget is
        # spent, so DRF refuses it) and only then is it boxed
        second = token(sub) + " "
        count = len(entered)
        assert get(second).status_code == 429
        assert len(entered) == count + 1
        assert get(second).status_code == 429
        assert len(entered) == count + 1


def test_the_box_opens_at_the_end_of_the_window(entered: list[int]) -> None:
    with time_machine.travel(FROZEN, tick=False):
        a = token(f"flood-{uuid.uuid4().hex[:8]}")
        for _ in range(3):
            get(a)
        assert get(a).status_code == 429
    count = len(entered)
    with time_machine.travel(FROZEN.replace(minute=1, second=0), tick=False):
        assert get(a).status_code == 200
    assert len(entered) == count + 1


def test_a_forged_authorization_header_boxes_nobody(entered: list[int]) -> None:
    with time_machine.travel(FROZEN, tick=False):
        victim = token(f"victim-{uuid.uuid4().hex[:8]}")
        forged = victim[:-4] + ("AAAA" if not victim.endswith("AAAA") else "BBBB")
        # refused 401 by authentication, before the throttle: never boxed
        assert {get(forged).status_code for _ in range(4)} == {401}
        assert len(entered) == 4
        assert get(victim).status_code == 200
        assert get("garbage").status_code == 401
        assert len(entered) == 6
