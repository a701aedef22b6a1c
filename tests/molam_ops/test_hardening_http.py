"""Body size limit (against a real uvicorn), security headers, CSRF on session
writes, and ``check --deploy`` with production settings."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from controls.models import TreasuryControl
from molam_ops.identity import ensure_dev_keypair
from molam_ops.tokens import mint
from tests.factories import operator_user
from tests.helpers import assert_error, free_port, post_action
from tests.production import REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 10_000


@pytest.fixture(scope="module")
def uvicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The ASGI app as production serves it, with a 10 kB body limit."""
    var = tmp_path_factory.mktemp("h2-uvicorn")
    env = {
        **os.environ,
        "DEBUG": "1",
        "MOLAM_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "MOLAM_ID_JWT_PUBLIC": ensure_dev_keypair()[1],
        "DATA_UPLOAD_MAX_MEMORY_SIZE": str(LIMIT),
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "ERROR",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    port = free_port()
    log = (var / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            *("molam_ops.asgi:application", "--host", "127.0.0.1"),
            *("--port", str(port), "--no-access-log"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "uvicorn did not start: " + (var / "server.log").read_text()
                    )
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def exchange(port: int, head: str, *parts: bytes) -> tuple[int, dict[str, Any]]:
    """Send a request head and body parts over a raw socket; read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        for part in parts:
            sock.sendall(part)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, json.loads(resp.read())


def head(path: str, *lines: str) -> str:
    token = mint(sub="alice", roles=["pay_admin"])
    return "\r\n".join(
        [
            f"POST {path} HTTP/1.1",
            "Host: 127.0.0.1",
            f"Authorization: Bearer {token}",
            "Content-Type: application/json",
            "Idempotency-Key: h2-body-limit",
            *lines,
            "",
            "",
        ]
    )


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_declared_length_over_the_limit_is_refused_unread(uvicorn_port: int) -> None:
    # the 10 MB body is never sent: the answer cannot have waited for it
    status, body = exchange(
        uvicorn_port, head("/api/ops/pause-bank", "Content-Length: 10000000")
    )
    assert status == 413
    assert body["ok"] is False
    assert body["error"]["code"] == "request_too_large"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(uvicorn_port: int) -> None:
    # three 4 kB chunks and no last chunk: refused before the body ends
    parts = [chunk(b" " * 4096)] * 3
    status, body = exchange(
        uvicorn_port,
        head("/api/ops/pause-bank", "Transfer-Encoding: chunked"),
        *parts,
    )
    assert status == 413
    assert body["error"]["code"] == "request_too_large"


def test_a_chunked_body_within_the_limit_reaches_the_action(uvicorn_port: int) -> None:
    payload = json.dumps({"reason": "connector timeouts"}).encode()
    status, body = exchange(
        uvicorn_port,
        head("/api/ops/pause-bank", "Transfer-Encoding: chunked"),
        chunk(payload[:10]),
        chunk(payload[10:]),
        b"0\r\n\r\n",
    )
    # parsed: "reason" was read, only the bank is missing
    assert status == 400, body
    assert set(body["error"]["fields"]) == {"bank_profile_id"}


@pytest.mark.django_db
def test_over_the_limit_is_refused_before_routing(
    pay_admin: APIClient, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    resp = pay_admin.post("/api/ops/no-such-action", {"x": "y" * LIMIT}, format="json")
    assert_error(resp, 413, "request_too_large")


@pytest.mark.django_db
def test_security_headers(anonymous: APIClient) -> None:
    resp = anonymous.get("/admin/login/")
    assert resp.status_code == 200
    csp = resp["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert resp["X-Frame-Options"] == "DENY"
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Referrer-Policy"] == "same-origin"
    assert resp["Cross-Origin-Opener-Policy"] == "same-origin"
    # Swagger UI inlines its start-up script: no policy there
    assert "Content-Security-Policy" not in anonymous.get("/api/docs/")


@pytest.mark.django_db
def test_session_writes_need_the_csrf_token_and_jwt_writes_do_not(
    bank: Any, pay_admin: APIClient
) -> None:
    user = operator_user("csrf-admin", "pay_admin", is_staff=False)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}

    error = assert_error(post_action(browser, "pause-bank", body), 403, "forbidden")
    assert "CSRF" in error["message"]
    assert not TreasuryControl.objects.exists()

    browser.get("/admin/login/")  # the page that sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    resp = post_action(browser, "pause-bank", body, HTTP_X_CSRFTOKEN=token)
    assert resp.status_code == 200, resp.content

    # a bearer token is not sent by a browser on its own: no CSRF token needed
    other = {"bank_profile_id": str(bank.id), "reason": "again"}
    resp = post_action(pay_admin, "resume-bank", other)
    assert resp.status_code == 200, resp.content


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "SECURE_", "DEBUG", "TESTING"))
    }
    env.update(
        DEBUG="0",
        DJANGO_SECRET_KEY="kR3v-9xQ_tZp7LmW2sYb8NcJ4hUf6GdE1aVo0iXeTq5rKwHy_Bn3MzPj",
        MOLAM_ID_JWT_PUBLIC=ensure_dev_keypair()[1],
        **REQUIRED_SECRETS,
        ALLOWED_HOSTS="ops.molam.example",
        MOLAM_VAR_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize("path", ["/admin/login/", "/no-such-page"])
def test_bodies_outside_the_api_are_bounded_too(uvicorn_port: int, path: str) -> None:
    # Django's ASGI handler would spool the whole body to disk before any
    # view could refuse it
    lines = "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", ""])
    status, body = exchange(uvicorn_port, lines + "Content-Length: 10000000\r\n\r\n")
    assert status == 413
    assert body["error"]["code"] == "request_too_large"
    status, body = exchange(
        uvicorn_port,
        lines + "Transfer-Encoding: chunked\r\n\r\n",
        *[chunk(b"x" * 4096)] * 3,
    )
    assert status == 413
    assert body["error"]["code"] == "request_too_large"
