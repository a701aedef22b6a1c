"""Load test: 1,000 freeze/unfreeze requests through the
production ASGI server, and whether one user's flood slows another user.

Serves the app as benchmarks/run.py does (PostgreSQL, Redis, gunicorn with 2 uvicorn
workers, DEBUG off, a fresh RS256 key pair) and, in one run:

  (L) load: 10 connections, each a different pay_admin user with its own bank,
      alternating freeze-payouts and unfreeze-payouts on it under fresh
      Idempotency-Keys, 1,000 requests in all, with the rate limit raised for
      the run (RATE_LIMIT_PER_MINUTE=--load-rate-limit). Printed: req/s, p50,
      p99 and the errors (non-2xx or socket; must be 0), next to the floors of
      benchmarks/run.py loaded the same way in the same run: (c) a bare INSERT
      view, (d) a bare constant GET.
  (F) fairness: a second server with the production limit (100/min/user).
      User B's latency on GET /api/ops/actions?limit=1, one request at a time,
      first alone, then while user A floods the same GET on many connections
      (A's answers are then mostly 429). Target: B's p50 and p99 under the
      flood <= 1.2 x alone. B is --b-users users taking turns, so that none
      goes over its own limit. Alone and flooded are alternated for
      --fairness-rounds rounds (a new A each round); the slowdown printed is
      the median of the rounds' ratios.

    .venv/bin/python -m benchmarks.load
    .venv/bin/python -m benchmarks.load --flood-connections 50 --flood-rate 200
    make bench   # benchmarks.run, benchmarks.freeze_to_effect, then this

wrk is the client (benchmarks/lua/load.lua), as in benchmarks/run.py. A
database whose name contains ``bench`` is dropped and recreated (see
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import (
    DEFAULT_REDIS_URL,
    Run,
    audit_counts,
    bench_banks,
    bench_run,
    main_entry,
    repeat_command,
    server_arguments,
    server_flags,
)
from benchmarks.run import DEFAULT_DATABASE_URL
from benchmarks.serving import (
    FAILURE_KEYS,
    FLOOR_CONSTANT,
    FLOOR_INSERT,
    LUA_DIR,
    BenchError,
    Server,
    ensure_wrk,
    write_rows,
    wrk_result,
)

FAIRNESS_TARGET = 1.2
B_PATH = "/api/ops/actions?limit=1"
PRODUCTION_RATE_LIMIT = 100


@dataclass
class Sample:
    """One measured phase: wrk's figures, with req/s over the timed span."""

    title: str
    values: dict[str, float]

    @property
    def requests(self) -> int:
        return int(self.values["requests"])

    @property
    def errors(self) -> int:
        return int(sum(self.values[k] for k in FAILURE_KEYS))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=1000, help="(L): in all")
    p.add_argument("--concurrency", type=int, default=10, help="(L): connections")
    p.add_argument("--load-rate-limit", type=int, default=100_000, help="(L)")
    p.add_argument("--flood-connections", type=int, default=20, help="(F): A's")
    p.add_argument(
        "--flood-rate",
        type=int,
        default=0,
        help="(F): A's req/s over all its connections; 0: as fast as answered",
    )
    p.add_argument("--b-users", type=int, default=3, help="(F)")
    p.add_argument("--b-requests", type=int, default=240, help="(F): per phase")
    p.add_argument(
        "--fairness-rounds",
        type=int,
        default=3,
        help="(F): alone/flood pairs, alternated; the slowdown is their median",
    )
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    p.add_argument(
        "--fairness-only", action="store_true", help="run (F) alone, not (L)"
    )
    return p.parse_args(argv)


# --- wrk --------------------------------------------------------------------------


def wrk_argv(wrk: str, url: str, connections: int, threads: int) -> list[str]:
    return [
        *(wrk, "-t", str(threads), "-c", str(connections), "-d", "300s"),
        *("--timeout", "30s", "-s", str(LUA_DIR / "load.lua"), url),
    ]


def wrk_env(**values: str | int) -> dict[str, str]:
    extra = {f"BENCH_{k.upper()}": str(v) for k, v in values.items()}
    return {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **extra}


