"""The audit log at scale: does any request's cost grow with the log's size?

Builds a valid log of ``--rows`` rows (default 1,000,000; benchmarks/audit_log.py),
lets the product's beat task build the Merkle tree and sign a checkpoint over
it, then serves the app as production does (gunicorn, 2 uvicorn workers,
DEBUG off, PostgreSQL with the log partitioned, Redis, a Celery worker for
the audit jobs) and measures, each next to its floor from the same run:

  list head     GET /api/ops/actions?limit=50, the newest page
  list tail     the same list's ``next`` page at the oldest rows
                (target: tail p50 <= 1.5 x head p50)
  list filtered ?actor_id= and ?status=&action_type= (index-backed)
  verify        GET /api/ops/audit/verify after 1,000 new rows: from the
                newest checkpoint (target <= 1 s at any size); floor: the raw
                SELECT of those rows
  proof         GET /api/ops/audit/proof at random rows (target p50 <= 20 ms)
  append        the product's append_row at N rows vs on an empty log in a
                fresh database (target >= 0.9 x)
  healthz       GET /healthz p99 while a full verify and a full export run as
                jobs on the worker (target <= 100 ms); floor: p99 idle

The HTTP figures are p50/p99 of sequential requests on one keep-alive
connection; the floor of each is ``GET /floor/constant`` on the same server.

    .venv/bin/python -m benchmarks.audit_scale                   # 1M rows, ~10 min
    .venv/bin/python -m benchmarks.audit_scale --keep-db         # reuse the log
    .venv/bin/python -m benchmarks.audit_scale --rows 10000000   # where time allows
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from benchmarks import audit_log
from benchmarks.harness import (
    Run,
    bench_run,
    main_entry,
    percentile,
    repeat_command,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.serving import BIN, ROOT, BenchError

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench_audit"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"


class Client:
    """One keep-alive connection, timing each request."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> tuple[int, dict[str, Any], float]:
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=self.headers)
            resp = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            # the server closed the idle keep-alive connection: a new one
            self.conn.close()
            started = time.perf_counter()
            self.conn.request("GET", path, headers=self.headers)
            resp = self.conn.getresponse()
        body = resp.read()
        took = (time.perf_counter() - started) * 1000
        ctype = resp.getheader("Content-Type") or ""
        data = json.loads(body) if ctype.startswith("application/json") else {}
        if resp.status >= 400:
            raise BenchError(f"GET {path} answered {resp.status}: {body[:300]!r}")
        return resp.status, data, took

    def times(self, paths: Callable[[int], str], n: int) -> list[float]:
        return [self.get(paths(i))[2] for i in range(n)]


def p(values: list[float], q: float) -> float:
    return percentile(values, q)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def tail_next(client: Client, rows: int) -> str:
    """The list's ``next`` link at the oldest rows: the head page's own link,
    its cursor moved to row 51 (the cursor format is the list's; walking
    20,000 pages to get there would measure the same request 20,000 times)."""
    from audit.models import OpsActionLog
    from molam_ops.pagination import encode_cursor

    _, head, _ = client.get("/api/ops/actions?limit=50")
    if not head.get("next"):
        raise BenchError("the head page has no next link")
    row = OpsActionLog.objects.get(seq=51)
    parts = urlsplit(head["next"])
    query = [q for q in parts.query.split("&") if not q.startswith("cursor=")]
    query.append(f"cursor={encode_cursor(row.created_at, row.seq)}")
    return f"{parts.path}?{'&'.join(query)}"


def append(n: int) -> float:
    """``n`` appends through the product's only writer, one transaction
    each, as actions make them; rows per second."""
    import uuid

    from django.db import transaction

    from audit.services import append_row

    started = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            append_row(
                action_id=uuid.uuid4(),
                actor_id="bench-append",
                actor_role="pay_admin",
                action_type="pause_bank",
                status="executed",
                target={"bank_profile_id": str(uuid.UUID(int=i))},
                details={"i": i},
            )
    return n / (time.perf_counter() - started)


