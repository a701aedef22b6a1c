"""A real server for the browser and socket tests: uvicorn serving
``molam_ops.asgi`` on a port the kernel hands out, with its own SQLite
database (migrated, demo data seeded) under a temporary ``MOLAM_VAR_DIR``.

It verifies tokens with this test process's development public key, so the
tests mint tokens as usual. With ``REDIS_URL`` set (the PostgreSQL leg of CI)
it uses the Redis channel layer; otherwise the in-memory one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from molam_ops.identity import ensure_dev_keypair
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    port: int
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout


@contextmanager
def live_server(var_dir: Path, **extra_env: str) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "MOLAM_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'e2e.sqlite3'}",
        "MOLAM_ID_JWT_PUBLIC": ensure_dev_keypair()[1],
        "KPI_LIVE_INTERVAL": "2",
        # tasks (plan generation, outbox relay) run inline: no worker here
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "PORT": str(port),
        # the suite's own processes share this Redis database (REDIS_URL):
        # their cached entries must not reach this server
        "CACHE_KEY_PREFIX": f"e2e-{port}",
        "LOG_LEVEL": "WARNING",
        # the browser tests sign in as the same few users again and again: on
        # a slow machine that is over 100 requests a minute, and their 429s
        # would show as widget errors (the limit has its own tests)
        "RATE_LIMIT_PER_MINUTE": "0",
        **extra_env,
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = Server(url=f"http://127.0.0.1:{port}", port=port, env=env)
    server.manage("migrate", "--noinput")
    # as `make run` and the image do: the pages name the hashed static files
    server.manage("collectstatic", "--noinput", "--verbosity", "0")
    server.manage("seed_demo", "--payouts", "200")
    server.manage("refresh_suggestions")
    log = (var_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "molam_ops.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start: " + (var_dir / "server.log").read_text()
                    ) from None
                time.sleep(0.1)
        # a healthz answer from someone else's server on a reused port must
        # not count: ours has to be the one still running
        time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(
                "server exited after start: " + (var_dir / "server.log").read_text()
            )
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