def counted(
    wrk: str,
    server: Server,
    path: str,
    title: str,
    connections: int,
    per_connection: int,
    **env: str,
) -> Sample:
    """``connections`` x ``per_connection`` requests; req/s over the time from
    wrk's start to the last connection's last answer. ``cpu_ms``: the server's
    CPU per request meanwhile (with a flood running, the flood's share too)."""
    argv = wrk_argv(wrk, server.url + path, connections, connections)
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=wrk_env(per_thread=per_connection, **env),
        stdout=subprocess.PIPE,
        text=True,
    )
    finished, elapsed, out = 0, 0.0, []
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line)
        if line.startswith("BENCH_THREAD_DONE"):
            finished += 1
            if finished == connections:
                elapsed = time.perf_counter() - started
                proc.send_signal(signal.SIGINT)  # wrk stops and prints its summary
    proc.wait()
    values = wrk_result("".join(out))
    values["cpu_ms"] = (server.cpu_seconds() - cpu) * 1000 / max(values["requests"], 1)
    if finished < connections:
        raise BenchError(f"{title}: only {finished} connections finished")
    values["rps"] = values["requests"] / elapsed
    return Sample(title, values)


# --- (L) the load ---------------------------------------------------------------


def freeze_data(run: Run, banks: list[str], stage: str) -> str:
    subs = [f"bench-load-{stage}-{i:03d}" for i in range(len(banks))]
    rows = list(zip(banks, run.tokens(subs), strict=True))
    return write_rows(run.tmp / f"load-{stage}.txt", rows)


def run_load(
    wrk: str, server: Server, run: Run, banks: dict[str, list[str]]
) -> tuple[list[Sample], list[str]]:
    args = run.args
    n = args.concurrency
    per = args.requests // n
    nonce = uuid.uuid4().hex[:8]
    ops = "/api/ops/freeze-payouts"
    insert = {"method": "POST", "body": "{}"}
    # warm-up: an even count per connection, so every bank ends unfrozen
    warm = freeze_data(run, banks["warm"], "warm")
    counted(wrk, server, ops, "warm", n, 20, data=warm, key_prefix=f"{nonce}-warm")
    counted(wrk, server, FLOOR_INSERT.path, "warm", n, 20, **insert)
    counted(wrk, server, FLOOR_CONSTANT.path, "warm", n, 20)
    before = audit_counts("bench-load-main")
    main = freeze_data(run, banks["main"], "main")
    samples = [
        counted(
            wrk,
            server,
            ops,
            "(L) freeze/unfreeze-payouts",
            n,
            per,
            data=main,
            key_prefix=f"{nonce}-main",
        ),
        counted(
            wrk,
            server,
            FLOOR_INSERT.path,
            "(c) floor: bare INSERT view",
            n,
            per,
            **insert,
        ),
        counted(
            wrk, server, FLOOR_CONSTANT.path, "(d) floor: bare constant GET", n, per
        ),
    ]
    after = audit_counts("bench-load-main")
    problems = [f"{s.title}: {s.errors} errors" for s in samples if s.errors]
    executed = after.get("executed", 0) - before.get("executed", 0)
    if executed != samples[0].requests - samples[0].errors:
        problems.append(f"(L) {executed} executed audit rows for the 2xx answers")
    return samples, problems


# --- (F) fairness ---------------------------------------------------------------


def start_flood(wrk: str, server: Server, token: str, args: argparse.Namespace) -> Any:
    conns = args.flood_connections
    delay = conns * 1000 // args.flood_rate if args.flood_rate else 0
    return subprocess.Popen(
        wrk_argv(wrk, server.url + B_PATH, conns, min(conns, 2)),
        env=wrk_env(tokens=token, delay_ms=delay),
        stdout=subprocess.PIPE,
        text=True,
    )


def stop_flood(proc: Any) -> dict[str, float]:
    proc.send_signal(signal.SIGINT)  # wrk stops and prints its summary
    out, _ = proc.communicate(timeout=30)
    return wrk_result(out)