def empty_log_appends(args: argparse.Namespace, n: int) -> float:
    """The same appends on an empty log, in a fresh database of its own."""
    url = args.database_url.rsplit("/", 1)[0] + "/molam_bench_audit_empty"
    out = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "benchmarks.audit_scale",
            "--appends-only",
            str(n),
            "--database-url",
            url,
            "--redis-url",
            args.redis_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise BenchError(f"the empty-log run failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def worker(run: Run) -> subprocess.Popen[bytes]:
    log = (run.tmp / "worker.log").open("wb")
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "molam_ops", "worker", "-c", "2", "-l", "INFO"],
        cwd=ROOT,
        env=run.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def measure(run: Run, rows: int, samples: int) -> list[bool]:
    from audit.checkpoints import sign_checkpoint

    oks: list[bool] = []
    with run.server("audit") as server:
        client = Client(server.port, run.token("bench-auditor"))
        floor = client.times(lambda i: "/floor/constant", samples)
        print(f"floor    GET /floor/constant p50 {p(floor, 50):.2f} ms")

        head = client.times(lambda i: "/api/ops/actions?limit=50", samples)
        tail_path = tail_next(client, rows)
        tail = client.times(lambda i: tail_path, samples)
        print(f"list     head p50 {p(head, 50):.2f} ms, tail p50 {p(tail, 50):.2f} ms")
        oks.append(verdict("list tail/head p50", p(tail, 50) / p(head, 50), 1.5, "<="))
        for name, path in [
            ("actor_id", "/api/ops/actions?limit=50&actor_id=bench-actor-07"),
            ("status+type", "/api/ops/actions?status=failed&action_type=retry_payout"),
        ]:
            t = client.times(lambda i, path=path: path, samples)
            print(
                f"list     ?{name} p50 {p(t, 50):.2f} ms "
                f"({p(t, 50) / p(floor, 50):.1f}x floor)"
            )

        top = rows
        proofs = client.times(
            lambda i: (
                f"/api/ops/audit/proof?seq={random.randint(1, top)}&tree_size={top}"
            ),
            samples,
        )
        print(f"proof    p50 {p(proofs, 50):.2f} ms p99 {p(proofs, 99):.2f} ms")
        oks.append(verdict("inclusion proof p50", p(proofs, 50), 20, "<=", " ms"))

        at_n = append(2000)
        print(f"append   {at_n:,.0f} rows/s at {rows:,} rows")
        empty = empty_log_appends(run.args, 2000)
        print(f"append   {empty:,.0f} rows/s on an empty log (floor)")
        oks.append(verdict("append at N / empty", at_n / empty, 0.9, ">="))

        sign_checkpoint()  # the 2,000 appends are covered; verify starts here
        append(1000)
        verify_ms = [client.get("/api/ops/audit/verify")[2] for _ in range(5)]
        raw = raw_select_ms(1000)
        print(
            f"verify   after 1,000 rows p50 {p(verify_ms, 50):.1f} ms "
            f"(raw SELECT of them {raw:.1f} ms, {p(verify_ms, 50) / raw:.0f}x)"
        )
        oks.append(
            verdict("incremental verify", p(verify_ms, 50) / 1000, 1.0, "<=", " s")
        )

        oks.append(healthz_during_jobs(run, server.port, client, floor, samples))
    return oks


def raw_select_ms(n: int) -> float:
    from django.db import connection

    with connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute("SELECT max(seq) FROM ops_actions_log")
        (top,) = cur.fetchone()
        cur.execute(
            "SELECT * FROM ops_actions_log WHERE seq > %s ORDER BY seq", [top - n]
        )
        cur.fetchall()
    return (time.perf_counter() - started) * 1000


def healthz_during_jobs(
    run: Run, port: int, client: Client, floor: list[float], samples: int
) -> bool:
    probe = Client(port, "")
    idle = probe.times(lambda i: "/healthz", samples)
    proc = worker(run)
    try:
        jobs = []
        for path in [
            "/api/ops/audit/verify?full=1",
            "/api/ops/actions/export?format=json",
        ]:
            status, body, took = client.get(path)
            if status != 202:
                raise BenchError(f"{path} answered {status}, not a job")
            print(f"job      {path} answered 202 in {took:.1f} ms")
            jobs.append(f"/api/ops/audit/jobs/{body['job']['id']}")
        busy: list[float] = []
        done: dict[str, float] = {}
        started = time.monotonic()
        while len(done) < len(jobs):
            busy.append(probe.get("/healthz")[2])
            time.sleep(0.02)
            if len(busy) % 50 == 0:
                for job in jobs:
                    if job in done:
                        continue
                    _, body, _ = client.get(job)
                    if body["job"]["status"] in {"done", "failed"}:
                        done[job] = time.monotonic() - started
                        print(
                            f"job      {job} {body['job']['status']} after "
                            f"{done[job]:.0f}s ({body['job']['progress']:,} rows)"
                        )
            if time.monotonic() - started > 1800:
                raise BenchError("the jobs did not finish in 30 minutes")
    finally:
        proc.terminate()
        proc.wait(30)
    print(
        f"healthz  idle p99 {p(idle, 99):.1f} ms; during the jobs p50 "
        f"{p(busy, 50):.1f} ms p99 {p(busy, 99):.1f} ms ({len(busy)} probes)"
    )
    return verdict(
        "healthz p99 during full verify + export", p(busy, 99), 100, "<=", " ms"
    )


def vacuum() -> None:
    """What autovacuum does to an insert-only table soon after a load
    (PostgreSQL 13+ vacuums on inserts): statistics, and the visibility map
    that lets the capped counts read the index alone."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE ops_actions_log")
        cur.execute("VACUUM ANALYZE ops_audit_tree_node")
    print(f"vacuum   {time.monotonic() - started:.0f}s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    server_arguments(parser, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--appends-only", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.appends_only:
        with bench_run(args, name="audit-empty"):
            print(append(args.appends_only))
        return 0
    with bench_run(args, name="audit-scale") as run:
        print(f"building a log of {args.rows:,} rows")
        built = audit_log.build(args.rows)
        if built:
            print(f"  {built:,.0f} rows/s (hashing in Python + COPY)")
        from audit.checkpoints import sign_checkpoint

        started, signed = time.monotonic(), None
        while cp := sign_checkpoint():  # the tree takes a long log in steps
            signed = cp
        took = time.monotonic() - started
        if signed is not None:
            print(
                f"tree     {signed.tree_size:,} leaves built and signed in {took:.0f}s"
            )
        vacuum()
        rows = audit_log.last_row()[0]
        oks = measure(run, rows, args.samples)
        flags = [
            f"--rows {args.rows}",
            f"--samples {args.samples}",
            *server_flags(args),
        ]
        run.header(repeat_command("audit_scale", flags))
    return 0 if all(oks) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main_entry(main)
