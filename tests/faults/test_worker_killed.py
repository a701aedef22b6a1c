"""Fault: a Celery worker killed (SIGKILL) in the middle of a 40-step plan.

Real processes on servers of the test's own: a ``redis-server`` (broker), and
PostgreSQL (a cluster of its own) when ``DATABASE_URL`` names PostgreSQL,
else a SQLite file; a ``celery worker`` and ``celery beat`` with a lease of a
few seconds. The worker is killed while a step runs; a new worker is started,
and nobody runs the runbook: beat must find the step whose lease ran out and
take the plan up, long before the broker would hand the dead worker's message
out again (its visibility timeout outlasts the longest task, here 16 minutes).
That message is then handed out anyway, as the broker would: it must do
nothing.

Asserted: the plan ends ``executed``; every step is done, its effect
happened once (one ``executed`` audit row under its idempotency key; the
money and the payouts moved once); the plan resumed before a deadline far
beyond the lease. The figures go to stdout as one line, and as JSON to the
file ``FAULT_REPORT`` names, when set.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.faults.stack import report
from tests.served import ROOT, base_env, stop
from tests.servers import OwnPostgres, own_postgres, own_redis

CELERY = str(Path(sys.executable).with_name("celery"))
STEPS = 40  # even: funds transferred; odd: payouts rerouted
AMOUNT = Decimal("10.00")
PER_REROUTE = 2
LEASE_SECONDS = 3
SWEEP_SECONDS = 1
# "without an operator": resumed well before this, with a lease of 3 s; the
# broker's redelivery would take BROKER_VISIBILITY_TIMEOUT (960 s here)
RESUME_DEADLINE = 60

# what running a plan writes to the audit log: its steps' effects and moves
PLAN_WORK = (
    "transfer_funds",
    "reroute_payouts",
    "claim_plan_step",
    "finish_plan_step",
    "finish_plan",
    "execute_stuck_plan",
)

SETUP = """
import json, sys
from decimal import Decimal
import django
django.setup()
from molam_ops.actions import runner
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.plans.test_execute_plan_support import ALICE, make_plan, reroute, transfer

steps, amount, per_reroute = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
src, dst = BankProfileFactory(), BankProfileFactory()
a = TreasuryAccountFactory(bank_profile=src, balance=Decimal("1000.00"))
b = TreasuryAccountFactory(bank_profile=dst, balance=Decimal("0.00"))
# more payouts than the plan moves: a reroute run twice would move extra ones
PayoutFactory.create_batch(steps * per_reroute, bank_profile=src)
plan = make_plan(*[
    transfer(a, b, amount) if i % 2 == 0 else reroute(src, dst, per_reroute)
    for i in range(steps)
])
runner.run("execute_plan", ALICE, {"plan_id": str(plan.id)})
print(json.dumps({"plan": str(plan.id), "a": str(a.id), "b": str(b.id),
                  "src": str(src.id), "dst": str(dst.id)}))
"""


class Db:
    """Plain SQL reads of the database the processes share (this process's
    Django connection is the test database, not theirs)."""

    def __init__(self, url: str, sqlite_path: Path | None) -> None:
        self.url = url
        self.sqlite_path = sqlite_path

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.sqlite_path is not None:
            with contextlib.closing(sqlite3.connect(self.sqlite_path)) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

    def one(self, sql: str, *params: Any) -> Any:
        return self.rows(sql, *params)[0][0]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Path | None]]:
    """PostgreSQL of the test's own when the suite runs on PostgreSQL, else a
    SQLite file."""
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        server: OwnPostgres
        with own_postgres() as server:
            yield server.create_database("molam_fault"), None
    else:
        path = tmp_path / "db.sqlite3"
        yield f"sqlite:///{path}", path


def process_env(var_dir: Path, db_url: str, redis: str) -> dict[str, str]:
    env = base_env(var_dir, var_dir / "unused.sqlite3")
    env.pop("CELERY_TASK_ALWAYS_EAGER")  # to the broker, for real
    (var_dir / "prometheus").mkdir(parents=True, exist_ok=True)
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis,
        PLAN_LEASE_SECONDS=str(LEASE_SECONDS),
        PLAN_LEASE_SWEEP_INTERVAL=str(SWEEP_SECONDS),
        PLAN_BUSY_RETRY_SECONDS="0.5",
        HEARTBEAT_INTERVAL="1",  # beat ticks at least this often
        CONN_MAX_AGE="0",
        LOG_LEVEL="INFO",
        DJANGO_SETTINGS_MODULE="molam_ops.settings",
    )
    env.pop("BROKER_VISIBILITY_TIMEOUT", None)  # the default: the longest task
    return env


def wait(check: Callable[[], bool], seconds: float, what: str, logs: Path) -> float:
    """Poll until ``check``; the time it became true (monotonic)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.01)
    tail = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
        for p in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"timed out waiting for {what}\n{tail}")