def run_fairness(
    wrk: str, server: Server, run: Run
) -> tuple[list[Sample], list[dict[str, float]], list[str]]:
    """``--fairness-rounds`` rounds of: B alone, then B while a new user A
    floods; alternated so that drift on a shared machine hits both sides."""
    args = run.args
    per_user = -(-args.b_requests // args.b_users)
    if per_user >= PRODUCTION_RATE_LIMIT:
        raise BenchError("each B user must stay under its limit: add --b-users")
    nonce = uuid.uuid4().hex[:8]
    rounds = range(args.fairness_rounds)
    stages = ["warm"] + [f"{s}{r}" for r in rounds for s in ("alone", "flood", "a")]
    subs = [f"bench-{s}-{i}-{nonce}" for s in stages for i in range(args.b_users)]
    tokens = run.tokens(subs)
    users = {
        stage: " ".join(tokens[i * args.b_users : (i + 1) * args.b_users])
        for i, stage in enumerate(stages)
    }
    count = per_user * args.b_users
    counted(wrk, server, B_PATH, "warm", 1, count // 2, tokens=users["warm"])
    samples: list[Sample] = []
    floods: list[dict[str, float]] = []
    for r in rounds:
        alone = counted(
            wrk, server, B_PATH, f"B alone, round {r + 1}", 1, count,
            tokens=users[f"alone{r}"],
        )  # fmt: skip
        proc = start_flood(wrk, server, users[f"a{r}"].split()[0], args)
        try:
            time.sleep(2)  # A is past its 100 requests: the rest are 429s
            busy = counted(
                wrk, server, B_PATH, f"B while A floods, round {r + 1}", 1, count,
                tokens=users[f"flood{r}"],
            )  # fmt: skip
        finally:
            floods.append(stop_flood(proc))
        samples += [alone, busy]
    problems = [f"{s.title}: {s.errors} errors" for s in samples if s.errors]
    if not all(f["non2xx"] for f in floods):
        problems.append("a flood got no 429: is RATE_LIMIT_PER_MINUTE in force?")
    return samples, floods, problems


# --- report -----------------------------------------------------------------------


def table(samples: list[Sample]) -> str:
    head = f"{'phase':34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    head += f"{'requests':>10}{'errors':>8}{'cpu ms/req':>12}"
    lines = [head, "-" * len(head)]
    for s in samples:
        v = s.values
        lines.append(
            f"{s.title:34}{v['rps']:9.0f}{v['p50_ms']:9.2f}{v['p99_ms']:9.2f}"
            f"{s.requests:10d}{s.errors:8d}{v['cpu_ms']:12.2f}"
        )
    return "\n".join(lines)


def repeat_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--requests {args.requests}",
        f"--concurrency {args.concurrency}",
        f"--load-rate-limit {args.load_rate_limit}",
        f"--flood-connections {args.flood_connections}",
        f"--flood-rate {args.flood_rate}",
        f"--b-users {args.b_users}",
        f"--b-requests {args.b_requests}",
        f"--fairness-rounds {args.fairness_rounds}",
        *server_flags(args),
        *(["--fairness-only"] if args.fairness_only else []),
    ]


def report(
    args: argparse.Namespace,
    load: list[Sample],
    fair: list[Sample],
    floods: list[dict[str, float]],
) -> None:
    if load:
        print(
            f"\n(L) {args.requests} requests on {args.concurrency} connections, "
            f"RATE_LIMIT_PER_MINUTE={args.load_rate_limit}"
        )
        print(table(load))
        lo, ins, const = (s.values["rps"] for s in load)
        print(f"ratio L/c = {lo / ins:.2f}  L/d = {lo / const:.2f}  (req/s)")
    rate = f"at most {args.flood_rate}/s" if args.flood_rate else "unpaced"
    sent = sum(f["requests"] for f in floods)
    refused = sum(f["non2xx"] for f in floods)
    print(
        f"\n(F) RATE_LIMIT_PER_MINUTE={PRODUCTION_RATE_LIMIT}; A floods on "
        f"{args.flood_connections} connections ({rate}), {len(floods)} rounds: "
        f"{sent:.0f} requests, {refused:.0f} refused"
    )
    print(table(fair))
    for p in ("p50", "p99"):
        ratios = [
            busy.values[f"{p}_ms"] / alone.values[f"{p}_ms"]
            for alone, busy in zip(fair[::2], fair[1::2], strict=True)
        ]
        ratio = statistics.median(ratios)
        verdict = "ok" if ratio <= FAIRNESS_TARGET else "MISSED"
        each = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"slowdown B {p} = {ratio:.2f}, median of rounds ({each})  "
            f"(target <= {FAIRNESS_TARGET})  {verdict}"
        )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    problems: list[str] = []
    load: list[Sample] = []
    with bench_run(args, name="load") as run:
        banks = bench_banks({"warm": args.concurrency, "main": args.concurrency})
        stages = [("load", args.load_rate_limit), ("fair", PRODUCTION_RATE_LIMIT)]
        for stage, limit in stages[1:] if args.fairness_only else stages:
            print(f"{stage}: RATE_LIMIT_PER_MINUTE={limit} ...", flush=True)
            with run.server(stage, RATE_LIMIT_PER_MINUTE=str(limit)) as server:
                if stage == "load":
                    load, more = run_load(wrk, server, run, banks)
                else:
                    fair, floods, more = run_fairness(wrk, server, run)
            if more:
                print(f"server log (last lines):\n{server.log_tail(20)}")
            problems += more
    run.header(repeat_command("load", repeat_flags(args)))
    report(args, load, fair, floods)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    main_entry(main)
