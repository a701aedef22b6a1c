"""``X-Forwarded-For`` through the servers that serve the app: gunicorn with
the uvicorn worker and ``gunicorn.conf.py`` (compose, k8s, the image) and
uvicorn as ``make run`` starts it (``scripts/run_local.py``).

uvicorn rewrites the client address from ``X-Forwarded-For`` before Django
sees the request when the peer is in its ``forwarded_allow_ips``; its default
is loopback, so these tests send from 127.0.0.1, with ``TRUSTED_PROXIES``
unset (nobody is believed) and naming 127.0.0.1 (the header is believed).
Each server has a copy of one migrated SQLite file; what it audited is read
from that file.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from molam_ops.tokens import mint
from tests.helpers import free_port
from tests.served import (
    ROOT,
    base_env,
    gunicorn_argv,
    run_local_argv,
    running,
    wait_for,
)

FORGED = "10.9.1.1"
ALLOWLIST = "10.9.0.0/16"


@dataclass
class Served:
    url: str
    db: Path

    def call(
        self, method: str, path: str, forwarded: str | None, body: Any = None
    ) -> tuple[int, Any]:
        headers = {
            "Authorization": "Bearer " + mint(sub="alice", roles=["pay_admin"]),
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        req = urllib.request.Request(  # noqa: S310 (a local test server)
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def banks(self) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT id FROM bank_profiles ORDER BY name")
            return [str(uuid.UUID(str(row[0]))) for row in rows]

    def refusals(self) -> list[tuple[str | None, dict[str, Any]]]:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT ip, details FROM ops_actions_log WHERE status = 'rejected'"
            ).fetchall()
        return [(ip, json.loads(details)) for ip, details in rows]


LAUNCHERS = {"gunicorn": gunicorn_argv, "make run": run_local_argv}


@pytest.fixture
def serve(tmp_path: Path, migrated: Path) -> Iterator[Any]:
    started: list[Any] = []

    def start(launcher: str, **settings: str) -> Served:
        var_dir = tmp_path / f"var-{len(started)}"
        var_dir.mkdir()
        db = var_dir / "db.sqlite3"
        shutil.copy(migrated, db)
        # gunicorn's and uvicorn's own variable, which a shell may hold: it
        # must not decide what is believed, TRUSTED_PROXIES alone does
        env = {**base_env(var_dir, db), "FORWARDED_ALLOW_IPS": "*", **settings}
        port = free_port()
        argv = LAUNCHERS[launcher](port, env)
        context = running(argv, env, var_dir / "server.log")
        proc = context.__enter__()
        started.append(context)
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, var_dir / "server.log")
        return Served(url=f"http://127.0.0.1:{port}", db=db)

    yield start
    for context in started:
        context.__exit__(None, None, None)


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_a_forged_header_from_loopback_is_not_believed(
    serve: Any, launcher: str
) -> None:
    server = serve(launcher, OPS_IP_ALLOWLIST=ALLOWLIST, TRUSTED_PROXIES="")
    status, body = server.call("GET", "/api/ops/controls", FORGED)
    assert status == 403, body
    assert body["error"]["code"] == "address_not_allowed"
    # the audit row names the peer, not the address the header claimed
    assert [ip for ip, _ in server.refusals()] == ["127.0.0.1"]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_a_trusted_proxy_is_believed(serve: Any, launcher: str) -> None:
    server = serve(launcher, OPS_IP_ALLOWLIST=ALLOWLIST, TRUSTED_PROXIES="127.0.0.1")
    status, body = server.call("GET", "/api/ops/controls", FORGED)
    assert status == 200, body
    pause = {"bank_profile_id": server.banks()[0], "reason": "proxy test"}
    status, body = server.call("POST", "/api/ops/pause-bank", FORGED, pause)
    assert status == 200, body
    assert body["log"]["ip"] == FORGED
    # without the header the proxy itself is the caller, outside the list
    status, body = server.call("GET", "/api/ops/controls", None)
    assert status == 403, body


def test_garbage_from_a_trusted_proxy_is_no_address(serve: Any) -> None:
    """uvicorn puts an unparseable X-Forwarded-For of a trusted proxy in the
    peer's place; the app takes it for an unknown address, never a 500."""
    server = serve("gunicorn", TRUSTED_PROXIES="127.0.0.1")
    forged = ("garbage", "203.0.113.5, garbage", "[::1", "203.0.113.5:x")
    for forwarded, bank in zip(forged, server.banks(), strict=False):
        pause = {"bank_profile_id": bank, "reason": "garbage test"}
        status, body = server.call("POST", "/api/ops/pause-bank", forwarded, pause)
        assert status == 200, (forwarded, body)
        assert body["log"]["ip"] is None, forwarded
    status, _page = server.call("GET", "/admin/login/", "garbage")
    assert status == 200


def test_garbage_is_refused_by_an_allowlist(serve: Any) -> None:
    server = serve("gunicorn", OPS_IP_ALLOWLIST=ALLOWLIST, TRUSTED_PROXIES="127.0.0.1")
    status, body = server.call("POST", "/api/ops/pause-bank", "garbage", {})
    assert status == 403, body
    assert body["error"]["code"] == "address_not_allowed"
    assert [ip for ip, _ in server.refusals()] == [None]


def test_a_bad_trusted_proxies_stops_gunicorn_in_one_line(
    tmp_path: Path, migrated: Path
) -> None:
    env = base_env(tmp_path, migrated)
    env["TRUSTED_PROXIES"] = "10.0.0.1/8"
    done = subprocess.run(
        [*gunicorn_argv(free_port(), env), "--check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: TRUSTED_PROXIES: '10.0.0.1/8'"), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
