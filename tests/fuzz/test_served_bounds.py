"""The request head is bounded by the HTTP server, as served in production
(gunicorn with gunicorn.conf.py) and by ``make run`` (scripts/run_local.py):
an oversized Authorization header is refused before it has all been sent,
and one within the head bound but over the app's is the app's §6 431."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from molam_ops.tokens import mint
from tests.helpers import free_port
from tests.served import (
    base_env,
    gunicorn_argv,
    manage,
    run_local_argv,
    running,
    wait_for,
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("bounds-migrated")
    db = var / "db.sqlite3"
    manage(base_env(var, db), "migrate", "--noinput")
    return db


@pytest.fixture(params=["gunicorn", "make run"])
def port(
    request: pytest.FixtureRequest, tmp_path: Path, migrated: Path
) -> Iterator[int]:
    db = tmp_path / "db.sqlite3"
    shutil.copy(migrated, db)
    env = base_env(tmp_path, db)
    port = free_port()
    launcher = gunicorn_argv if request.param == "gunicorn" else run_local_argv
    with running(launcher(port, env), env, tmp_path / "server.log") as proc:
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, tmp_path / "server.log")
        yield port


def test_an_oversized_header_is_refused_before_it_is_all_sent(port: int) -> None:
    # 20 kB of a 1 MB Authorization header and no end of the head: a server
    # that buffers any head (httptools) waits for the rest, and the read
    # below times out; a bounded one answers 400 now and closes
    start = b"GET /api/ops/banks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(start + b"a" * 20_000)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        assert resp.status == 400
        assert resp.getheader("Connection") == "close"


def test_an_authorization_header_over_the_apps_bound_is_a_431(port: int) -> None:
    token = mint(sub="alice", roles=["pay_admin"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # padded past 8 kB (not with spaces: the server trims those)
    padded = f"Bearer {token}{'a' * 9000}"
    conn.request("GET", "/api/ops/banks", headers={"Authorization": padded})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 431
    assert body["ok"] is False
    assert body["error"]["code"] == "header_too_large"
    # and the same token, as sent, is served
    conn.request("GET", "/api/ops/banks", headers={"Authorization": f"Bearer {token}"})
    assert conn.getresponse().status == 200


def test_a_nul_in_the_path_is_refused_as_served(port: int) -> None:
    # the ASGI server decodes %00 into the path Django routes
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/ops/flags/a%00b")
    resp = conn.getresponse()
    assert resp.status == 400
    assert json.loads(resp.read())["error"]["code"] == "invalid_character"
