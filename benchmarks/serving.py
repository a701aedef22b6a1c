"""The server under test and the client that loads it.

:class:`Server` is gunicorn on a free 127.0.0.1 port, started as production
starts it (``gunicorn.conf.py``, uvicorn workers); :func:`run_wrk` loads it
with a Lua script of ``benchmarks/lua`` (one wrk thread per connection) and
parses the ``BENCH_RESULT`` line each script prints from its ``done()`` hook.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "benchmarks" / "lua"
BIN = Path(sys.executable).parent
FAILURE_KEYS = ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts")


class BenchError(Exception):
    """A run that cannot be trusted: say why and stop."""


@dataclass
class Phase:
    """One wrk load: a Lua script on a path, with its environment."""

    tag: str
    title: str
    script: str
    path: str
    env: dict[str, str] = field(default_factory=dict)


FLOOR_INSERT = Phase("c", "floor: bare INSERT view", "insert.lua", "/floor/insert")
FLOOR_CONSTANT = Phase(
    "d", "floor: bare constant GET", "constant.lua", "/floor/constant"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn on a free 127.0.0.1 port, stopped by :meth:`stop`."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.argv = [*argv, "-b", f"127.0.0.1:{self.port}"]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(self.port, "GET", "/readyz")[0] == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"the server did not become ready:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers (children of the gunicorn master)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[1]) == self.proc.pid:  # ppid
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def gunicorn_argv(kind: str, workers: int) -> list[str]:
    common = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    common += ["-w", str(workers), "--log-level", "warning"]
    if kind == "asgi":
        return [
            *common,
            "-k",
            "uvicorn_worker.UvicornWorker",
            "molam_ops.asgi:application",
        ]
    return [*common, "molam_ops.wsgi:application"]


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        got = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, got, resp.read().decode()
    finally:
        conn.close()


# --- wrk ---------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is not installed; install it with:  apt-get install -y wrk")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("trying that now ...")
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"]).returncode:
            subprocess.run(["apt-get", "update", "-q"], check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is required: apt-get install -y wrk")
    return found


def wrk_result(out: str) -> dict[str, float]:
    """The ``BENCH_RESULT key=value …`` line of lua/common.lua's ``done()``."""
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_RESULT ")), "")
    if not line:
        raise BenchError(f"wrk printed no result:\n{out}")
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}


def run_wrk(
    wrk: str, server: Server, phase: Phase, seconds: int, connections: int
) -> dict[str, float]:
    """``connections`` connections (one wrk thread each) for ``seconds``."""
    argv = [wrk, "-t", str(connections), "-c", str(connections)]
    argv += ["-d", f"{seconds}s", "--timeout", "10s"]
    argv += ["-s", str(LUA_DIR / phase.script), server.url + phase.path]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **phase.env}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise BenchError(f"wrk failed ({phase.tag}):\n{out.stdout}\n{out.stderr}")
    return wrk_result(out.stdout)


def failures(values: dict[str, float]) -> int:
    """Non-2xx answers and socket errors of one wrk run."""
    return int(sum(values[k] for k in FAILURE_KEYS))


def write_rows(path: Path, rows: list[tuple[str, str]]) -> str:
    path.write_text("".join(f"{a} {b}\n" for a, b in rows))
    return str(path)
