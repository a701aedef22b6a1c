"""Structured logs (issue 6 item 4): one JSON object per line on stdout with
time, level, logger, message, request id, actor, action and outcome; the
request id follows an action into its Celery tasks (eagerly here; through
real message headers to a real worker in test_logging_processes.py); no token,
key or password reaches a line, whatever the flow (bad token, good token, a
failing action, an exception logged with its locals)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from molam_ops.identity import ensure_dev_keypair
from molam_ops.logs import JsonFormatter
from molam_ops.tokens import mint
from plans.models import Plan
from tests.factories import BankProfileFactory
from tests.helpers import bearer_client, post_action
from tests.plans.plan_helpers import ROUTING, rails

BASE_DIR = Path(settings.BASE_DIR)
KEYS = {"time", "level", "logger", "message", "request_id", "actor", "action"}


def parse(output: str) -> list[dict[str, Any]]:
    """Every line of ``output`` is one JSON object with the stable keys."""
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    for record in records:
        assert KEYS | {"outcome"} <= record.keys(), record
    return records


def action_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["logger"] == "molam_ops.actions"]


@pytest.fixture
def log_output() -> Iterator[Callable[[], str]]:
    """What the configured console handler (its filters included) writes
    during the test, in JSON whatever LOG_FORMAT the test run has."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    previous_stream = handler.setStream(stream)
    previous_formatter = handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        yield stream.getvalue
    finally:
        handler.setFormatter(previous_formatter)
        handler.setStream(previous_stream)  # type: ignore[arg-type]


def pause_body(bank: Any) -> dict[str, str]:
    return {"bank_profile_id": str(bank.id), "reason": "connector timeouts"}


# --- (a) one line per action call ------------------------------------------------


def test_an_action_request_logs_one_json_line(
    db: None, bank: Any, pay_admin: APIClient, log_output: Callable[[], str]
) -> None:
    resp = post_action(
        pay_admin, "pause-bank", pause_body(bank), HTTP_X_REQUEST_ID="req-log-a1"
    )
    assert resp.status_code == 200, resp.json()
    assert resp["X-Request-ID"] == "req-log-a1"

    (line,) = action_lines(parse(log_output()))
    assert {k: line[k] for k in ("level", "request_id", "actor", "action")} == {
        "level": "INFO",
        "request_id": "req-log-a1",
        "actor": "alice",
        "action": "pause_bank",
    }
    assert line["outcome"] == "executed"
    assert line["message"] == "action pause_bank executed"
    assert line["action_id"] == resp.json()["log"]["action_id"]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    moment = datetime.fromisoformat(line["time"])
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(tz=moment.tzinfo) - moment) < timedelta(minutes=1)


def test_refusals_and_replays_are_one_line_each(
    db: None,
    bank: Any,
    pay_admin: APIClient,
    finance_ops: APIClient,
    log_output: Callable[[], str],
) -> None:
    key = uuid.uuid4().hex
    body = pause_body(bank)
    calls = [
        (pay_admin, "req-first", 200),
        (pay_admin, "req-replay", 200),  # same key, same body
        (finance_ops, "req-denied", 403),  # pause-bank is pay_admin's only
    ]
    for client, rid, status in calls:
        resp = post_action(client, "pause-bank", body, key=key, HTTP_X_REQUEST_ID=rid)
        assert resp.status_code == status, resp.json()
    again = post_action(pay_admin, "pause-bank", body, HTTP_X_REQUEST_ID="req-again")
    assert again.status_code == 409  # already paused, under a new key

    seen = [
        (r["request_id"], r["actor"], r["outcome"], r.get("error_code"))
        for r in action_lines(parse(log_output()))
    ]
    assert seen == [
        ("req-first", "alice", "executed", None),
        ("req-replay", "alice", "replayed", None),
        ("req-denied", "bruno", "rejected", "forbidden"),
        ("req-again", "alice", "rejected", "bank_already_paused"),
    ]


