"""KPI summary at scale: GET /api/metrics/summary over 1,000,000 payouts.

Serves the app as production does (benchmarks/run.py: PostgreSQL, gunicorn with 2
uvicorn workers, DEBUG off, a run-generated RS256 key pair, Redis) on a
database holding ``--payouts`` payouts, and measures with wrk, next to the bare
GET floor (d) of the same server:

  (s) the summary as clients get it (``KPI_CACHE_SECONDS`` at its default: one
      computation every few seconds, shared through Redis);
  (u) the summary computed on every request (``KPI_CACHE_SECONDS=0``): the
      honest cost of the computation;
  (d) floor: ``GET /floor/constant``, measured in each server.

Target: (u) p50 <= 25 ms. Ratios p50 / floor p50 are printed with it.

    .venv/bin/python -m benchmarks.kpi_summary             # seeds 1M rows (~1 min)
    .venv/bin/python -m benchmarks.kpi_summary --keep-db   # reuse them
    make bench-kpis

Needs PostgreSQL (``--database-url``, default ``$DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/molam_bench_kpis``); a database whose name
contains ``bench`` is dropped and recreated unless ``--keep-db``, which keeps
the payouts (seeding only what is missing).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks.harness import (
    Run,
    bench_run,
    main_entry,
    repeat_command,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.serving import (
    FLOOR_CONSTANT,
    BenchError,
    Phase,
    Server,
    ensure_wrk,
    failures,
    request,
    run_wrk,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench_kpis"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
TARGET_P50_MS = 25.0
BATCH = 250_000

# Age bands of the seeded payouts (seconds) and the status mix inside each:
# a payout is pending or processing for minutes, sent for hours, then settled;
# about 2 % fail and stay failed until someone retries them. The open set
# (pending, processing, failed) is therefore ~2 % of a mature table, and the
# sent/settled of the last 24 h are ~1/days of it.
STATUS_BANDS: list[tuple[int, list[tuple[str, float]]]] = [
    (600, [("pending", 0.55), ("processing", 0.30), ("failed", 0.03), ("sent", 0.12)]),
    (
        7_200,
        [
            ("pending", 0.05),
            ("processing", 0.10),
            ("failed", 0.03),
            ("sent", 0.52),
            ("settled", 0.30),
        ],
    ),
    (172_800, [("failed", 0.02), ("sent", 0.10), ("settled", 0.88)]),
    (10**9, [("failed", 0.02), ("settled", 0.98)]),
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payouts", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=90, help="history the payouts span")
    p.add_argument("--duration", type=int, default=10, help="seconds per phase")
    p.add_argument("--warmup", type=int, default=2, help="warm-up seconds per phase")
    p.add_argument(
        "--connections",
        type=int,
        default=2,
        help="= wrk threads; one per worker measures latency, more measure queueing",
    )
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    return p.parse_args(argv)


# --- data ---------------------------------------------------------------------------


def _status_sql() -> str:
    """CASE over (age, r_status) giving the status, from STATUS_BANDS."""
    bands = []
    for limit, mix in STATUS_BANDS:
        edge, whens = 0.0, []
        for status, share in mix[:-1]:
            edge += share
            whens.append(f"WHEN r_status < {edge:.4f} THEN '{status}'")
        inner = f"CASE {' '.join(whens)} ELSE '{mix[-1][0]}' END"
        bands.append(f"WHEN age < {limit} THEN {inner}")
    return "CASE " + " ".join(bands) + " END"


SEED_SQL = """
WITH pairs AS (
    SELECT bank, currency, typical, ord
    FROM unnest(%(banks)s::uuid[], %(currencies)s::text[], %(typical)s::numeric[])
         WITH ORDINALITY AS t(bank, currency, typical, ord)
),
raw AS (
    SELECT g, 1 + floor(random() * %(pairs)s)::int AS pair,
           (%(total)s - g + random()) / %(total)s * %(days)s * 86400 AS age,
           random() AS r_status,
           random() AS r_amount, random() AS r_delay
    FROM generate_series(%(first)s, %(last)s) AS g
),
typed AS (
    SELECT raw.*, {status} AS status,
           %(now)s::timestamptz - age * interval '1 second' AS created
    FROM raw
)
INSERT INTO payouts (id, bank_profile_id, amount, currency, status, disputed,
                     beneficiary, bank_reference, failure_reason, attempts,
                     created_at, updated_at)
SELECT gen_random_uuid(), p.bank,
       greatest(round((p.typical * (0.05 + r_amount * 3.95))::numeric, 2), 1),
       p.currency, status, status = 'settled' AND r_delay < 0.001,
       'BEN-' || g, 'MOLAM-KPI-' || g,
       CASE WHEN status = 'failed' THEN 'bank_timeout' ELSE '' END,
       CASE WHEN status = 'pending' THEN 0 ELSE 1 END,
       created,
       least(created + CASE status
                 WHEN 'pending' THEN interval '0'
                 WHEN 'processing' THEN r_delay * interval '60 seconds'
                 WHEN 'failed' THEN r_delay * interval '10 minutes'
                 WHEN 'sent' THEN r_delay * interval '30 minutes'
                 ELSE interval '30 minutes' + r_delay * interval '12 hours' END,
             %(now)s::timestamptz)
