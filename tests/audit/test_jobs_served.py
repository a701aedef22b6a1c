"""A real server and a real worker: while a big export runs as a job on the
worker, the web process goes on answering ``/healthz`` at once, and the
request that asked for the export was answered at once too."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from molam_ops.tokens import mint
from tests.helpers import free_port
from tests.served import BIN, base_env, get, gunicorn_argv, manage, running, wait_for

pytestmark = pytest.mark.slow

ROWS = 60_000
# chained rows written straight to the table (the triggers allow INSERT)
SEED = f"""
import uuid
from datetime import UTC, datetime, timedelta
from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
t0, prev, rows = datetime(2026, 1, 1, tzinfo=UTC), GENESIS, []
for seq in range(1, {ROWS} + 1):
    row = OpsActionLog(
        seq=seq, action_id=uuid.uuid4(), actor_id="bulk", actor_role="ops",
        action_type="resume_bank", status="rejected", target={{}},
        details={{"n": seq}}, created_at=t0 + timedelta(seconds=seq),
        prev_hash=prev,
    )
    row.hash = prev = row_hash(row)
    rows.append(row)
OpsActionLog.objects.bulk_create(rows, batch_size=2000)
"""


def _timed(url: str, token: str | None = None) -> tuple[float, int, str]:
    start = time.monotonic()
    status, body = get(url, token)
    return time.monotonic() - start, status, body


def test_healthz_answers_while_a_big_export_runs(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = base_env(var, tmp_path / "db.sqlite3")
    env.update(CELERY_TASK_ALWAYS_EAGER="0", AUDIT_SYNC_MAX_ROWS="1000")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "shell", "-c", SEED)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_log = tmp_path / "web.log"
    token = mint(sub="alice", roles=["pay_admin"], lang="en")
    with (
        running(gunicorn_argv(port, env), env, web_log) as web,
        running(
            [str(BIN / "celery"), "-A", "molam_ops", "worker", "--pool", "solo"],
            env,
            tmp_path / "worker.log",
        ),
    ):
        wait_for(f"{base}/healthz", web, web_log)
        took, status, body = _timed(f"{base}/api/ops/actions/export?format=json", token)
        assert status == 202, body
        assert took < 1.0
        job_url = f"{base}/api/ops/audit/jobs/{json.loads(body)['job']['id']}"

        waits, seen_running, deadline = [], 0, time.monotonic() + 120
        while True:
            took, status, _ = _timed(f"{base}/healthz")
            assert status == 200
            waits.append(took)
            job = json.loads(get(job_url, token)[1])["job"]
            seen_running += job["status"] == "running"
            if job["status"] in {"done", "failed"} or time.monotonic() > deadline:
                break
            time.sleep(0.05)

        worker_log = (tmp_path / "worker.log").read_text()
        assert job["status"] == "done", worker_log
        assert job["progress"] == job["total"] == ROWS
        assert seen_running >= 3, (seen_running, worker_log)  # polled during it
        assert max(waits) < 1.0, waits
        exported = get(job["download"], token)[1]
        assert len(json.loads(exported)) == ROWS