def test_an_id_from_outside_is_kept_only_if_safe(
    db: None, bank: Any, pay_admin: APIClient, log_output: Callable[[], str]
) -> None:
    hostile = 'x" injected\nline'
    resp = post_action(
        pay_admin, "pause-bank", pause_body(bank), HTTP_X_REQUEST_ID=hostile
    )
    (line,) = action_lines(parse(log_output()))
    assert line["request_id"] == resp["X-Request-ID"] != hostile


def test_an_action_run_at_quorum_is_logged_under_its_requester(
    db: None, client_for: Callable[..., APIClient], log_output: Callable[[], str]
) -> None:
    alice = client_for("pay_admin", sub="alice")
    freeze = {"scope": "global", "reason": "incident 42"}
    asked = post_action(alice, "freeze-payouts", freeze, HTTP_X_REQUEST_ID="req-ask")
    assert asked.status_code == 202, asked.json()
    approval_id = asked.json()["approval"]["id"]
    for sub, role, rid in (
        ("bruno", "finance_ops", "req-s1"),
        ("amadou", "pay_admin", "req-s2"),
    ):
        resp = post_action(
            client_for(role, sub=sub),
            f"approve/{approval_id}",
            {"decision": "approve"},
            HTTP_X_REQUEST_ID=rid,
        )
        assert resp.status_code == 200, resp.json()

    seen = [
        (r["request_id"], r["actor"], r["action"], r["outcome"])
        for r in action_lines(parse(log_output()))
    ]
    assert seen == [
        ("req-ask", "alice", "freeze_payouts", "requested"),
        ("req-s1", "bruno", "approve", "executed"),
        # inside amadou's call, the freeze runs as alice's action
        ("req-s2", "alice", "freeze_payouts", "executed"),
        ("req-s2", "amadou", "approve", "executed"),
    ]


# --- (b) the request id follows the action into its tasks -------------------------


def test_a_task_queued_by_a_request_logs_under_its_request_id(
    tx_db: None, pay_admin: APIClient, settings: Any, log_output: Callable[[], str]
) -> None:
    """generate-plan queues the planner task when it commits; the task (eager
    here) records the plan through ``record_plan`` as the system."""
    settings.SIRA_URL = ""
    rails()
    resp = post_action(
        pay_admin, "generate-plan", ROUTING, HTTP_X_REQUEST_ID="req-plan-b1"
    )
    assert resp.status_code == 202, resp.json()
    plan = Plan.objects.get(pk=resp.json()["plan"]["id"])
    assert plan.status == "pending"  # the task did run

    lines = {(r["action"], r["outcome"]): r for r in action_lines(parse(log_output()))}
    asked = lines[("generate_plan", "executed")]
    recorded = lines[("record_plan", "executed")]
    assert asked["actor"] == "alice"
    assert recorded["actor"] != "alice"  # the worker acts as the system
    assert asked["request_id"] == recorded["request_id"] == "req-plan-b1"
    assert asked["action_id"] != recorded["action_id"]


# --- (c) no secret in any line ------------------------------------------------------


class _RefuseInserts:
    """A real trigger refusing inserts into ``table`` with ``message``, as a
    database does when it echoes a value in an error."""

    def __init__(self, table: str, message: str) -> None:
        self.table, self.message = table, message

    def __enter__(self) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(
                    "CREATE FUNCTION test_log_refuse() RETURNS trigger LANGUAGE "
                    f"plpgsql AS $$ BEGIN RAISE EXCEPTION '{self.message}'; END $$"
                )
                cur.execute(
                    f"CREATE TRIGGER test_log_refuse BEFORE INSERT ON {self.table} "
                    "FOR EACH ROW EXECUTE FUNCTION test_log_refuse()"
                )
            else:
                cur.execute(
                    f"CREATE TRIGGER test_log_refuse BEFORE INSERT ON {self.table} "
                    f"BEGIN SELECT RAISE(ABORT, '{self.message}'); END"
                )

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(f"DROP TRIGGER test_log_refuse ON {self.table}")
                cur.execute("DROP FUNCTION test_log_refuse()")
            else:
                cur.execute("DROP TRIGGER test_log_refuse")


