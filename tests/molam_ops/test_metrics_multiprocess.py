"""Prometheus multi-process mode (issue 6 item 3), with real processes: the
web server as production runs it (gunicorn.conf.py, two uvicorn workers) and
a Celery worker with its prefork pool, each on a migrated SQLite database of
its own and with ``PROMETHEUS_MULTIPROC_DIR`` set. A scrape must sum every
process's counters and histograms, export the database-computed gauges once,
never count what an earlier run left in the directory, and keep a recycled
worker's counts.

Without ``PROMETHEUS_MULTIPROC_DIR`` (one process), tests/molam_ops/test_health.py
and tests/controls/test_metrics_gauges.py cover /metrics."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from molam_ops.tokens import mint
from tests.helpers import free_port
from tests.served import BIN, ROOT, base_env, get, manage, running, wait_for

Labels = tuple[tuple[str, str], ...]


# --- helpers ----------------------------------------------------------------


def leave_stale_counts(directory: Path) -> None:
    """What an earlier run leaves: 1000 rejected pause_bank in a dead pid's file."""
    directory.mkdir(parents=True, exist_ok=True)
    script = (
        "from prometheus_client import Counter\n"
        "c = Counter('molam_ops_action_requests', '', ['action', 'status'])\n"
        "c.labels('pause_bank', 'rejected').inc(1000)\n"
        "c.labels('expire_controls', 'executed').inc(1000)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert list(directory.glob("counter_*.db"))


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a scrape, by sample name (``_total``/``_count`` kept)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(scrape: dict[str, Any], name: str, **labels: str) -> float:
    matches = [v for lab, v in scrape.get(name, []) if labels.items() <= lab.items()]
    assert len(matches) == 1, (name, labels, scrape.get(name))
    return matches[0]


def post(url: str, token: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(  # noqa: S310 (a local test server)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def per_process_counts(directory: Path, **labels: str) -> dict[int, float]:
    """``molam_ops_action_requests_total{labels}`` in each process's own file."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{file.stem}"
        alone.mkdir()
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        for family in registry.collect():
            for sample in family.samples:
                if (
                    sample.name == "molam_ops_action_requests_total"
                    and labels.items() <= sample.labels.items()
                ):
                    counts[int(file.stem.rsplit("_", 1)[1])] = sample.value
        shutil.rmtree(alone)
    return counts


def fresh(tmp_path: Path, migrated: Path) -> tuple[Path, dict[str, str]]:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    shutil.copy(migrated, var_dir / "db.sqlite3")
    return var_dir, base_env(var_dir, var_dir / "db.sqlite3")


# --- web: gunicorn, two workers ---------------------------------------------


def test_web_workers_sum_into_one_scrape(tmp_path: Path, migrated: Path) -> None:
    var_dir, env = fresh(tmp_path, migrated)
    metrics_dir = var_dir / "prometheus"
    leave_stale_counts(metrics_dir)  # gunicorn.conf.py must empty it at start
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [
        str(BIN / "gunicorn"),
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "molam_ops.asgi:application",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
    ]
    admin = mint(sub="alice", roles=["pay_admin"])
    finance = mint(sub="bruno", roles=["finance_ops"])
    with running(argv, env, var_dir / "gunicorn.log") as master:
        wait_for(f"{base}/healthz", master, var_dir / "gunicorn.log")
        _, banks = get(f"{base}/api/ops/banks", admin)
        bank = json.loads(banks)["results"][0]["id"]
        frozen = {"scope": {"bank_profile_id": bank}, "reason": "metrics test"}
        assert post(f"{base}/api/ops/freeze-payouts", admin, frozen) == 200
        # finance_ops may not pause a bank: each call is a `rejected` action.
        # Concurrent calls on fresh connections land on both workers; send
        # batches until each worker has counted some.
        pause = {"bank_profile_id": bank, "reason": "metrics test"}
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _batch in range(15):
                codes = list(
                    pool.map(
                        lambda _: post(f"{base}/api/ops/pause-bank", finance, pause),
                        range(16),
                    )
                )
                assert codes == [403] * 16
                sent += 16
                shares = per_process_counts(
                    metrics_dir, action="pause_bank", status="rejected"
                )
                if len([n for n in shares.values() if n]) >= 2:
                    break
        assert len([n for n in shares.values() if n]) == 2, shares
        assert sum(shares.values()) == sent  # the stale file was removed

        scrape = samples(get(f"{base}/metrics")[1])
        total = "molam_ops_action_requests_total"
        assert value(scrape, total, action="pause_bank", status="rejected") == sent
        assert value(scrape, total, action="freeze_payouts", status="executed") == 1
        assert (
            value(
                scrape, "molam_ops_action_duration_seconds_count", action="pause_bank"
            )
            == sent
        )
        # django-prometheus's request and database metrics are summed too
        posts = value(
            scrape, "django_http_requests_total_by_method_total", method="POST"
        )
        assert posts == sent + 1
        assert value(scrape, "django_db_execute_total", vendor="sqlite") > sent
        # computed from the database once, not once per worker
        assert value(scrape, "molam_ops_freeze_active", scope=bank) == 1
        assert value(scrape, "molam_ops_freeze_active", scope="global") == 0
        assert value(scrape, "molam_ops_multi_sig_pending_count") == 0
        # nothing exported per process (a gauge in "all" mode carries a pid)
        assert all("pid" not in lab for s in scrape.values() for lab, _ in s)

        # a worker that exits is replaced; what it counted stays in the sum
        victim = max(shares, key=lambda pid: shares[pid])
        os.kill(victim, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while len(per_process_counts(metrics_dir)) < 3 and time.monotonic() < deadline:
            post(f"{base}/api/ops/pause-bank", finance, pause)
            sent += 1
            time.sleep(0.1)
        assert victim in per_process_counts(metrics_dir)
        scrape = samples(get(f"{base}/metrics")[1])
        assert value(scrape, total, action="pause_bank", status="rejected") == sent


def test_the_first_scrape_exports_every_known_series_at_zero(
    tmp_path: Path, migrated: Path
) -> None:
    """Before any action or plan has run: every registered action with each
    outcome and its duration histogram, every plan type with each terminal
    status, the freeze and approvals gauges, and the rails' and outbox's."""
    from molam_ops.actions.registry import all_actions
    from molam_ops.metrics import ACTION_OUTCOMES
    from plans.choices import PlanType
    from plans.execution.progress import TERMINAL

    var_dir, env = fresh(tmp_path, migrated)
    port = free_port()
    argv = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    argv += ["molam_ops.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
    argv += ["-w", "2", "-b", f"127.0.0.1:{port}"]
    url = f"http://127.0.0.1:{port}/metrics"
    with running(argv, env, var_dir / "gunicorn.log") as master:
        wait_for(url, master, var_dir / "gunicorn.log")  # the first request
        scrape = samples(get(url)[1])
    actions = [spec.name for spec in all_actions()]
    assert len(actions) > 10
    total = "molam_ops_action_requests_total"
    requests = {(lab["action"], lab["status"]): v for lab, v in scrape[total]}
    assert requests == {(a, s): 0 for a in actions for s in ACTION_OUTCOMES}
    counts = scrape["molam_ops_action_duration_seconds_count"]
    assert {lab["action"]: v for lab, v in counts} == dict.fromkeys(actions, 0)
    inf = [lab for lab, v in scrape["molam_ops_action_duration_seconds_bucket"]]
    assert sum(1 for lab in inf if lab["le"] == "+Inf") == len(actions)
    plans = {
        (lab["plan_type"], lab["status"]): v
        for lab, v in scrape["molam_ops_plan_executions_total"]
    }
    assert plans == {(t, str(s)): 0 for t in PlanType.values for s in TERMINAL}
    assert value(scrape, "molam_ops_freeze_active", scope="global") == 0
    assert value(scrape, "molam_ops_multi_sig_pending_count") == 0
    # one sample per seeded bank; no payouts were seeded
    banks = {lab["bank"] for lab, _ in scrape["molam_ops_bank_circuit_open"]}
    assert len(banks) == len(scrape["molam_ops_bank_circuit_open"]) > 1
    assert {lab["bank"] for lab, _ in scrape["molam_ops_bank_paused"]} == banks
    assert value(scrape, "molam_ops_dispatch_backlog") == 0
    assert value(scrape, "molam_ops_outbox_oldest_unsent_age_seconds") >= 0
    assert "molam_ops_redis_up" not in scrape  # no Redis configured


# --- worker: its own /metrics over its pool ---------------------------------

EXPIRED_FREEZE = """
from datetime import timedelta
from django.utils import timezone
from controls.models import TreasuryControl
now = timezone.now()
TreasuryControl.objects.create(
    key="freeze_bank_metrics-test", enabled=True,
    expires_at=now - timedelta(minutes=1), created_at=now, updated_at=now,
)
from controls.tasks import expire_controls
expire_controls.delay()
"""


def test_worker_serves_its_pools_counts(tmp_path: Path, migrated: Path) -> None:
    var_dir, env = fresh(tmp_path, migrated)
    metrics_dir = var_dir / "prometheus"
    leave_stale_counts(metrics_dir)  # the worker clears it when it starts
    port = free_port()
    worker_env = {
        **env,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_ADDRESS": "127.0.0.1",
    }
    argv = [str(BIN / "celery"), "-A", "molam_ops", "worker", "-l", "WARNING"]
    argv += ["--concurrency", "2", "--pool", "prefork", "--without-heartbeat"]
    url = f"http://127.0.0.1:{port}/metrics"
    with running(argv, worker_env, var_dir / "worker.log") as worker:
        wait_for(url, worker, var_dir / "worker.log")
        stale = samples(get(url)[1])
        total = "molam_ops_action_requests_total"
        # every known series from the first scrape, at 0: the stale file's
        # 1000s are gone
        assert value(stale, total, action="pause_bank", status="rejected") == 0
        assert value(stale, total, action="expire_controls", status="executed") == 0
        # the task is sent (not run) here; a child of the pool runs it
        sender = {**env, "CELERY_TASK_ALWAYS_EAGER": "0"}
        sender.pop("PROMETHEUS_MULTIPROC_DIR")
        manage(sender, "shell", "-c", EXPIRED_FREEZE)
        deadline = time.monotonic() + 60
        while True:
            scrape = samples(get(url)[1])
            if value(scrape, total, action="expire_controls", status="executed"):
                break
            assert time.monotonic() < deadline, (var_dir / "worker.log").read_text()
            time.sleep(0.3)
        assert value(scrape, total, action="expire_controls", status="executed") == 1
        assert value(scrape, "django_db_execute_total", vendor="sqlite") > 0
        shares = per_process_counts(
            metrics_dir, action="expire_controls", status="executed"
        )
        (child,) = [pid for pid, n in shares.items() if n]
        assert child != worker.pid  # counted in the pool, served by the main process
        assert shares.get(worker.pid) == 0  # the main process wrote the zeros
        # the database-computed gauges are the web's to export, once
        assert "molam_ops_freeze_active" not in scrape


# --- settings and the one-process mode --------------------------------------


def test_a_worker_port_without_a_directory_is_refused(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "1",
        "MOLAM_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "molam_ops.settings",
        "WORKER_METRICS_PORT": "9810",
    }
    probe = "import django; django.setup()"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    refusal = "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR"
    assert f"ImproperlyConfigured: {refusal}" in done.stderr
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    done = subprocess.run(
        [sys.executable, "-c", probe + "; print('ok')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr
    assert (tmp_path / "prometheus").is_dir()  # created by the settings


def test_one_process_reads_the_default_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prometheus_client import REGISTRY

    from molam_ops.metrics_view import scrape_registry

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert scrape_registry() is REGISTRY
