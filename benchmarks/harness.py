"""What every benchmark that serves the app shares, written once.

A run (:func:`bench_run`) checks Redis, makes a fresh RS256 key pair and the
other secrets production requires, (re)creates and migrates a PostgreSQL
database, and sets Django up in this process with the environment of the
servers it starts (``DJANGO_SETTINGS_MODULE=benchmarks.settings``: the
product plus the floors at ``/floor/``). :meth:`Run.server` starts one
(:mod:`benchmarks.serving`); the report helpers print the repeat command, the
commit, the machine and each figure against its target.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from benchmarks.serving import ROOT, BenchError, Server, gunicorn_argv

SETTINGS = "benchmarks.settings"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


# --- arguments, tools, machine -------------------------------------------------


def server_arguments(p: argparse.ArgumentParser, *, database: str, redis: str) -> None:
    """The flags of every benchmark that serves the app."""
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or database,
        help="PostgreSQL (default: $DATABASE_URL or %(default)s); a database "
        "whose name contains 'bench' is dropped and recreated unless --keep-db",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", redis),
        help="REDIS_URL of the server, as in production; '' for none",
    )
    p.add_argument("--keep-db", action="store_true", help="reuse the database")


def server_flags(args: argparse.Namespace) -> list[str]:
    """:func:`server_arguments` as this run used them, for the repeat line."""
    return [
        f"--workers {args.workers}",
        f"--database-url {args.database_url}",
        f"--redis-url {shlex.quote(args.redis_url)}",
        *(["--keep-db"] if args.keep_db else []),
    ]


def git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain") else "")


def machine(extra: str = "") -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        model = found.group(1).strip() if found else ""
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()} {model} | {platform.system()} "
        f"{platform.release()} | Python {platform.python_version()} | "
        f"{extra + ' | ' if extra else ''}load avg {load}"
    )


# --- database, keys, environment ------------------------------------------------


def recreate_database(url: str, *, keep: bool) -> None:
    """Create the database; drop it first unless ``keep`` (only a *bench* one)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if not url.startswith(("postgres://", "postgresql://")):
        raise BenchError("the benchmark needs PostgreSQL: --database-url postgres://…")
    name = str(conninfo_to_dict(url).get("dbname") or "")
    if not name:
        raise BenchError(f"no database name in {url}")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as c:
        exists = c.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists and not keep:
            if "bench" not in name:
                raise BenchError(
                    f"refusing to drop {name!r} (not a bench database); "
                    "pass --keep-db or name one *bench*"
                )
            c.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
            exists = None
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def make_keypair(directory: Path) -> tuple[str, Path]:
    """A fresh RS256 pair: the private PEM (kept here) and the public key file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = directory / "jwt-public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return private, public


def _ed25519_pem() -> str:
    """The benchmarks' audit checkpoint signing key (PEM PKCS#8), made once
    under benchmarks/results/ (git-ignored): a database kept with --keep-db
    holds checkpoints signed by it, which a new key would not verify."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = ROOT / "benchmarks" / "results" / "audit-signing-key.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path.read_text()


def server_env(args: argparse.Namespace, tmp: Path, public_key: Path) -> dict[str, str]:
    """Production settings: DEBUG off, so every secret it requires is set here."""
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        MOLAM_ID_JWT_PUBLIC=str(public_key),
        PLAN_DATA_KEYS=Fernet.generate_key().decode(),
        APPROVAL_SIGNING_KEY=f"bench:{secrets.token_urlsafe(48)}",
        AUDIT_SIGNING_KEY=_ed25519_pem(),
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        # the rate limits stay on (their cache calls are part of every
        # request's cost in production; the anonymous one counts the floors)
        # but so high that no bench request is refused
        RATE_LIMIT_PER_MINUTE="1000000000",
        RATE_LIMIT_ANONYMOUS_PER_MINUTE="1000000000",
        MOLAM_VAR_DIR=str(tmp / "var"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("TESTING", None)
    return env


def check_redis(url: str) -> None:
    if not url:
        return
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"Redis at {url} does not answer ({exc}); pass "
            "--redis-url '' to run without it"
        ) from exc


def cleanup_redis(url: str) -> None:
    """Drop the relay nudges queued during the run (no worker consumes them)."""
    if not url:
        return
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(url, socket_timeout=2).delete("celery")


# --- a run ------------------------------------------------------------------------


