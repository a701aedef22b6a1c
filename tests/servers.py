"""Servers of a test's own, for fault tests: a ``redis-server`` and a
PostgreSQL cluster (``initdb``/``pg_ctl``) on free ports, which a test may
stop, kill and start again. Never the shared services on 5432/6379.

A binary that is missing fails the test when ``CI`` is set (``.ci/run``
installs them) and skips it elsewhere.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import free_port


def binary(name: str, *, package: str, pattern: str | None = None) -> str:
    """The path of ``name`` (on PATH, else the first match of ``pattern``)."""
    path = shutil.which(name)
    if path is None and pattern:
        found = sorted(glob.glob(pattern))
        path = found[-1] if found else None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} missing (Debian package {package})")
        pytest.skip(f"{name} not installed")
    return path


def redis_server() -> str:
    return binary("redis-server", package="redis-server")


class OwnRedis:
    """A ``redis-server`` on ``port`` keeping nothing on disk; ``stop`` and
    ``start`` it at will (the same port, so clients reconnect to it)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [redis_server(), "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        log = (self.directory / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_port(self.port, self.proc, "redis-server")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc = None


@contextmanager
def own_redis(directory: Path, port: int | None = None) -> Iterator[OwnRedis]:
    server = OwnRedis(directory, port)
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)


class OwnPostgres:
    """A PostgreSQL cluster of the test's own: ``initdb`` into a fresh
    directory, ``pg_ctl start``/``stop`` on a free port, trust auth for the
    ``postgres`` user on 127.0.0.1. As root (CI), the cluster runs as the
    ``postgres`` system user, since PostgreSQL refuses to run as root."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.initdb = binary(
            "initdb", package="postgresql", pattern="/usr/lib/postgresql/*/bin/initdb"
        )
        self.pg_ctl = str(Path(self.initdb).with_name("pg_ctl"))
        # not under pytest's tmp_path: the postgres user cannot enter root's
        self.directory = Path(tempfile.mkdtemp(prefix="molam-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            self.directory.chmod(0o755)
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            self.initdb, "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        options += " -c fsync=off -c max_connections=100"
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, *, mode: str = "fast") -> None:
        """``fast`` (clients are disconnected) or ``immediate`` (a crash)."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped
            self.stop(mode="immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def own_postgres(port: int | None = None) -> Iterator[OwnPostgres]:
    server = OwnPostgres(port)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _wait_port(port: int, proc: subprocess.Popen[bytes], name: str) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} on port {port} exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} on port {port} never listened")
