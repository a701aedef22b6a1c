"""The planner end to end: ``POST /api/ops/generate-plan`` over 1,000,000
pending payouts, from the 202 to the plan ``pending``, through the real worker.

On PostgreSQL (a database of its own, ``molam_bench_planner``): the demo's
banks and accounts, then ``--payouts`` pending payouts written by one
``INSERT … SELECT generate_series`` (each bank's daily capacity raised to
``--payouts`` so the routing plan is feasible; amounts spread over each currency's
typical range, so the snapshot's classes are as many as in production), then
``VACUUM ANALYZE`` as autovacuum would after a load. The app is served as in
production (gunicorn, DEBUG off, Redis) with a real Celery worker; SIRA_URL
points at a closed port with ``SIRA_RETRIES=0``, so the worker's SIRA call is
refused at once and the local planner answers (the plan's fallback reason and
SIRA time are printed). Each run posts a ``routing_optimization`` request and
polls ``GET /api/ops/plans/<id>`` every 10 ms until the plan leaves
``generating``: what an operator waits for, snapshot query included
(target <= 5 s). The floor, from the same run and database: the snapshot's
payout-class aggregate SQL alone (``plans.planner.snapshot.class_rows``), run
on a plain connection.

    .venv/bin/python -m benchmarks.planner --e2e
    .venv/bin/python -m benchmarks.planner --e2e --keep-db --runs 5
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import time
import uuid
from typing import Any

from benchmarks.harness import (
    Run,
    bench_run,
    percentile,
    repeat_command,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.serving import BIN, ROOT, BenchError, request

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench_planner"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
TARGET_SECONDS = 5.0
POLL_SECONDS = 0.01


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payouts", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3, help="plans generated, one by one")
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    return p.parse_args(argv)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the data ------------------------------------------------------------------


def seed(payouts: int) -> float:
    """The demo rails, then ``payouts`` pending payouts in one statement;
    seconds taken (0 when a kept database already holds them)."""
    from django.db import connection

    from payouts.demo import TYPICAL_AMOUNT
    from payouts.demo import seed as seed_demo
    from payouts.models import BankProfile, Payout

    seed_demo(payouts=0)
    # a day of 1M payouts needs banks that can take them: without this the
    # routing plan is infeasible (EUR alone would exceed its banks' capacity)
    BankProfile.objects.update(daily_capacity=payouts)
    if Payout.objects.filter(status="pending").count() >= payouts:
        return 0.0
    typical = ", ".join(f"('{c}', {v})" for c, v in TYPICAL_AMOUNT.items())
    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH pairs AS (
                SELECT row_number() OVER (ORDER BY b.code, c.cur) - 1 AS k,
                       b.id AS bank, c.cur, t.amount AS typical
                FROM bank_profiles b
                CROSS JOIN LATERAL jsonb_array_elements_text(b.currencies) c(cur)
                JOIN (VALUES {typical}) t(cur, amount) ON t.cur = c.cur
            ), n AS (SELECT count(*) AS n FROM pairs)
            INSERT INTO payouts (id, bank_profile_id, amount, currency, status,
                disputed, beneficiary, bank_reference, failure_reason, attempts,
                created_at, updated_at)
            SELECT gen_random_uuid(), p.bank,
                   greatest(1, round((p.typical * (0.05 + random() * 3.95))::numeric,
                                     2)),
                   p.cur, 'pending', false, 'BEN-' || g, 'BENCH-PLAN-' || g, '', 0,
                   now() - g * interval '50 ms', now() - g * interval '50 ms'
            FROM generate_series(1, %s) g, n
            JOIN pairs p ON true
            WHERE p.k = g %% n.n
            """,
            [payouts],
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE payouts")
    return time.monotonic() - started


def floor_seconds(runs: int) -> list[float]:
    """The snapshot's payout-class aggregate SQL alone, on this process's
    connection: what no plan can take less than."""
    from django.db import connection

    from plans.planner.snapshot import class_rows

    sql, params = class_rows().query.sql_with_params()
    out = []
    with connection.cursor() as cur:
        for _ in range(runs):
            started = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            out.append(time.perf_counter() - started)
    return out


def explain() -> str:
    from django.db import connection

    from plans.planner.snapshot import class_rows

    sql, params = class_rows().query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(r[0] for r in cur.fetchall())


# --- the worker and the requests -------------------------------------------------


