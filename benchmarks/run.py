"""`make bench` (issue 2): the ops-action pipeline against floors, as in production.

Serves the app as production does (PostgreSQL, gunicorn with 2 uvicorn workers,
DEBUG off, a real RS256 key pair) and loads it from a second process with wrk,
over 127.0.0.1. In one run it measures req/s and p50/p99 of:

  (a) pause-bank / resume-bank through the whole pipeline (JWT, RBAC,
      idempotency, audit, control, outbox);
  (b) an idempotent replay of one stored response;
  (c) floor: a bare DRF view doing one INSERT;
  (d) floor: a bare DRF GET returning a constant;

and prints the ratios last. Targets: (a) >= 0.5 x (c), (b) >= 0.8 x (d).
See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "bench" / "lua"
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
PAUSE_BODY = '{{"bank_profile_id":"{bank}","reason":"bench"}}'
TARGETS = {"a/c": 0.5, "b/d": 0.8}


@dataclass
class Phase:
    tag: str
    title: str
    script: str
    path: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    tag: str
    title: str
    values: dict[str, float]

    @property
    def rps(self) -> float:
        return self.values["rps"]

    @property
    def failures(self) -> int:
        keys = ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
        return int(sum(self.values[k] for k in keys))


class BenchError(Exception):
    """A run that cannot be trusted: say why and stop."""


# --- arguments, tools, machine -------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=int, default=10, help="seconds per phase")
    p.add_argument("--connections", type=int, default=10, help="= wrk threads")
    p.add_argument("--warmup", type=int, default=2, help="warm-up seconds per phase")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split each phase into N interleaved rounds (a b c d a b c d ...), "
        "so a busy machine's changing load falls on every phase alike",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="PostgreSQL (default: $DATABASE_URL or %(default)s)",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="REDIS_URL of the server, as in production; '' for none",
    )
    p.add_argument(
        "--keep-db",
        action="store_true",
        help="reuse the database instead of recreating it",
    )
    p.add_argument(
        "--with-sync",
        action="store_true",
        help="also measure gunicorn sync (WSGI) workers, as extra information",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 2 when a target is missed"
    )
    return p.parse_args(argv)


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


def git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain") else "")


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        model = found.group(1).strip() if found else ""
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()} {model} | {platform.system()} "
        f"{platform.release()} | Python {platform.python_version()} | "
        f"load avg {load}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- database, keys, data -------------------------------------------------------


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


def server_env(args: argparse.Namespace, tmp: Path, public_key: Path) -> dict[str, str]:
    """Production settings: DEBUG off, so every secret it requires is set here."""
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="molam_ops.settings",
        DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        MOLAM_ID_JWT_PUBLIC=str(public_key),
        PLAN_DATA_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        BENCH_ENDPOINTS="1",
        CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        # the rate limit stays on (its cache calls are part of every request's
        # cost in production) but so high that no bench request is refused
        RATE_LIMIT_PER_MINUTE="1000000000",
        MOLAM_VAR_DIR=str(tmp / "var"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("TESTING", None)
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate_and_seed(connections: int, rounds: int) -> dict[str, list[str]]:
    """Migrate, seed the demo rails, and one bank per connection for the (a)
    warm-up and for each (a) round, plus one for the replay."""
    from django.core.management import call_command

    from payouts.demo import seed
    from payouts.models import BankProfile

    call_command("migrate", verbosity=0, interactive=False)
    seed(payouts=300)
    banks: dict[str, list[str]] = {}
    for phase in ("warm", *main_stages(rounds), "replay"):
        count = 1 if phase == "replay" else connections
        banks[phase] = [
            str(
                BankProfile.objects.get_or_create(
                    code=f"bench-{phase}-{i:03d}",
                    defaults={"name": f"Bench {phase} {i}", "country": "SN"},
                )[0].pk
            )
            for i in range(count)
        ]
    return banks


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


def mint_tokens(private_key: str, subs: list[str]) -> list[str]:
    from molam_ops.tokens import mint

    return [
        mint(
            sub=sub,
            roles=["pay_admin"],
            ttl=timedelta(hours=2),
            private_key=private_key,
        )
        for sub in subs
    ]


def db_sessions() -> int:
    """Sessions ever opened on the database (PostgreSQL >= 14): connection churn."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cur.fetchone()[0])


