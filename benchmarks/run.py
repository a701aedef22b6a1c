"""`make bench`: the ops-action pipeline against floors, as in production.

Serves the app as production does (PostgreSQL, gunicorn with 2 uvicorn workers,
DEBUG off, a real RS256 key pair) and loads it from a second process with wrk,
over 127.0.0.1. In one run it measures req/s and p50/p99 of:

  (a) pause-bank / resume-bank through the whole pipeline (JWT, RBAC,
      idempotency, audit, control, outbox);
  (b) an idempotent replay of one stored response;
  (c) floor: a bare DRF view doing one INSERT;
  (d) floor: a bare DRF GET returning a constant;

and prints the ratios last. Targets: (a) >= 0.33 x (c), (b) >= 0.8 x (d).
See benchmarks/README.md for how to read it.

    .venv/bin/python -m benchmarks.run --duration 5 --rounds 2
"""

from __future__ import annotations

import argparse
import shlex
import uuid
from dataclasses import dataclass

from benchmarks.harness import (
    DEFAULT_REDIS_URL,
    Run,
    audit_counts,
    bench_banks,
    bench_run,
    main_entry,
    repeat_command,
    resume_paused,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.serving import (
    FLOOR_CONSTANT,
    FLOOR_INSERT,
    BenchError,
    Phase,
    Server,
    ensure_wrk,
    failures,
    request,
    run_wrk,
    write_rows,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench"
PAUSE_BODY = '{{"bank_profile_id":"{bank}","reason":"bench"}}'
# Operator actions run a few times a day: their code is the ORM and the
# serializers, not hand-built SQL, and a third of a bare INSERT's throughput
# is the bar for them. Replays are what a retrying client hammers.
TARGETS = {"a/c": 0.33, "b/d": 0.8}


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
        return failures(self.values)


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
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    p.add_argument(
        "--with-sync",
        action="store_true",
        help="also measure gunicorn sync (WSGI) workers, as extra information",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 2 when a target is missed"
    )
    return p.parse_args(argv)


def bench_stages(connections: int, rounds: int) -> dict[str, list[str]]:
    """Banks for the (a) warm-up and for each (a) round, one per connection,
    plus one for the replay."""
    stages = dict.fromkeys(["warm", *main_stages(rounds)], connections)
    return bench_banks({**stages, "replay": 1})


def db_sessions() -> int:
    """Sessions ever opened on the database (PostgreSQL >= 14): connection churn."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(cur.fetchone()[0])


# --- load -----------------------------------------------------------------------


def main_stages(rounds: int) -> list[str]:
    return [f"main{i}" for i in range(max(rounds, 1))]


def pause_phases(run: Run, banks: dict[str, list[str]], nonce: str) -> list[Phase]:
    """(a) for the warm-up and for each round: distinct banks and actors, so a
    round starts with every bank resumed whatever a request cut off by the end
    of the previous one did."""
    phases = []
    for stage in ("warm", *(k for k in banks if k.startswith("main"))):
        subs = [f"bench-op-{stage}-{i:03d}" for i in range(len(banks[stage]))]
        data = write_rows(
            run.tmp / f"pause-{stage}.txt",
            list(zip(banks[stage], run.tokens(subs), strict=True)),
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
    kind: str, wrk: str, run: Run, banks: dict[str, list[str]]
) -> tuple[list[Result], list[str]]:
    """The four phases against one server; returns results and problems."""
    args = run.args
    nonce = f"{kind}-{uuid.uuid4().hex[:8]}"
    resume_paused([b for ids in banks.values() for b in ids])
    with run.server(kind, kind) as server:
        print(f"{kind}: {shlex.join(server.argv[1:])}", flush=True)
        warm_a, *rounds_a = pause_phases(run, banks, nonce)
        before = audit_counts("bench-op-main")
        replay_sub = f"bench-replay-{nonce}"
        replay = prime_replay(server, banks["replay"][0], run.token(replay_sub), nonce)
        n = len(rounds_a)
        phases = [
            (warm_a, rounds_a),
            (replay, [replay] * n),
            (FLOOR_INSERT, [FLOOR_INSERT] * n),
            (FLOOR_CONSTANT, [FLOOR_CONSTANT] * n),
        ]
        results = run_phases(wrk, server, phases, args)
    problems = check_results(results, before, replay_sub)
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


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    with bench_run(args, name="bench") as run:
        banks = bench_stages(args.connections, args.rounds)
        print(
            f"bench: {args.duration}s per phase (+{args.warmup}s warm-up), "
            f"{args.connections} connections, {args.workers} workers, "
            f"{args.rounds} round(s)",
            flush=True,
        )
        extra: list[Result] = []
        problems: list[str] = []
        if args.with_sync:
            extra, problems = run_stack("wsgi", wrk, run, banks)
        results, more = run_stack("asgi", wrk, run, banks)
        problems += more
    run.header(repeat_command("run", repeat_flags(args)))
    if extra:
        print("\nextra: gunicorn sync workers (WSGI), same phases")
        print(table(extra))
        print("extra ratios (WSGI): " + ratio_text(ratios(extra)))
    print("\nproduction stack: gunicorn + uvicorn_worker.UvicornWorker (ASGI)")
    print(table(results))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    met = [
        verdict(f"ratio {name}", value, TARGETS[name], ">=")
        for name, value in ratios(results).items()
    ]
    if problems:
        return 1
    return 2 if args.strict and not all(met) else 0


def repeat_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--duration {args.duration}",
        f"--connections {args.connections}",
        f"--warmup {args.warmup}",
        f"--rounds {args.rounds}",
        *server_flags(args),
        *(["--with-sync"] if args.with_sync else []),
    ]


def ratio_text(found: dict[str, float]) -> str:
    return "  ".join(f"{k} = {v:.2f}" for k, v in found.items())


if __name__ == "__main__":
    main_entry(main)
