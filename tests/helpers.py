"""Helpers the tests share (fixtures live in conftest.py, factories in
factories.py): calling an ops action and signing an approval as a client
does, checking the error envelope, reading audit rows, the test Redis, a free
port."""

from __future__ import annotations

import os
import re
import socket
import uuid
from typing import Any

from django.db import connection
from rest_framework.response import Response
from rest_framework.test import APIClient

from audit.models import OpsActionLog

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def bearer_client(token: str, **headers: str) -> APIClient:
    """An API client that sends ``Authorization: Bearer <token>``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
    return client


def post_action(
    client: APIClient,
    action: str,
    body: Any,
    *,
    key: str | None = "auto",
    **extra: Any,
) -> Response:
    """POST /api/ops/<action> as JSON with an Idempotency-Key (new unless given)."""
    headers = {}
    if key == "auto":
        key = uuid.uuid4().hex
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(f"/api/ops/{action}", body, format="json", **headers, **extra)


def sign(client: Any, approval_id: str, decision: str = "approve", **kw: Any) -> Any:
    """An approver's decision on an approval request, as the API takes it."""
    return post_action(client, f"approve/{approval_id}", {"decision": decision}, **kw)


def assert_error(
    resp: Any, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The response is the DESIGN §6 error body, as JSON, with ``status`` and
    ``code`` (and ``field`` among its field errors); returns the error."""
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"].startswith("application/json"), resp["Content-Type"]
    body = resp.json()
    assert set(body) == {"ok", "error"}
    assert body["ok"] is False
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert SNAKE.match(error["code"])
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["fields"], dict)
    if field is not None:
        assert field in error["fields"], body
    return error


def audit_rows(action_type: str, **filters: Any) -> list[OpsActionLog]:
    """The audit rows of one action, oldest first."""
    return list(
        OpsActionLog.objects.filter(action_type=action_type, **filters).order_by("seq")
    )


def redis_url() -> str:
    """The test Redis; under pytest-xdist each worker gets its own database
    (db 15, 14, … counting down) so one worker's FLUSHDB spares the others."""
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if not index:
        return base
    root, _, db = base.rpartition("/")
    return f"{root}/{int(db or 0) - index}"


def as_role(role: str) -> None:
    """The rest of the test transaction runs as ``role`` (rolled back with it)."""
    with connection.cursor() as cur:
        cur.execute(f'SET LOCAL ROLE "{role}"')


def free_port() -> int:
    """An ephemeral port from the kernel: a fixed range would let two xdist
    workers pick the same port, and one's tests then run against the other's
    server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def own_cache(settings: Any) -> str:
    """Give the running test caches of its own: a key prefix nobody else
    uses, on every alias (pytest-django's ``settings`` restores them)."""
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    prefix = f"t{uuid.uuid4().hex[:12]}"
    for conf in caches.values():
        conf["KEY_PREFIX"] = ":".join(filter(None, [conf.get("KEY_PREFIX"), prefix]))
    settings.CACHES = caches
    return prefix
