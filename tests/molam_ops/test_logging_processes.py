"""Structured logs in other processes (issue 6 item 4): a real Celery worker
logs a task published under a request id with that id (carried in the message
headers, and on into the task it queues), and ``manage.py`` booted from a
production environment prints JSON lines on stdout with no secret in them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from molam_ops.request_context import request_id_var
from molam_ops.tokens import mint
from tests.molam_ops.test_logging import BASE_DIR, parse
from tests.production import REQUIRED_SECRETS


def _broker(var: Path) -> dict[str, str]:
    for folder in ("broker", "broker-control"):
        (var / folder).mkdir(parents=True, exist_ok=True)
    return {  # the folders settings.py gives the worker under MOLAM_VAR_DIR
        "data_folder_in": str(var / "broker"),
        "data_folder_out": str(var / "broker"),
        "control_folder": str(var / "broker-control"),
    }


def _read_lines(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def test_the_request_id_travels_in_task_headers_to_a_real_worker(
    tmp_path: Path,
) -> None:
    """A message published under a request id carries it in its headers; a
    real worker (JSON logs) logs the task under it, and so does the task the
    first one queues. Nothing secret passed to a task reaches its output."""
    var = tmp_path / "var"
    publisher = Celery(
        "publisher", broker="filesystem://", broker_transport_options=_broker(var)
    )
    secret_key = f"worker-secret-key-{uuid.uuid4().hex}"
    token = mint(sub="alice", roles=["pay_admin"])
    bound = request_id_var.set("req-worker-b2")
    try:
        publisher.send_task(
            "tests.log_probe.parent", args=[f"{secret_key} Bearer {token}"]
        )
    finally:
        request_id_var.reset(bound)
    (message_file,) = (var / "broker").glob("*.msg")
    message = json.loads(message_file.read_text())
    assert message["headers"]["request_id"] == "req-worker-b2"
    assert message["headers"]["task"] == "tests.log_probe.parent"

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    env.update(
        REDIS_URL="",  # the filesystem broker above
        MOLAM_VAR_DIR=str(var),
        TESTING="1",
        LOG_FORMAT="json",
        DJANGO_SECRET_KEY=secret_key,
    )
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "tests.molam_ops.log_probe"),
            *("--quiet", "worker", "--pool", "solo", "--without-mingle"),
            *("--without-gossip", "--without-heartbeat"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=_read_lines, args=(worker.stdout, out), daemon=True),
        threading.Thread(target=_read_lines, args=(worker.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("probe child" in line for line in out):
            assert worker.poll() is None, "".join(out + err)
            assert time.monotonic() < deadline, "".join(out + err)
            time.sleep(0.2)
        time.sleep(0.5)  # the child's "succeeded" line comes right after
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=5)

    stdout = "".join(out)
    # nothing but JSON lines on the worker's stdout, bar the one line Celery
    # prints (not logs) when it is stopped
    shutdown = "worker: Warm shutdown (MainProcess)"
    records = parse("".join(line for line in out if line.strip() != shutdown))
    probes = {
        r["message"].split()[1]: r for r in records if r["logger"] == "tests.log_probe"
    }
    assert probes["parent"]["request_id"] == probes["child"]["request_id"]
    assert probes["child"]["request_id"] == "req-worker-b2"
    assert "[REDACTED]" in probes["parent"]["message"]
    succeeded = [r for r in records if "succeeded" in r["message"]]
    assert succeeded and all(r["request_id"] == "req-worker-b2" for r in succeeded)
    for output in (stdout, "".join(err)):
        assert secret_key not in output
        assert token.split(".", 1)[1] not in output


# --- (d) a process booted from the environment ---------------------------------------

SCRIPT = """
import logging
from django.conf import settings
log = logging.getLogger("molam_ops.boot")
log.info("database %s", settings.DATABASES["default"])
log.warning("broker %s token %s", settings.CELERY_BROKER_URL, settings.EVENT_BUS_TOKEN)
try:
    raise ValueError(f"keys {settings.PLAN_DATA_KEYS} secret {settings.SECRET_KEY}")
except ValueError:
    log.exception("boot probe failed")
"""


def _public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def test_manage_py_prints_json_lines_on_stdout_without_secrets(tmp_path: Path) -> None:
    secrets = {
        "DJANGO_SECRET_KEY": f"boot-secret-{uuid.uuid4().hex}",
        **REQUIRED_SECRETS,
        "EVENT_BUS_TOKEN": f"boot-evt-{uuid.uuid4().hex}",
    }
    db_password, redis_password = uuid.uuid4().hex, uuid.uuid4().hex
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "molam_ops.settings",
        "DEBUG": "0",  # production: LOG_FORMAT defaults to json
        "MOLAM_VAR_DIR": str(tmp_path / "var"),
        "MOLAM_ID_JWT_PUBLIC": _public_pem(),
        # never connected to: only their passwords matter here
        "DATABASE_URL": f"postgres://ops:{db_password}@127.0.0.1:1/ops",
        "REDIS_URL": f"redis://:{redis_password}@127.0.0.1:1/0",
        **secrets,
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = parse(proc.stdout)
    assert [r["message"].split()[0] for r in records] == ["database", "broker", "boot"]
    assert records[2]["level"] == "ERROR" and "ValueError" in records[2]["exc_info"]
    for secret in (*secrets.values(), db_password, redis_password):
        assert secret not in proc.stdout + proc.stderr

    # with DEBUG on and no LOG_FORMAT, lines are for humans
    env["DEBUG"] = "1"
    plain = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    first = plain.stdout.splitlines()[0]
    assert not first.startswith("{") and " INFO molam_ops.boot database " in first