def worker(run: Run) -> subprocess.Popen[bytes]:
    log = (run.tmp / "worker.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "celery"), "-A", "molam_ops", "worker", "-c", "1", "-l", "INFO"],
        cwd=ROOT,
        env=run.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from molam_ops.celery import app

    # the worker's own log lines follow LOG_LEVEL (WARNING here): ask it
    deadline = time.monotonic() + 300  # a shared 2-core machine starts it slowly
    while time.monotonic() < deadline and proc.poll() is None:
        if app.control.ping(timeout=1.0):
            return proc
    proc.terminate()
    tail = (run.tmp / "worker.log").read_text(errors="replace")[-2000:]
    raise BenchError(f"the Celery worker did not start:\n{tail}")


def generate(port: int, token: str) -> tuple[str, float]:
    """POST generate-plan; (plan id, monotonic time of the 202)."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = json.dumps({"plan_params": {"type": "routing_optimization"}})
    status, _h, text = request(port, "POST", "/api/ops/generate-plan", body, headers)
    at = time.monotonic()
    if status != 202:
        raise BenchError(f"generate-plan answered {status}: {text[:300]}")
    return str(json.loads(text)["plan"]["id"]), at


def wait_generated(port: int, token: str, plan_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status, _h, text = request(
            port, "GET", f"/api/ops/plans/{plan_id}", "", headers
        )
        if status != 200:
            raise BenchError(f"GET plan answered {status}: {text[:300]}")
        plan: dict[str, Any] = json.loads(text)
        plan = plan.get("plan", plan)
        if plan["status"] != "generating":
            return plan
        time.sleep(POLL_SECONDS)
    raise BenchError(f"plan {plan_id} still generating after 300 s")


def measure(run: Run, runs: int) -> list[tuple[float, dict[str, Any]]]:
    token = run.token("bench-planner")
    out = []
    proc = worker(run)
    try:
        with run.server("planner-e2e") as server:
            for _ in range(runs):
                plan_id, at = generate(server.port, token)
                plan = wait_generated(server.port, token, plan_id)
                took = time.monotonic() - at
                if plan["status"] != "pending":
                    raise BenchError(f"plan {plan_id} ended {plan['status']}: {plan}")
                out.append((took, plan))
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def _ms(value: Any) -> str:
    return f"{value:,} ms" if isinstance(value, int) else "?"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sira = f"http://127.0.0.1:{closed_port()}"
    env = {"SIRA_URL": sira, "SIRA_RETRIES": "0"}
    with bench_run(args, name="planner-e2e", env=env) as run:
        took = seed(args.payouts)
        if took:
            print(f"seeded {args.payouts:,} pending payouts in {took:.1f} s")
        floor = floor_seconds(max(3, args.runs))
        results = measure(run, args.runs)
        plan_explain = explain()
        times = [t for t, _plan in results]
        print(
            f"SIRA_URL {sira} (closed port), SIRA_RETRIES=0: the local planner answers"
        )
        for i, (t, plan) in enumerate(results, 1):
            details = plan.get("details") or {}
            timings = details.get("timings") or {}
            print(
                f"run {i}: 202 -> pending {t:.3f} s (worker: snapshot "
                f"{_ms(timings.get('snapshot_ms'))}, SIRA "
                f"{_ms(timings.get('sira_ms'))}, planner "
                f"{_ms(timings.get('planner_ms'))}, preview "
                f"{_ms(timings.get('preview_ms'))}, total "
                f"{_ms(timings.get('total_ms'))}); source {plan.get('source')}, "
                f"fallback {plan.get('fallback_reason')!r}, "
                f"{len(plan.get('steps') or [])} steps"
            )
        best_floor = min(floor)
        first, median = times[0], percentile(times, 50)
        print(
            f"floor: the payout-class aggregate SQL alone, best of {len(floor)}: "
            f"{best_floor:.3f} s"
        )
        print()
        print("EXPLAIN (ANALYZE, BUFFERS) of the payout-class aggregate:")
        print(plan_explain)
        print()
        print(f"ratio e2e (first) / floor = {first / best_floor:.2f}")
        print(f"ratio e2e (median) / floor = {median / best_floor:.2f}")
        ok = verdict(
            "202 -> pending, worst of the runs", max(times), TARGET_SECONDS, "<=", " s"
        )
        flags = [
            "--e2e",
            f"--payouts {args.payouts}",
            f"--runs {args.runs}",
            *server_flags(args),
        ]
        run.header(repeat_command("planner", flags))
    return 2 if args.strict and not ok else 0
