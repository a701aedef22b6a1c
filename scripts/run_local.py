"""`make run`: migrate, seed, then serve the web process with a Celery worker
and beat and the payout dispatcher beside it, and stop them all together
(Ctrl-C)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8084")
# The demo's simulated bank (payouts/connector.py): a few payouts a second,
# a slow and flaky bank or two so health shows yellow and red; sent payouts
# settle after a minute. Any of these set in the environment wins.
DEMO_CONNECTOR = {
    "CONNECTOR_LATENCY_MS": "150",
    "CONNECTOR_FAILURE_RATE": "0.02",
    "CONNECTOR_BANKS": (
        '{"bicis-sn": {"latency_ms": 850, "failure_rate": 0.12},'
        ' "equity-ke": {"latency_ms": 600, "failure_rate": 0.06}}'
    ),
    "PAYOUT_SETTLE_AFTER_SECONDS": "60",
}
# Prometheus multi-process mode: the web process, the worker's pool and the
# dispatcher all write their counters here, so one /metrics shows them summed
# (README "Metrics"). Emptied on each start: a new run counts from zero.
METRICS_DIR = (
    Path(os.environ.get("MOLAM_VAR_DIR") or ROOT / "var") / "prometheus-multiproc"
)


def metrics_env() -> dict[str, str]:
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    METRICS_DIR.mkdir(parents=True)
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(METRICS_DIR)}


def web_argv(port: str, env: Mapping[str, str]) -> list[str]:
    """The web process: uvicorn on 127.0.0.1:``port``, believing
    ``X-Forwarded-For`` / ``-Proto`` only from ``TRUSTED_PROXIES`` (as
    gunicorn.conf.py has it in production). uvicorn's own default trusts
    loopback, so a forged header from this very machine would have been
    taken for the client's address; with no trusted proxy, its proxy-header
    handling is off. HTTP is parsed by h11 with the request head bounded by
    ``HTTP_MAX_HEAD_BYTES``, as in production (molam_ops/lib/serving.py)."""
    sys.path.insert(0, str(ROOT))
    from molam_ops.lib.addresses import forwarded_allow_ips
    from molam_ops.lib.serving import uvicorn_argv

    trusted = forwarded_allow_ips(env)
    return [
        str(BIN / "uvicorn"),
        "molam_ops.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--no-access-log",
        *uvicorn_argv(env),
        *(["--forwarded-allow-ips", trusted] if trusted else ["--no-proxy-headers"]),
    ]


def manage(*args: str) -> None:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=False)
    if done.returncode:
        # the command said why on stderr (e.g. seed_demo with DEBUG off)
        sys.exit(done.returncode)


def banner() -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
    import django

    django.setup()
    from django.conf import settings

    from molam_ops.demo import DEMO_OPERATORS, DEMO_PASSWORD

    base = f"http://127.0.0.1:{PORT}"
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    users = "\n".join(
        f"    {name:<8} {', '.join(roles)}" for name, roles in DEMO_OPERATORS.items()
    )
    return f"""
  Molam Ops Controls is starting on {base}
    dashboard   {base}/   (live KPI widgets; sign in below)
    API         {base}/api/ops/   (the root: every endpoint; browsable once signed in)
    API docs    {base}/api/docs/
    admin       {base}/admin/
    health      {base}/healthz  {base}/readyz  {base}/metrics
  database: {db}; broker: {"redis" if settings.REDIS_URL else "embedded (var/broker)"}

  Sign in (session) with password {DEMO_PASSWORD!r} as:
{users}
  API token:  DEBUG=1 .venv/bin/python manage.py mint_token --sub alice --role pay_admin
  then:       curl -H "Authorization: Bearer $TOKEN" {base}/api/ops/banks
"""


def main() -> int:
    manage("migrate", "--noinput")
    # the pages name the content-hashed static files of the manifest written here
    manage("collectstatic", "--noinput", "--verbosity", "0")
    manage("seed_demo")
    manage("refresh_suggestions")
    env = metrics_env()  # after the seeding, which is not served traffic
    procs = {
        "worker": subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "molam_ops",
                "worker",
                "-B",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            cwd=ROOT,
            env=env,
        ),
        # sends pending payouts through the simulated bank, so the demo moves
        "dispatcher": subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "dispatch_payouts",
                "--for-real",
                "--batch",
                "5",
                "--interval",
                "0.5",
            ],
            cwd=ROOT,
            env={**DEMO_CONNECTOR, **env},
        ),
        "web": subprocess.Popen(web_argv(PORT, env), cwd=ROOT, env=env),
    }
    print(banner(), flush=True)
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping", flush=True)
                stopping, code = True, proc.returncode or 1
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