FROM typed JOIN pairs p ON p.ord = typed.pair
"""


def seed_payouts(total: int, *, days: int) -> int:
    """Demo rails, then payouts by INSERT … SELECT generate_series up to
    ``total`` rows (what is there already counts), then VACUUM ANALYZE so the
    planner and the visibility map look like a table autovacuum keeps.

    Row ``g`` is ``(total - g) / total`` of ``days`` old: rows go in oldest
    first, so the table's physical order follows time as a real one does
    (the recent payouts share recent pages). Returns how many rows were added."""
    from django.db import connection
    from django.utils import timezone

    from payouts.demo import TYPICAL_AMOUNT, seed
    from payouts.models import Payout, TreasuryAccount

    seed(payouts=0)
    have = Payout.objects.count()
    if have >= total:
        return 0
    pairs = list(TreasuryAccount.objects.values_list("bank_profile_id", "currency"))
    params: dict[str, Any] = {
        "banks": [b for b, _c in pairs],
        "currencies": [c for _b, c in pairs],
        "typical": [TYPICAL_AMOUNT[c] for _b, c in pairs],
        "pairs": len(pairs),
        "days": days,
        "total": total,
        "now": timezone.now(),
    }
    sql = SEED_SQL.format(status=_status_sql())
    first = have + 1
    with connection.cursor() as cur:
        while first <= total:
            last = min(first + BATCH - 1, total)
            started = time.monotonic()
            cur.execute(sql, {**params, "first": first, "last": last})
            print(
                f"  seeded payouts {first:,}-{last:,} "
                f"({time.monotonic() - started:.1f}s)",
                flush=True,
            )
            first = last + 1
        cur.execute("VACUUM ANALYZE payouts")
    return total - have


def payout_mix() -> dict[str, int]:
    from django.db.models import Count

    from payouts.models import Payout

    rows = Payout.objects.values("status").annotate(n=Count("id")).order_by("status")
    return {r["status"]: r["n"] for r in rows}


def check_summary(server: Server, token: str, mix: dict[str, int]) -> None:
    """The served summary counts what the table holds (a fast wrong answer
    would be no result)."""
    status, _h, text = request(
        server.port,
        "GET",
        "/api/metrics/summary",
        None,
        {"Authorization": f"Bearer {token}"},
    )
    if status != 200:
        raise BenchError(f"the summary answered {status}: {text[:300]}")
    payouts = json.loads(text)["summary"]["payouts"]
    for key in ("pending", "processing", "failed"):
        if payouts[key] != mix.get(key, 0):
            raise BenchError(f"summary {key} = {payouts[key]}, table {mix.get(key)}")


# --- measure ------------------------------------------------------------------------


def measure_server(
    wrk: str, run: Run, phase: Phase, mix: dict[str, int], **env: str
) -> tuple[dict[str, float], dict[str, float]]:
    """One server: ``phase`` then the floor (d), each after a warm-up."""
    args = run.args
    with run.server(phase.tag, **env) as server:
        check_summary(server, phase.env["BENCH_TOKEN"], mix)
        found = []
        for ph in (phase, FLOOR_CONSTANT):
            if args.warmup > 0:
                run_wrk(wrk, server, ph, args.warmup, args.connections)
            print(f"  ({ph.tag}) {ph.title} ...", flush=True)
            found.append(run_wrk(wrk, server, ph, args.duration, args.connections))
    if any(failures(v) for v in found):
        raise BenchError(f"failed requests in ({phase.tag}):\n{server.log_tail(20)}")
    return found[0], found[1]


def summary_phase(tag: str, title: str, token: str) -> Phase:
    return Phase(
        tag, title, "summary.lua", "/api/metrics/summary", {"BENCH_TOKEN": token}
    )


def row(tag: str, title: str, v: dict[str, float]) -> str:
    return (
        f"({tag}) {title:40}{v['rps']:8.0f}{v['p50_ms']:9.2f}{v['p90_ms']:9.2f}"
        f"{v['p99_ms']:9.2f}{v['requests']:10.0f}"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    with bench_run(args, name="kpis") as run:
        added = seed_payouts(args.payouts, days=args.days)
        mix = payout_mix()
        shown = ", ".join(f"{k} {v:,}" for k, v in mix.items())
        token = run.token("bench-kpis")
        print(f"payouts: {shown} (added {added:,} this run)", flush=True)
        cached = summary_phase("s", "summary, cached (default)", token)
        uncached = summary_phase("u", "summary, computed per request", token)
        s, d1 = measure_server(wrk, run, cached, mix)
        u, d2 = measure_server(wrk, run, uncached, mix, KPI_CACHE_SECONDS="0")
    run.header(repeat_command("kpi_summary", repeat_flags(args)))
    print(f"payouts: {shown}")
    print(f"load:    {args.connections} connections, {args.workers} workers")
    print()
    head = f"{'':4}{'phase':40}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
    print(head + f"{'requests':>10}")
    print("-" * (len(head) + 10))
    print(row("s", cached.title, s))
    print(row("d", "floor: bare constant GET (same server)", d1))
    print(row("u", uncached.title, u))
    print(row("d", "floor: bare constant GET (same server)", d2))
    print()
    print(f"ratio p50 s/d = {s['p50_ms'] / d1['p50_ms']:.2f}")
    print(f"ratio p50 u/d = {u['p50_ms'] / d2['p50_ms']:.2f}")
    ok = verdict("uncached p50", u["p50_ms"], TARGET_P50_MS, "<=", " ms")
    return 2 if args.strict and not ok else 0


def repeat_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--payouts {args.payouts}",
        f"--days {args.days}",
        f"--duration {args.duration}",
        f"--warmup {args.warmup}",
        f"--connections {args.connections}",
        *server_flags(args),
    ]


if __name__ == "__main__":
    main_entry(main)
