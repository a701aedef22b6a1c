"""/healthz, /readyz and /metrics, with real dependencies up and down."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.helpers import post_action, redis_url


def test_healthz_needs_nothing(client: Client) -> None:
    # no database mark: liveness must not touch the database
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"ok": True}


@pytest.mark.django_db
@override_settings(REDIS_URL="")
def test_readyz_with_the_database_up(client: Client) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["ok"] is True
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "not configured"


@pytest.mark.django_db
def test_readyz_with_redis_up(client: Client, redis_client: Any) -> None:
    with override_settings(REDIS_URL=redis_url()):
        resp = client.get("/readyz")
    assert resp.status_code == 200, resp.content
    assert resp.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_stays_ready_when_redis_is_down(client: Client) -> None:
    # DESIGN §10: only the database gates readiness; Redis is reported
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {
        "ok": True,
        "checks": {"database": "ok", "redis": "unreachable"},
    }


# --- the database down: a real server process -------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture
def server_without_database(tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app with DATABASE_URL pointing at a closed port."""
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL", "TESTING"}
    }
    env.update(
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nothing",
        MOLAM_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="molam_ops.settings",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "molam_ops.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the process to listen (startup, not a timer)
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"uvicorn exited {proc.returncode}: {out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("uvicorn did not start listening")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_readyz_is_503_when_the_database_is_down(
    server_without_database: str,
) -> None:
    status, headers, raw = _get(f"{server_without_database}/readyz")
    assert status == 503, raw
    assert headers["Content-Type"].startswith("application/json")
    body = json.loads(raw)
    assert body["ok"] is False
    assert body["error"]["code"] == "not_ready"
    assert set(body["error"]["fields"]) == {"database"}
    assert "database" in body["error"]["message"]
    # liveness does not depend on the database
    status, _headers, raw = _get(f"{server_without_database}/healthz")
    assert status == 200
    assert json.loads(raw) == {"ok": True}


# --- metrics ---------------------------------------------------------------


def _action_counts(client: Client) -> dict[tuple[str, str], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/plain")
    text = resp.content.decode()
    assert "# TYPE molam_ops_action_requests_total counter" in text
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name != "molam_ops_action_requests":
            continue
        for sample in family.samples:
            if sample.name == "molam_ops_action_requests_total":
                labels = sample.labels
                counts[(labels["action"], labels["status"])] = sample.value
    return counts


@pytest.mark.django_db
def test_metrics_count_actions_by_action_and_status(
    client: Client, pay_admin: APIClient, finance_ops: APIClient, bank: Any
) -> None:
    before = _action_counts(client)
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}

    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert post_action(pay_admin, "pause-bank", body, key="m1").status_code == 409
    assert post_action(pay_admin, "pause-bank", body, key="m1").status_code == 409
    assert post_action(finance_ops, "pause-bank", body).status_code == 403

    after = _action_counts(client)

    def delta(status: str) -> float:
        key = ("pause_bank", status)
        return after.get(key, 0) - before.get(key, 0)

    assert delta("executed") == 1
    assert delta("rejected") == 2
    assert delta("replayed") == 1
    text = client.get("/metrics").content.decode()
    assert 'molam_ops_action_requests_total{action="pause_bank",status="executed"}' in (
        text
    )
    assert "molam_ops_action_duration_seconds_bucket" in text