def _forged_token() -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return mint(sub="mallory", roles=["pay_admin"], private_key=pem)


def _leaky(authorization: str) -> None:
    keys = settings.PLAN_DATA_KEYS
    raise RuntimeError(f"cannot use {authorization} with {keys} {settings.SECRET_KEY}")


def test_no_token_key_or_password_reaches_a_log_line(
    db: None, settings: Any, log_output: Callable[[], str]
) -> None:
    secret_key = f"test-secret-key-{uuid.uuid4().hex}"
    fernet_keys = [Fernet.generate_key().decode() for _ in range(2)]
    event_token = f"evt-{uuid.uuid4().hex}"
    redis_password = f"redis-pw-{uuid.uuid4().hex}"
    settings.SECRET_KEY = secret_key
    settings.PLAN_DATA_KEYS = fernet_keys
    settings.EVENT_BUS_TOKEN = event_token
    # read by the redaction only (the cache and broker are already built)
    settings.CELERY_BROKER_URL = f"redis://:{redis_password}@127.0.0.1:6379/2"
    token = mint(sub="alice", roles=["pay_admin"])
    forged = _forged_token()
    opaque = f"opaque-{uuid.uuid4().hex}"
    private_pem = ensure_dev_keypair()[0]
    banks = [BankProfileFactory(), BankProfileFactory()]

    # a forged token, an opaque one, then a good one
    for bad in (forged, opaque):
        client = bearer_client(bad)
        assert (
            post_action(client, "pause-bank", pause_body(banks[0])).status_code == 401
        )
    client = bearer_client(token)
    assert post_action(client, "pause-bank", pause_body(banks[0])).status_code == 200
    # a 500 inside an action, the database echoing secrets in its error
    echo = f"refused {token} {secret_key} {fernet_keys[0]} {event_token}"
    with _RefuseInserts("treasury_controls", echo):
        resp = post_action(client, "pause-bank", pause_body(banks[1]))
    assert resp.status_code == 500
    # an exception logged with its locals, a header dump and a key file
    probe = logging.getLogger("molam_ops.probe")
    try:
        _leaky(f"Bearer {token}")
    except RuntimeError:
        probe.exception(
            "leaky call failed with headers %r",
            {"HTTP_AUTHORIZATION": f"Bearer {opaque}"},
            extra={
                "locals": {
                    "token": opaque,
                    "settings": {"EVENT_BUS_TOKEN": event_token},
                    "urls": [settings.CELERY_BROKER_URL],
                    "keys": tuple(fernet_keys),
                },
            },
            stack_info=True,
        )
    probe.warning("loaded the signing key %s", private_pem)

    output = log_output()
    records = parse(output)
    # Django's request log (401s, the 500): the status, never the request object
    django_lines = [r for r in records if r["logger"] == "django.request"]
    assert sorted(r["status_code"] for r in django_lines) == [401, 401, 500]
    assert not any("request" in r for r in django_lines)
    (failed,) = [r for r in action_lines(records) if r["outcome"] == "failed"]
    assert failed["level"] == "ERROR" and failed["actor"] == "alice"
    traceback_line = next(
        r for r in records if "exc_info" in r and "refused" in r["exc_info"]
    )
    assert (
        "refused [REDACTED] [REDACTED] [REDACTED] [REDACTED]"
        in traceback_line["exc_info"]
    )
    leaky = next(r for r in records if r["logger"] == "molam_ops.probe")
    assert (
        "[REDACTED]" in leaky["exc_info"] and leaky["locals"]["token"] == "[REDACTED]"
    )

    pem_body = private_pem.strip().splitlines()[1]
    for secret in (
        token,
        token.split(".", 1)[1],
        forged.split(".", 1)[1],
        opaque,
        secret_key,
        *fernet_keys,
        event_token,
        redis_password,
        pem_body,
    ):
        assert secret not in output
