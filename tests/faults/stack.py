"""The fault suite's production-like stack: a PostgreSQL and a Redis of the
test's own, the project served by gunicorn with a uvicorn worker (as the
image serves it) and a Celery worker with beat (the outbox relay), plus a
client that drives ops actions through the API and the checks that follow
an outage: effects, audit rows, outbox events, the event stream."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from molam_ops.tokens import mint
from tests.helpers import free_port
from tests.served import BIN, base_env, manage, running, wait_for
from tests.servers import OwnPostgres, OwnRedis, own_postgres, own_redis

STREAM = "molam.ops.events"


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    pg: OwnPostgres
    redis: OwnRedis
    database_url: str
    web_log: Path
    web: Any
    token: str

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(query, args).fetchall()

    def banks(self, count: int) -> list[str]:
        rows = self.sql("SELECT id FROM bank_profiles ORDER BY code LIMIT %s", count)
        return [str(r[0]) for r in rows]


@contextmanager
def served_stack(tmp_path: Path) -> Iterator[Stack]:
    with ExitStack() as stack:
        pg = stack.enter_context(own_postgres())
        rd = stack.enter_context(own_redis(tmp_path))
        database_url = pg.create_database("molam_faults")
        var = tmp_path / "var"
        env = base_env(var, tmp_path / "unused.sqlite3")
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=rd.url,
            # production's error handling (DEBUG off), with the development
            # keys TESTING allows
            DEBUG="0",
            TESTING="1",
            CELERY_TASK_ALWAYS_EAGER="0",
            LOG_LEVEL="INFO",
            LOG_FORMAT="json",
            # the limiter runs (through Redis, then in the process) but never
            # refuses this one client
            RATE_LIMIT_PER_MINUTE="100000",
            OUTBOX_RELAY_INTERVAL="1",
            HEARTBEAT_INTERVAL="1",
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        manage({**env, "DEBUG": "1"}, "seed_demo", "--payouts", "0")
        port = free_port()
        web_log = tmp_path / "web.log"
        web = stack.enter_context(
            running(
                [str(BIN / "gunicorn"), "molam_ops.asgi:application",
                 "-c", "gunicorn.conf.py", "-k", "uvicorn_worker.UvicornWorker",
                 "-w", "1", "-b", f"127.0.0.1:{port}"],
                env,
                web_log,
            )
        )  # fmt: skip
        stack.enter_context(
            running(
                [str(BIN / "celery"), "-A", "molam_ops", "worker", "-B",
                 "--pool", "solo", "-s", str(tmp_path / "beat-schedule")],
                env,
                tmp_path / "worker.log",
            )
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", web, web_log)
        token = mint(sub="fault-driver", roles=["pay_admin"], lang="en")
        yield Stack(base, env, pg, rd, database_url, web_log, web, token)


@dataclass
class Answer:
    sent_at: float
    elapsed: float
    method: str
    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]  # names in lower case
    action: str | None = None
    bank: str | None = None


def call(stack: Stack, method: str, path: str, body: Any = None) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.base + path, data=data, method=method)  # noqa: S310
    req.add_header("Authorization", f"Bearer {stack.token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("Idempotency-Key", uuid.uuid4().hex)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310
            status, raw, headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        status, raw, headers = exc.code, exc.read(), exc.headers
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"raw": raw.decode(errors="replace")}
    lowered = {k.lower(): v for k, v in headers.items()}
    return Answer(started, elapsed, method, path, status, parsed, lowered)


# the toggles a client drives: (on, off, the 409 codes that mean "already so")
TOGGLES = {
    "freeze": ("freeze-payouts", "unfreeze-payouts", {"already_frozen", "not_frozen"}),
    "pause": ("pause-bank", "resume-bank", {"bank_already_paused", "bank_not_paused"}),
}


def _body(kind: str, bank: str) -> dict[str, Any]:
    if kind == "freeze":
        return {"scope": {"bank_profile_id": bank}, "reason": "fault drill"}
    return {"bank_profile_id": bank, "reason": "fault drill"}


@dataclass
class Driver:
    """Sends ops actions (freeze/unfreeze and pause/resume, each bank
    toggled) and reads, one at a time, until stopped; each answer recorded."""

    stack: Stack
    banks: list[str]
    reads: bool = True
    answers: list[Answer] = field(default_factory=list)
    state: dict[tuple[str, str], bool] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self._stop.is_set():
            bank = self.banks[n % len(self.banks)]
            kind = "freeze" if n % 2 == 0 else "pause"
            on, off, already = TOGGLES[kind]
            is_on = self.state.get((kind, bank), False)
            action = off if is_on else on
            answer = call(self.stack, "POST", f"/api/ops/{action}", _body(kind, bank))
            answer.action, answer.bank = action, bank
            self.answers.append(answer)
            code = answer.body.get("error", {}).get("code")
            if answer.status == 200 or (answer.status == 409 and code in already):
                self.state[(kind, bank)] = not is_on
            if self.reads:
                self.answers.append(call(self.stack, "GET", "/api/ops/controls"))
            n += 1
            time.sleep(0.02)

    @contextmanager
    def running(self) -> Iterator[Driver]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=30)

    def first_ok_after(self, moment: float) -> float | None:
        for a in self.answers:
            if a.sent_at >= moment and a.status == 200:
                return a.sent_at + a.elapsed
        return None


def stop_redis(stack: Stack) -> None:
    """Stop the Redis server keeping its data (``SHUTDOWN SAVE``, as a Redis
    with persistence does), so the stream relayed before the outage is still
    there to check after it."""
    redis.Redis.from_url(stack.redis.url).shutdown(save=True)
    assert stack.redis.proc is not None
    stack.redis.proc.wait(timeout=30)
    stack.redis.proc = None


def wait_relayed(
    stack: Stack, up_to: int | None = None, timeout: float = 25.0
) -> float:
    """Seconds until every outbox event (with an id up to ``up_to``) is
    marked sent: the relay caught up."""
    started = time.monotonic()
    query = "SELECT count(*) FROM ops_outbox WHERE sent_at IS NULL AND id <= %s"
    while True:
        [(unsent,)] = stack.sql(query, up_to if up_to is not None else 2**62)
        if unsent == 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{unsent} outbox events never relayed")
        time.sleep(0.1)


def last_event_id(stack: Stack) -> int:
    [(last,)] = stack.sql("SELECT coalesce(max(id), 0) FROM ops_outbox")
    return int(last)


@dataclass
class Audit:
    accepted: int
    lost: list[str]
    duplicates: int
    in_order: bool


def audit_actions(stack: Stack, driver: Driver) -> Audit:
    """Every accepted action has its audit row and its outbox event, relayed
    to the stream in outbox order (de-duplicated on event_id); each toggle's
    final state is what the client was last told."""
    accepted = [a for a in driver.answers if a.action and a.status in (200, 202)]
    ids = [a.body["log"]["action_id"] for a in accepted]
    executed = {
        str(r[0])
        for r in stack.sql(
            "SELECT action_id FROM ops_actions_log WHERE status = 'executed'"
        )
    }
    events = stack.sql(
        "SELECT id, event_id, action_id, sent_at FROM ops_outbox ORDER BY id"
    )
    with_event = {str(r[2]) for r in events}
    lost = [i for i in ids if i not in executed or i not in with_event]
    client = redis.Redis.from_url(stack.redis.url)
    sent = [f[b"event_id"].decode() for _id, f in client.xrange(STREAM)]
    counts = Counter(sent)
    duplicates = sum(c - 1 for c in counts.values())
    # at least once: a batch whose acknowledgement the outage cut is sent
    # again; a consumer de-duplicating on event_id reads outbox order
    first_copies = list(dict.fromkeys(sent))
    in_order = first_copies == [str(r[1]) for r in events if r[3] is not None]
    # effects: each toggle is where the last answer left it
    controls = dict(stack.sql("SELECT key, enabled FROM treasury_controls"))
    for (kind, bank), on in driver.state.items():
        key = f"{kind}_bank_{bank}"
        if controls.get(key, False) != on:
            lost.append(f"{key} is {controls.get(key)} but the client was told {on}")
    return Audit(len(accepted), lost, duplicates, in_order)


def report(name: str, figures: dict[str, Any]) -> None:
    """One line of figures: on stdout, and appended as JSON to $FAULT_REPORT."""
    row = {"test": name, **figures}
    line = json.dumps(row, sort_keys=False)
    # on a line of its own: pytest -s prints progress dots without a newline
    sys.stdout.write(f"\nFAULT {line}\n")
    path = os.environ.get("FAULT_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(line + "\n")


def statuses(answers: list[Answer]) -> dict[str, int]:
    return dict(sorted(Counter(str(a.status) for a in answers).items()))
