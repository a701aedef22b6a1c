"""Liveness heartbeats with real processes: a Celery worker (prefork), beat
and the payout dispatcher each move their heartbeat file while they run; the
file goes stale when the process is stopped (SIGSTOP) or killed, and the
probe the manifests run (deploy/docker/heartbeat-fresh.sh) says so. A worker
whose Redis broker is down keeps beating: it is waiting, not stuck, and a
restart would only delay its return; its /metrics says Redis is down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port
from tests.servers import own_redis

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROBE = ROOT / "deploy" / "docker" / "heartbeat-fresh.sh"
INTERVAL = 0.3  # HEARTBEAT_INTERVAL of the processes under test


def base_env(var_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "1",
        "MOLAM_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "HEARTBEAT_INTERVAL": str(INTERVAL),
        "LOG_LEVEL": "WARNING",
    }
    for name in ("REDIS_URL", "PYTEST_CURRENT_TEST", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return env


@contextmanager
def running(
    argv: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=30)


def mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def wait_until(
    check: Callable[[], bool], what: str, log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()}"
        time.sleep(0.1)


def probe(path: Path, max_age: int) -> int:
    return subprocess.run(
        ["sh", str(PROBE), str(path), str(max_age)],
        capture_output=True,
        check=False,
        timeout=10,
    ).returncode


def assert_advances(path: Path, log: Path) -> None:
    """The file is there and moves again within a few intervals."""
    wait_until(lambda: mtime(path) is not None, f"no heartbeat {path}", log)
    first = mtime(path)
    wait_until(lambda: mtime(path) != first, f"{path} did not advance", log, 15)
    assert probe(path, 3) == 0


def assert_stale_while_stopped(proc: subprocess.Popen[bytes], path: Path) -> None:
    """Stopped, the process leaves the file alone; the probe then fails."""
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(INTERVAL * 2)  # a beat already under way lands
    frozen = mtime(path)
    time.sleep(3)
    assert mtime(path) == frozen
    assert probe(path, 3) == 1
    os.kill(proc.pid, signal.SIGCONT)


def assert_stale_once_killed(proc: subprocess.Popen[bytes], path: Path) -> None:
    proc.kill()
    proc.wait(timeout=30)
    last = mtime(path)
    time.sleep(3)
    assert mtime(path) == last
    assert probe(path, 3) == 1


def worker_argv() -> list[str]:
    return [
        *(str(BIN / "celery"), "-A", "molam_ops", "worker", "-l", "WARNING"),
        *("--pool", "prefork", "--concurrency", "1"),
        *("--without-mingle", "--without-gossip"),
    ]


def test_probe_script(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    assert probe(beat, 60) == 1  # missing
    beat.touch()
    assert probe(beat, 60) == 0
    old = time.time() - 61
    os.utime(beat, (old, old))
    assert probe(beat, 60) == 1
    usage = subprocess.run(["sh", str(PROBE)], capture_output=True, check=False)
    assert usage.returncode == 2


def test_worker_beats_until_stopped_or_killed(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    path = tmp_path / "heartbeat" / "worker"
    log = tmp_path / "worker.log"
    with running(worker_argv(), env, log) as worker:
        assert_advances(path, log)
        assert_stale_while_stopped(worker, path)
        # continued, it beats again
        resumed = mtime(path)
        wait_until(lambda: mtime(path) != resumed, "no beat after SIGCONT", log, 15)
        assert_stale_once_killed(worker, path)


def test_beat_beats_until_stopped_or_killed(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    path = tmp_path / "heartbeat" / "beat"
    log = tmp_path / "beat.log"
    argv = [str(BIN / "celery"), "-A", "molam_ops", "beat", "-l", "WARNING"]
    with running(argv, env, log) as beat:
        assert_advances(path, log)
        assert_stale_while_stopped(beat, path)
        assert_stale_once_killed(beat, path)


def test_dispatcher_beats_until_stopped_or_killed(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    path = tmp_path / "heartbeat" / "dispatcher"
    log = tmp_path / "dispatcher.log"
    argv = [sys.executable, "manage.py", "dispatch_payouts", "--for-real"]
    with running([*argv, "--interval", "0.2"], env, log) as dispatcher:
        assert_advances(path, log)
        assert_stale_while_stopped(dispatcher, path)
        assert_stale_once_killed(dispatcher, path)


def redis_up(url: str) -> float | None:
    """``molam_ops_redis_up`` on a worker's /metrics, if it is there."""
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (local)
        text = resp.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "molam_ops_redis_up":
            return family.samples[0].value
    return None


def test_a_worker_waiting_for_its_broker_keeps_beating(tmp_path: Path) -> None:
    """...and its /metrics says Redis is down (``molam_ops_redis_up`` 0)."""
    port, metrics_port = free_port(), free_port()
    env = {
        **base_env(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "WORKER_METRICS_PORT": str(metrics_port),
        "WORKER_METRICS_ADDRESS": "127.0.0.1",
    }
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    path = tmp_path / "heartbeat" / "worker"
    log = tmp_path / "worker.log"
    with own_redis(tmp_path, port) as redis, running(worker_argv(), env, log) as worker:
        assert_advances(path, log)
        assert redis_up(metrics) == 1
        redis.stop(kill=True)
        wait_until(
            lambda: (
                b"Trying again" in log.read_bytes() or b"reconnect" in log.read_bytes()
            ),
            "the worker did not notice the broker was gone",
            log,
        )
        # many intervals with no broker: still beating, the probe passes
        for _ in range(3):
            assert_advances(path, log)
            time.sleep(1)
        assert worker.poll() is None
        assert redis_up(metrics) == 0