@dataclass
class Run:
    """One benchmark run: its temporary directory, the servers' environment
    (also this process's), and the private key that signs its tokens."""

    args: argparse.Namespace
    tmp: Path
    env: dict[str, str]
    private_key: str
    commit: str
    host: str
    started: float = field(default_factory=time.monotonic)

    def server(self, name: str, kind: str = "asgi", **env: str) -> Server:
        """gunicorn (uvicorn workers, or sync ones with ``kind="wsgi"``),
        started and ready; stop it with ``with`` or :meth:`Server.stop`."""
        argv = gunicorn_argv(kind, self.args.workers)
        server = Server(argv, {**self.env, **env}, self.tmp / f"{name}.log")
        server.wait_ready()
        return server

    def tokens(self, subs: list[str], role: str = "pay_admin") -> list[str]:
        from molam_ops.tokens import mint

        key, ttl = self.private_key, timedelta(hours=2)
        return [mint(sub=s, roles=[role], ttl=ttl, private_key=key) for s in subs]

    def token(self, sub: str, role: str = "pay_admin") -> str:
        return self.tokens([sub], role)[0]

    def header(self, repeat: str) -> None:
        """The lines that let a reader repeat and place the figures."""
        print()
        print(f"repeat:  {repeat}")
        print(f"commit:  {self.commit}")
        print(f"machine: {self.host}")
        print(f"took:    {time.monotonic() - self.started:.0f}s")


@contextlib.contextmanager
def bench_run(
    args: argparse.Namespace, *, name: str, env: dict[str, str] | None = None
) -> Iterator[Run]:
    """Set a run up (see the module docstring); the directory goes at the end."""
    check_redis(args.redis_url)
    started, commit, host = time.monotonic(), git_commit(), machine()
    with tempfile.TemporaryDirectory(prefix=f"molam-{name}-") as tmp_name:
        tmp = Path(tmp_name)
        private_key, public_key = make_keypair(tmp)
        run_env = {**server_env(args, tmp, public_key), **(env or {})}
        recreate_database(args.database_url, keep=args.keep_db)
        os.environ.update(run_env)
        sys.path.insert(0, str(ROOT))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        yield Run(args, tmp, run_env, private_key, commit, host, started)
    cleanup_redis(args.redis_url)


def repeat_command(module: str, flags: list[str]) -> str:
    return f".venv/bin/python -m benchmarks.{module} {' '.join(flags)}".rstrip()


def main_entry(main: Callable[[list[str]], int]) -> None:
    """``sys.exit(main(argv))``; a :class:`BenchError` is one line and exit 1."""
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)


# --- load and report --------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def verdict(name: str, value: float, target: float, op: str, unit: str = "") -> bool:
    """Print ``name = value (target op x) ok|MISSED``; whether it is met."""
    ok = value >= target if op == ">=" else value <= target
    shown = f"{value:.2f}{unit}"
    print(
        f"{name} = {shown}  (target {op} {target:g}{unit})  {'ok' if ok else 'MISSED'}"
    )
    return ok


def audit_counts(actor_prefix: str) -> dict[str, int]:
    """Audit rows by status of the actors whose id starts with the prefix."""
    from django.db.models import Count

    from audit.models import OpsActionLog

    rows = (
        OpsActionLog.objects.filter(actor_id__startswith=actor_prefix)
        .values("status")
        .annotate(n=Count("id"))
    )
    return {r["status"]: r["n"] for r in rows}


def resume_paused(bank_ids: list[str]) -> None:
    """With --keep-db a bank may be left paused: resume it through the runner."""
    from django.utils import timezone

    from controls.keys import pause_bank_key
    from controls.models import TreasuryControl, active_q
    from molam_ops.actions import runner
    from molam_ops.identity import Principal

    keys = {pause_bank_key(b): b for b in bank_ids}
    paused = TreasuryControl.objects.filter(
        active_q(timezone.now()), key__in=list(keys)
    ).values_list("key", flat=True)
    admin = Principal(id="bench-setup", roles=frozenset({"pay_admin"}))
    for key in paused:
        runner.run("resume_bank", admin, {"bank_profile_id": keys[key]})


def bench_banks(stages: dict[str, int]) -> dict[str, list[str]]:
    """The demo rails, plus ``count`` banks of its own for each stage."""
    from payouts.demo import seed
    from payouts.models import BankProfile

    seed(payouts=300)
    return {
        stage: [
            str(
                BankProfile.objects.get_or_create(
                    code=f"bench-{stage}-{i:03d}",
                    defaults={"name": f"Bench {stage} {i}", "country": "SN"},
                )[0].pk
            )
            for i in range(count)
        ]
        for stage, count in stages.items()
    }
