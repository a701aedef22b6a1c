"""Issue 4: kill the worker (SIGKILL) in the middle of a plan, on PostgreSQL and
Redis, start another, and find every step done exactly once.

A real ``celery worker`` runs the plan's task from Redis against the test
database. The test slows each step from its own side: a trigger it installs
on the steps table sleeps in the UPDATE that marks a step done, that is
*after* the step's effect has committed and *before* its row says so — the
worst moment to die: the money moved, the row still says ``running``. The
worker is killed right there; its open transaction rolls back with it. The
broker redelivers the task (acks_late; the visibility timeout is short here)
to a new worker, which must replay that step's effect from its idempotency
record, not transfer the money again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from audit.models import OpsActionLog
from molam_ops.celery import app as celery_app
from plans.choices import PlanStatus, StepStatus
from plans.execution.progress import step_key
from plans.models import Plan, PlanStep
from tests.factories import TreasuryAccountFactory
from tests.helpers import redis_url
from tests.plans.test_execute_plan_support import execute, make_plan, transfer
from tests.served import stop

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
STEPS = 4
STEP_DELAY_SECONDS = 1
SLOW_STEPS = "test_slow_plan_steps"


@pytest.fixture
def slow_steps(tx_db: None) -> Iterator[None]:
    """Each step's "done" waits ``STEP_DELAY_SECONDS`` in the database, inside
    the worker's transaction that records it (the effect committed before)."""
    table = connection.ops.quote_name(PlanStep._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE OR REPLACE FUNCTION {SLOW_STEPS}() RETURNS trigger"
            f" LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({STEP_DELAY_SECONDS});"
            " RETURN NEW; END $$"
        )
        cur.execute(f"DROP TRIGGER IF EXISTS {SLOW_STEPS} ON {table}")
        cur.execute(
            f"CREATE TRIGGER {SLOW_STEPS} BEFORE UPDATE ON {table} FOR EACH ROW"
            f" WHEN (OLD.status = '{StepStatus.RUNNING}'"
            f" AND NEW.status = '{StepStatus.DONE}')"
            f" EXECUTE FUNCTION {SLOW_STEPS}()"
        )
    yield
    with connection.cursor() as cur:
        cur.execute(f"DROP TRIGGER IF EXISTS {SLOW_STEPS} ON {table}")
        cur.execute(f"DROP FUNCTION IF EXISTS {SLOW_STEPS}()")


@pytest.fixture
def real_broker(redis_client: Any) -> Iterator[None]:
    """This process queues to the Redis the workers consume (not eagerly)."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = redis_url()
    conf.broker_transport_options = {}
    _forget_producers()
    yield
    conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
    _forget_producers()


def _forget_producers() -> None:
    """Drop the pooled connections to the previous broker. ``close()`` resets
    the producer pool only when the app's connection pool was made, and an
    earlier eager test may have made the producer pool alone."""
    celery_app.close()
    celery_app.amqp._producer_pool = None


def worker_env(var_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "TEST_REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")
    }
    env.update(
        DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        REDIS_URL=redis_url(),
        DJANGO_SETTINGS_MODULE="molam_ops.settings",
        DEBUG="1",
        MOLAM_VAR_DIR=str(var_dir),
        PLAN_BUSY_RETRY_SECONDS="0.5",
        BROKER_VISIBILITY_TIMEOUT="1",
        CONN_MAX_AGE="0",
    )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [
                CELERY,
                "-A",
                "molam_ops",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "-Q",
                "celery",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}@%h",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=worker_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop(proc, timeout=15)
    connection.close()  # the flush that follows must not wait on our reads


def wait_for(
    check: Callable[[], bool], *, seconds: float, what: str, logs: Path
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    tail = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"timed out waiting for {what}\n{tail}")


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_plan_leaves_every_step_done_exactly_once(
    tx_db: None,
    slow_steps: None,
    real_broker: None,
    start_worker: Callable[[str], subprocess.Popen[bytes]],
    pay_admin: Any,
    tmp_path: Path,
) -> None:
    source = TreasuryAccountFactory(currency="USD", balance=Decimal("1000.00"))
    target = TreasuryAccountFactory(currency="USD", balance=Decimal("0.00"))
    plan = make_plan(*[transfer(source, target, "10.00") for _ in range(STEPS)])
    first = start_worker("first")

    assert execute(pay_admin, plan).status_code == 202

    def killable() -> bool:
        # step 1's effect committed (its audit row), its row still running
        step = PlanStep.objects.get(plan=plan, index=1)
        committed = OpsActionLog.objects.filter(
            idempotency_key=step_key(plan.id, 1), status="executed"
        ).exists()
        return step.status == StepStatus.RUNNING and committed

    wait_for(killable, seconds=60, what="step 1's effect to commit", logs=tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTING
    source.refresh_from_db()
    assert source.balance == Decimal("980.00")  # steps 0 and 1 moved money

    start_worker("second")

    def finished() -> bool:
        plan.refresh_from_db()
        return plan.status not in (PlanStatus.PENDING, PlanStatus.EXECUTING)

    wait_for(finished, seconds=60, what="the plan to finish", logs=tmp_path)
    assert plan.status == PlanStatus.EXECUTED, plan.details
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.balance == Decimal("1000.00") - STEPS * Decimal("10.00")
    assert target.balance == STEPS * Decimal("10.00")
    rows = list(PlanStep.objects.filter(plan=plan).order_by("index"))
    assert [row.status for row in rows] == [StepStatus.DONE] * STEPS
    assert rows[1].attempts == 2  # claimed again by the second worker...
    for index in range(STEPS):  # ...yet every effect happened once
        executed = OpsActionLog.objects.filter(
            idempotency_key=step_key(plan.id, index), status="executed"
        )
        assert executed.count() == 1, index
    assert (plan.details["done"], plan.details["total"]) == (STEPS, STEPS)
    assert Plan.objects.get(pk=plan.pk).details["errors"] == []