def audit_counts(actor_prefix: str) -> dict[str, int]:
    from django.db.models import Count

    from audit.models import OpsActionLog

    rows = (
        OpsActionLog.objects.filter(actor_id__startswith=actor_prefix)
        .values("status")
        .annotate(n=Count("id"))
    )
    return {r["status"]: r["n"] for r in rows}


# --- server ---------------------------------------------------------------------


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
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, resp.read().decode()
    finally:
        conn.close()


# --- load -----------------------------------------------------------------------


def run_wrk(
    wrk: str, server: Server, phase: Phase, seconds: int, connections: int
) -> dict[str, float]:
    argv = [
        wrk,
        "-t",
        str(connections),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / phase.script),
        server.url + phase.path,
    ]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **phase.env}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    line = next(
        (ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None
    )
    if out.returncode or line is None:
        raise BenchError(f"wrk failed ({phase.tag}):\n{out.stdout}\n{out.stderr}")
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}


def write_rows(path: Path, rows: list[tuple[str, str]]) -> str:
    path.write_text("".join(f"{a} {b}\n" for a, b in rows))
    return str(path)


def main_stages(rounds: int) -> list[str]:
    return [f"main{i}" for i in range(max(rounds, 1))]


def pause_phases(
    tmp: Path, banks: dict[str, list[str]], private_key: str, nonce: str
) -> list[Phase]:
    """(a) for the warm-up and for each round: distinct banks and actors, so a
    round starts with every bank resumed whatever a request cut off by the end
    of the previous one did."""
    phases = []
    for stage in ("warm", *(k for k in banks if k.startswith("main"))):
        subs = [f"bench-op-{stage}-{i:03d}" for i in range(len(banks[stage]))]
        data = write_rows(
            tmp / f"pause-{stage}.txt",
            list(zip(banks[stage], mint_tokens(private_key, subs), strict=True)),
        )
        phases.append(
            Phase(
                "a",
                "pause/resume-bank (whole pipeline)",
                "pause_resume.lua",
                "/api/ops/pause-bank",
                {"BENCH_DATA": data, "BENCH_KEY_PREFIX": f"{nonce}-{stage}"},
            )
        )
    return phases


def prime_replay(server: Server, bank: str, token: str, nonce: str) -> Phase:
    body = PAUSE_BODY.format(bank=bank)
    key = f"{nonce}-replay"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    path = "/api/ops/pause-bank"
    status, _headers, text = request(server.port, "POST", path, body, headers)
    if status != 200:
        raise BenchError(
            f"priming the replay failed: {status} {text[:300]}\n{server.log_tail()}"
        )
    status, got, _text = request(server.port, "POST", path, body, headers)
    if status != 200 or got.get("idempotent-replayed") != "true":
        raise BenchError(f"the replay is not a replay: {status} {got}")
    return Phase(
        "b",
        "idempotent replay",
        "replay.lua",
        "/api/ops/pause-bank",
        {"BENCH_BODY": body, "BENCH_TOKEN": token, "BENCH_KEY": key},
    )


FLOOR_INSERT = Phase("c", "floor: bare INSERT view", "insert.lua", "/bench/insert")
FLOOR_CONSTANT = Phase(
    "d", "floor: bare constant GET", "constant.lua", "/bench/constant"
)


def measure(
    wrk: str, server: Server, phase: Phase, seconds: int, connections: int
) -> Result:
    cpu, sessions = server.cpu_seconds(), db_sessions()
    values = run_wrk(wrk, server, phase, seconds, connections)
    requests = max(values["requests"], 1)
    values["cpu_ms"] = (server.cpu_seconds() - cpu) * 1000 / requests
    values["db_connects"] = db_sessions() - sessions
    return Result(phase.tag, phase.title, values)


