"""The project served as a real process for a test: its environment on a
SQLite file of the test's own, ``manage.py`` commands, the server started
and stopped, and its first answer awaited."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from molam_ops.identity import ensure_dev_keypair

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_local_argv(port: int, env: dict[str, str]) -> list[str]:
    """The web server's command line as ``make run`` builds it."""
    spec = importlib.util.spec_from_file_location(
        "run_local", ROOT / "scripts" / "run_local.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.web_argv(str(port), env))


def gunicorn_argv(port: int, env: dict[str, str]) -> list[str]:
    """The web server's command line as production runs it (one worker)."""
    return [
        str(BIN / "gunicorn"),
        *("-c", str(ROOT / "gunicorn.conf.py"), "molam_ops.asgi:application"),
        *("-k", "uvicorn_worker.UvicornWorker", "-w", "1"),
        *("-b", f"127.0.0.1:{port}"),
    ]


def base_env(var_dir: Path, db: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "1",
        "MOLAM_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{db}",
        "MOLAM_ID_JWT_PUBLIC": ensure_dev_keypair()[1],
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "prometheus"),
        # one user sends well over 100 requests a minute when the machine is
        # slow: 429s would be missing from the counts under test
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    # a broker of its own (filesystem, under var_dir), whatever the suite uses
    for name in ("REDIS_URL", "PYTEST_CURRENT_TEST", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout


def get(url: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url)  # noqa: S310 (a local test server)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return resp.status, resp.read().decode()


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            get(url)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{url} never answered:\n{log.read_text()}"
                ) from None
            time.sleep(0.2)


@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path) -> Iterator[Any]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