@pytest.mark.redis
def test_a_killed_worker_is_replaced_and_beat_resumes_the_plan_exactly_once(
    tmp_path: Path, database: tuple[str, Path | None]
) -> None:
    db_url, sqlite_path = database
    var_dir = tmp_path / "var"
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [CELERY, "-A", "molam_ops", *argv],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        return proc

    def worker(name: str) -> subprocess.Popen[bytes]:
        return start(
            name, "worker", "--pool", "solo", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
        )  # fmt: skip

    with own_redis(tmp_path) as redis:
        env = process_env(var_dir, db_url, redis.url)
        try:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "-v0"],
                cwd=ROOT, env=env, check=True, timeout=300,
            )  # fmt: skip
            first = worker("first")
            start("beat", "beat", "-s", str(var_dir / "celerybeat-schedule"))
            made = subprocess.run(
                [sys.executable, "-c", SETUP, str(STEPS), str(AMOUNT),
                 str(PER_REROUTE)],
                cwd=ROOT, env=env, timeout=120, capture_output=True, text=True,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
            ids = json.loads(made.stdout.strip().splitlines()[-1])
            figures = _kill_and_recover(
                Db(db_url, sqlite_path), ids, first, worker, tmp_path, redis.url
            )
        finally:
            for proc in procs:
                stop(proc, timeout=15)
    report("worker_killed", figures)
    assert figures["redelivered_effects"] == 0, figures


def _kill_and_recover(
    db: Db,
    ids: dict[str, str],
    first: subprocess.Popen[bytes],
    worker: Callable[[str], subprocess.Popen[bytes]],
    logs: Path,
    redis_url: str,
) -> dict[str, Any]:
    plan = ids["plan"]

    def done() -> int:
        return int(
            db.one(
                "SELECT COUNT(*) FROM sira_plan_steps WHERE plan_id = ?"
                " AND status = 'done'",
                _uuid(db, plan),
            )
        )

    def running() -> list[tuple[Any, ...]]:
        return db.rows(
            'SELECT "index", attempts FROM sira_plan_steps WHERE plan_id = ?'
            " AND status = 'running'",
            _uuid(db, plan),
        )

    # mid-plan, mid-step: a quarter of the steps done, one running
    wait(
        lambda: done() >= STEPS // 4 and bool(running()),
        120,
        "the plan to be under way",
        logs,
    )
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait(timeout=10)
    at_kill = done()
    orphan = running()
    status = db.one("SELECT status FROM sira_plans WHERE id = ?", _uuid(db, plan))
    assert status == "executing"
    dead_messages = _unacked(redis_url)  # the dead worker's, not acknowledged

    worker("second")
    # resumed: a step finished after the kill (the orphan settled, or the next)
    resumed_at = wait(lambda: done() > at_kill, RESUME_DEADLINE, "the resume", logs)

    def finished() -> bool:
        state = db.one("SELECT status FROM sira_plans WHERE id = ?", _uuid(db, plan))
        return state not in ("pending", "executing")

    wait(finished, 120, "the plan to finish", logs)
    figures = _check(db, ids, orphan, killed_at, resumed_at)
    figures["redelivered_effects"] = _redeliver(db, dead_messages, redis_url, logs)
    return figures


def _unacked(redis_url: str) -> dict[bytes, bytes]:
    import redis

    client = redis.Redis.from_url(redis_url)
    return {
        tag: raw
        for tag, raw in client.hgetall("unacked").items()
        if json.loads(raw)[0]["headers"]["task"] == "plans.tasks.execute_plan_steps"
    }


def _redeliver(db: Db, messages: dict[bytes, bytes], redis_url: str, logs: Path) -> int:
    """Hand the dead worker's message out again now, as the broker would once
    its visibility timeout passed (kombu's restore), to the live worker: it
    must do nothing. The new audit rows it caused (target 0)."""
    import redis

    assert len(messages) == 1, messages  # the plan's task the worker died in
    rows = _plan_rows(db)
    client = redis.Redis.from_url(redis_url)
    [(tag, raw)] = messages.items()
    payload, _exchange, routing_key = json.loads(raw)
    payload["headers"]["redelivered"] = True
    client.hdel("unacked", tag)
    client.zrem("unacked_index", tag)
    client.rpush(routing_key or "celery", json.dumps(payload))
    line = f"{payload['headers']['id']}] succeeded"
    log = logs / "second.log"
    wait(lambda: line in log.read_text(errors="replace"), 60, "the redelivery", logs)
    [ran] = [text for text in log.read_text().splitlines() if line in text]
    assert ": 'stopped'" in ran, ran  # the plan is executed: left alone
    return _plan_rows(db) - rows


def _plan_rows(db: Db) -> int:
    """Audit rows of plan work (beat's other sweeps write their own)."""
    kinds = ", ".join(f"'{kind}'" for kind in PLAN_WORK)
    sql = f"SELECT COUNT(*) FROM ops_actions_log WHERE action_type IN ({kinds})"
    return int(db.one(sql))


def _uuid(db: Db, value: str) -> str:
    # Django stores a UUID as 32 hex digits on SQLite, as a uuid on PostgreSQL
    return value.replace("-", "") if db.sqlite_path is not None else value


def _check(
    db: Db,
    ids: dict[str, str],
    orphan: list[tuple[Any, ...]],
    killed_at: float,
    resumed_at: float,
) -> dict[str, Any]:
    plan = _uuid(db, ids["plan"])
    status = db.one("SELECT status FROM sira_plans WHERE id = ?", plan)
    assert status == "executed"
    statuses = db.rows("SELECT status FROM sira_plan_steps WHERE plan_id = ?", plan)
    lost = sum(row[0] != "done" for row in statuses)
    effects = dict(
        db.rows(
            "SELECT idempotency_key, COUNT(*) FROM ops_actions_log"
            " WHERE idempotency_key LIKE ? AND status = 'executed'"
            " GROUP BY idempotency_key",
            f"plan:{ids['plan']}:step:%",
        )
    )
    twice = sum(count > 1 for count in effects.values())
    missing = STEPS - len(effects)
    # the money moved once per transfer step, the payouts once per reroute
    balance = Decimal(
        str(
            db.one(
                "SELECT balance FROM treasury_accounts WHERE id = ?",
                _uuid(db, ids["a"]),
            )
        )
    )
    moved = int(
        db.one(
            "SELECT COUNT(*) FROM payouts WHERE bank_profile_id = ?",
            _uuid(db, ids["dst"]),
        )
    )
    taken_up = int(
        db.one(
            "SELECT COUNT(*) FROM ops_actions_log WHERE action_type ="
            " 'execute_stuck_plan' AND actor_id = 'beat:take_up_orphaned_steps'"
        )
    )
    figures = {
        "fault": "worker_sigkill_mid_step",
        "faults_injected": 1,
        "steps": STEPS,
        "steps_run_twice": twice,
        "steps_lost": lost + missing,
        "time_to_recover_s": round(resumed_at - killed_at, 2),
        "lease_s": LEASE_SECONDS,
        "orphan_step": orphan[0][0] if orphan else None,
        "taken_up_by_beat": taken_up,
        "database": "sqlite" if db.sqlite_path is not None else "postgresql",
    }
    assert (twice, lost, missing) == (0, 0, 0), figures
    assert balance == Decimal("1000.00") - STEPS // 2 * AMOUNT, figures
    assert moved == STEPS // 2 * PER_REROUTE, figures
    # the runbook's action ran, as beat, for the step the worker left running
    assert taken_up == (1 if orphan else 0), figures
    assert resumed_at - killed_at < RESUME_DEADLINE
    return figures