def merge(rounds: list[Result]) -> Result:
    """One phase over its rounds: totals, and request-weighted latencies (exact
    for one round; an approximation of the percentiles for several)."""
    if len(rounds) == 1:
        return rounds[0]
    n = sum(r.values["requests"] for r in rounds) or 1
    seconds = sum(r.values["duration_s"] for r in rounds)
    summed = ("requests", "duration_s", "db_connects", "non2xx", "connect_errors")
    summed += ("read_errors", "write_errors", "timeouts")
    values = {k: sum(r.values[k] for r in rounds) for k in summed}
    for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms", "cpu_ms"):
        values[k] = sum(r.values[k] * r.values["requests"] for r in rounds) / n
    values["max_ms"] = max(r.values["max_ms"] for r in rounds)
    values["rps"] = values["requests"] / seconds
    return Result(rounds[0].tag, rounds[0].title, values)


def run_phases(
    wrk: str,
    server: Server,
    phases: list[tuple[Phase, list[Phase]]],
    args: argparse.Namespace,
) -> list[Result]:
    """Warm each phase up once, then measure them in interleaved rounds;
    ``phases`` pairs a warm-up with the phase of each round."""
    for warm, _mains in phases:
        if args.warmup > 0:
            run_wrk(wrk, server, warm, args.warmup, args.connections)
    rounds = max(args.rounds, 1)
    seconds = max(args.duration // rounds, 1)
    by_tag: dict[str, list[Result]] = {mains[0].tag: [] for _warm, mains in phases}
    for i in range(rounds):
        for _warm, mains in phases:
            main = mains[i]
            label = f" (round {i + 1}/{rounds})" if rounds > 1 else ""
            print(f"  ({main.tag}) {main.title}{label} ...", flush=True)
            by_tag[main.tag].append(
                measure(wrk, server, main, seconds, args.connections)
            )
    return [merge(results) for results in by_tag.values()]


def run_stack(
    kind: str,
    wrk: str,
    env: dict[str, str],
    args: argparse.Namespace,
    tmp: Path,
    banks: dict[str, list[str]],
    private_key: str,
) -> tuple[list[Result], list[str]]:
    """The four phases against one server; returns results and problems."""
    nonce = f"{kind}-{uuid.uuid4().hex[:8]}"
    resume_paused([b for ids in banks.values() for b in ids])
    server = Server(gunicorn_argv(kind, args.workers), env, tmp / f"{kind}.log")
    problems: list[str] = []
    try:
        server.wait_ready()
        print(f"{kind}: {shlex.join(server.argv[1:])}", flush=True)
        warm_a, *rounds_a = pause_phases(tmp, banks, private_key, nonce)
        before = audit_counts("bench-op-main")
        replay_sub = f"bench-replay-{nonce}"
        token = mint_tokens(private_key, [replay_sub])[0]
        replay = prime_replay(server, banks["replay"][0], token, nonce)
        n = len(rounds_a)
        phases = [
            (warm_a, rounds_a),
            (replay, [replay] * n),
            (FLOOR_INSERT, [FLOOR_INSERT] * n),
            (FLOOR_CONSTANT, [FLOOR_CONSTANT] * n),
        ]
        results = run_phases(wrk, server, phases, args)
    finally:
        server.stop()
    problems += check_results(results, before, replay_sub)
    problems += check_connections(results, args)
    if problems:
        print(f"server log (last lines):\n{server.log_tail(20)}")
    return results, problems


def check_results(
    results: list[Result], before: dict[str, int], replay_sub: str
) -> list[str]:
    """Every request must have succeeded, and (a) executed, (b) replayed."""
    problems = [
        f"({r.tag}) {r.failures} failed requests (non-2xx or socket errors)"
        for r in results
        if r.failures
    ]
    after = audit_counts("bench-op-main")
    executed = after.get("executed", 0) - before.get("executed", 0)
    refused = sum(after.values()) - sum(before.values()) - executed
    if refused:
        problems.append(f"(a) {refused} audit rows other than 'executed'")
    if executed < results[0].values["requests"] - results[0].failures:
        problems.append(f"(a) only {executed} executed rows for the 2xx answers")
    replay_rows = audit_counts(replay_sub)
    if replay_rows != {"executed": 1}:
        problems.append(f"(b) the replays wrote audit rows: {replay_rows}")
    return problems


def check_connections(results: list[Result], args: argparse.Namespace) -> list[str]:
    """Each worker keeps its connection (CONN_MAX_AGE): a phase that opened
    about one per request has lost connection reuse (see molam_ops/asgi.py)."""
    allowed = 2 * args.workers * (1 + args.duration // 60) + 2
    return [
        f"({r.tag}) {r.values['db_connects']:.0f} new PostgreSQL connections for "
        f"{r.values['requests']:.0f} requests: connections are not reused"
        for r in results
        if r.values["db_connects"] > allowed
    ]


# --- report ---------------------------------------------------------------------


def table(results: list[Result]) -> str:
    head = (
        f"{'':4}{'phase':38}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'requests':>10}{'failed':>8}{'cpu ms/req':>12}{'db connects':>13}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        v = r.values
        lines.append(
            f"({r.tag}) {r.title:38}{v['rps']:9.0f}{v['p50_ms']:9.2f}"
            f"{v['p99_ms']:9.2f}{v['requests']:10.0f}{r.failures:8d}"
            f"{v['cpu_ms']:12.2f}{v['db_connects']:13.0f}"
        )
    return "\n".join(lines)


def ratios(results: list[Result]) -> dict[str, float]:
    by = {r.tag: r.rps for r in results}
    return {"a/c": by["a"] / by["c"], "b/d": by["b"] / by["d"]}


def cleanup_redis(url: str) -> None:
    """Drop the relay nudges queued during the run (no worker consumes them)."""
    if not url:
        return
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(url, socket_timeout=2).delete("celery")


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


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    check_redis(args.redis_url)
    started = time.monotonic()
    commit, host = git_commit(), machine()
    with tempfile.TemporaryDirectory(prefix="molam-bench-") as tmp_name:
        tmp = Path(tmp_name)
        private_key, public_key = make_keypair(tmp)
        env = server_env(args, tmp, public_key)
        recreate_database(args.database_url, keep=args.keep_db)
        setup_django(env)
        banks = migrate_and_seed(args.connections, args.rounds)
        print(
            f"bench: {args.duration}s per phase (+{args.warmup}s warm-up), "
            f"{args.connections} connections, {args.workers} workers, "
            f"{args.rounds} round(s)",
            flush=True,
        )
        extra: list[Result] = []
        problems: list[str] = []
        if args.with_sync:
            extra, problems = run_stack("wsgi", wrk, env, args, tmp, banks, private_key)
        results, more = run_stack("asgi", wrk, env, args, tmp, banks, private_key)
        problems += more
        cleanup_redis(args.redis_url)
    print()
    print(f"repeat:  {repeat_command(args)}")
    print(f"commit:  {commit}")
    print(f"machine: {host}")
    print(f"took:    {time.monotonic() - started:.0f}s")
    if extra:
        print("\nextra: gunicorn sync workers (WSGI), same phases")
        print(table(extra))
        print("extra ratios (WSGI): " + ratio_text(ratios(extra)))
    print("\nproduction stack: gunicorn + uvicorn_worker.UvicornWorker (ASGI)")
    print(table(results))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    found = ratios(results)
    print()
    for name, value in found.items():
        verdict = "ok" if value >= TARGETS[name] else "MISSED"
        print(f"ratio {name} = {value:.2f}  (target >= {TARGETS[name]})  {verdict}")
    if problems:
        return 1
    missed = any(v < TARGETS[k] for k, v in found.items())
    return 2 if args.strict and missed else 0


def repeat_command(args: argparse.Namespace) -> str:
    flags = [
        f"--duration {args.duration}",
        f"--connections {args.connections}",
        f"--warmup {args.warmup}",
        f"--rounds {args.rounds}",
        f"--workers {args.workers}",
        f"--database-url {args.database_url}",
        f"--redis-url {shlex.quote(args.redis_url)}",
        *(["--keep-db"] if args.keep_db else []),
        *(["--with-sync"] if args.with_sync else []),
    ]
    return f"make bench BENCH_ARGS={shlex.quote(' '.join(flags))}"


def ratio_text(found: dict[str, float]) -> str:
    return "  ".join(f"{k} = {v:.2f}" for k, v in found.items())


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
