"""Freeze-to-effect: how soon does a freeze stop the payouts, and what
does the dispatcher's per-payout control check cost?

On PostgreSQL, with the simulated bank at latency 0 (so the dispatcher runs
flat out and the bank answers at once), in one run:

  (1) throughput: a separate process drains a backlog of pending payouts with
      the per-dispatch check (controls + the payout's dispute flag, read right
      before every send, one query) and without it (the claim still honours
      the controls), in pairs run back to back (benchmarks/dispatch.py).
      Printed: payouts/s and the dispatcher's CPU per payout, the median of
      the pairs' ratios with/without, and — steadier on a shared machine,
      where two runs see different loads — the share of the loop's time
      spent inside the check.
      Target: the check costs <= 5 % of the throughput.
  (2) freeze-to-effect: the app served as in production (gunicorn + uvicorn
      workers, as benchmarks/run.py starts it) and ``manage.py dispatch_payouts
      --for-real --interval 0`` in its own process, sending to a few banks.
      Each round waits until the dispatcher is sending to bank B, POSTs a bank
      freeze of B, and measures from the 200 to the last time a payout reached
      B (the simulated bank's ledger stamps every attempt), then unfreezes it
      and tops the backlog up. p50/p99/max over >= 50 freezes. Target: p99 <=
      250 ms. A dispatch to B after the freeze is the payout the dispatcher had
      already checked; anything later than the observation window is printed
      as a PROBLEM (the control was not honoured).

    .venv/bin/python -m benchmarks.freeze_to_effect       # defaults below
    .venv/bin/python -m benchmarks.freeze_to_effect --freezes 100 --strict
    make bench   # runs benchmarks.run, then this (FREEZE_BENCH_ARGS=...)

Needs PostgreSQL (``--database-url``, default ``$DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/molam_bench_freeze``); a database whose
name contains ``bench`` is dropped and recreated unless ``--keep-db``. Figures
compare commits on one machine; the ``machine:`` line shows the load at start.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.dispatch import (
    add_pending,
    last_dispatch,
    make_banks,
    pending_by_bank,
    reset_rails,
    throughput,
)
from benchmarks.harness import (
    DEFAULT_REDIS_URL,
    Run,
    bench_run,
    main_entry,
    percentile,
    repeat_command,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.serving import ROOT, BenchError, Server, request

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench_freeze"
TARGET_P99_MS = 250.0
TARGET_CHECK_COST = 0.05
# the simulated bank answers at once and always pays: the dispatcher runs flat out
RAILS_ENV = {
    "CONNECTOR_LATENCY_MS": "0",
    "CONNECTOR_FAILURE_RATE": "0",
    "CONNECTOR_BANKS": "{}",
    "PAYOUT_SETTLE_AFTER_SECONDS": "0",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--freezes", type=int, default=50, help="freeze rounds (>= 50)")
    p.add_argument("--banks", type=int, default=4, help="banks receiving payouts")
    p.add_argument(
        "--backlog", type=int, default=200, help="pending payouts per bank and round"
    )
    p.add_argument(
        "--per-round",
        type=int,
        default=10,
        help="payouts per bank put at the head of the queue before each freeze",
    )
    p.add_argument("--batch", type=int, default=10, help="dispatcher claim size")
    p.add_argument(
        "--window-ms",
        type=int,
        default=600,
        help="how long to watch a frozen bank after the 200",
    )
    p.add_argument(
        "--throughput-payouts", type=int, default=500, help="payouts per drain"
    )
    p.add_argument("--throughput-rounds", type=int, default=5, help="pairs of drains")
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    return p.parse_args(argv)


# --- (2) freeze-to-effect -------------------------------------------------------------


def post(server: Server, token: str, action: str, body: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    status, _h, text = request(
        server.port, "POST", f"/api/ops/{action}", json.dumps(body), headers
    )
    if status != 200:
        raise BenchError(f"{action} answered {status}: {text[:300]}")
    return status


def wait_until_sending(bank: uuid.UUID, since: datetime, timeout: float = 30) -> None:
    """Until the dispatcher has sent to ``bank`` after ``since``: it is busy
    with that bank when the freeze lands."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = last_dispatch(bank)
        if last is not None and last > since:
            return
        time.sleep(0.005)
    raise BenchError(f"the dispatcher sent nothing to bank {bank} for {timeout}s")


def freeze_rounds(
    run: Run, banks: list[uuid.UUID], token: str
) -> tuple[dict[str, list[float]], list[str]]:
    """Freeze, watch, unfreeze, ``--freezes`` times. Returns, per freeze, the
    ms from the 200 to the bank's last dispatch (0 when that came first) and
    from sending the request to it, and the problems seen."""
    args, tmp = run.args, run.tmp
    reset_rails()
    add_pending(banks, dict.fromkeys(banks, args.backlog))
    server = run.server("server")
    log = (tmp / "dispatcher.log").open("wb")
    dispatcher = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "dispatch_payouts",
            "--for-real",
            "--batch",
            str(args.batch),
            "--interval",
            "0",
        ],
        cwd=ROOT,
        env=run.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    found: dict[str, list[float]] = {"from_200": [], "from_request": []}
    problems: list[str] = []
    try:
        for i in range(args.freezes):
            if dispatcher.poll() is not None:
                raise BenchError(
                    "the dispatcher exited; see " + str(tmp / "dispatcher.log")
                )
            bank = banks[i % len(banks)]
            wait_until_sending(bank, datetime.now(UTC) - timedelta(milliseconds=20))
            scope = {"scope": {"bank_profile_id": str(bank)}}
            sent = datetime.now(UTC)
            post(server, token, "freeze-payouts", {**scope, "reason": "bench"})
            answered = datetime.now(UTC)
            time.sleep(args.window_ms / 1000)
            last = last_dispatch(bank) or sent
            effect = max(0.0, (last - answered).total_seconds() * 1000)
            found["from_200"].append(effect)
            found["from_request"].append(max(0.0, (last - sent).total_seconds() * 1000))
            if effect > args.window_ms * 0.9:
                problems.append(
                    f"round {i}: a payout reached the frozen bank "
                    f"{effect:.0f} ms after the 200"
                )
            post(server, token, "unfreeze-payouts", scope)
            # next round: a few fresh payouts of every bank at the head of the
            # queue (ahead of what the freeze held back), the backlog behind
            add_pending(banks, dict.fromkeys(banks, args.per_round), first=True)
            pending = pending_by_bank()
            low = {
                b: args.backlog for b in banks if pending.get(b, 0) < args.backlog // 2
            }
            if low:
                add_pending(banks, low)
    finally:
        dispatcher.terminate()
        try:
            dispatcher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            dispatcher.kill()
        log.close()
        server.stop()
    return found, problems


def audit_check(freezes: int) -> list[str]:
    from audit.models import OpsActionLog

    rows = OpsActionLog.objects.filter(actor_id="bench-freezer")
    done = {
        t: rows.filter(action_type=t, status="executed").count()
        for t in ("freeze_payouts", "unfreeze_payouts")
    }
    if done != {"freeze_payouts": freezes, "unfreeze_payouts": freezes}:
        return [f"audit rows do not match the freezes: {done}"]
    return []


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.freezes < 1 or args.banks < 2:
        raise BenchError("--freezes >= 1 and --banks >= 2")
    with bench_run(args, name="fte", env=RAILS_ENV) as run:
        banks = make_banks(args.banks)
        print(
            f"(1) dispatcher throughput, {args.throughput_payouts} payouts per drain",
            flush=True,
        )
        rates = throughput(args, run.env, banks)
        print(
            f"(2) freeze-to-effect, {args.freezes} freezes over {args.banks} banks",
            flush=True,
        )
        found, problems = freeze_rounds(run, banks, run.token("bench-freezer"))
        problems += audit_check(args.freezes)
    run.header(repeat_command("freeze_to_effect", repeat_flags(args)))
    report(rates, found)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    cost, share = 1 - rates["ratio"], rates["check_share"]
    print(
        f"ratio with/without check = {rates['ratio']:.3f} "
        f"(cost {cost * 100:.1f} %, {rates['check_us']:.0f} us per payout "
        f"inside the check)"
    )
    met = [
        verdict(
            "cost of the check (throughput)",
            cost * 100,
            TARGET_CHECK_COST * 100,
            "<=",
            " %",
        ),
        verdict(
            "time inside the check (share of the loop)",
            share * 100,
            TARGET_CHECK_COST * 100,
            "<=",
            " %",
        ),
        verdict(
            "freeze-to-effect p99",
            percentile(found["from_200"], 99),
            TARGET_P99_MS,
            "<=",
            " ms",
        ),
    ]
    if problems:
        return 1
    return 2 if args.strict and not all(met) else 0


def report(rates: dict[str, float], found: dict[str, list[float]]) -> None:
    print()
    head = f"{'dispatcher (latency 0), medians':34}{'payouts/s':>10}"
    print(head + f"{'cpu us/payout':>15}")
    for label, mode in (
        ("with the per-dispatch check", "check"),
        ("without", "nocheck"),
    ):
        rate, cpu = rates[f"{mode}_rate"], rates[f"{mode}_cpu_us"]
        print(f"{label:34}{rate:10.0f}{cpu:15.0f}")
    print()
    effects, sent = found["from_200"], found["from_request"]
    zero = sum(1 for e in effects if e == 0)
    print(
        f"freeze-to-effect over {len(effects)} freezes, from the 200: p50 "
        f"{percentile(effects, 50):.1f} ms, p99 {percentile(effects, 99):.1f} ms, "
        f"max {max(effects):.1f} ms ({zero} had no dispatch after the 200)"
    )
    print(
        f"  from sending the request: p50 {percentile(sent, 50):.1f} ms, "
        f"p99 {percentile(sent, 99):.1f} ms, max {max(sent):.1f} ms"
    )


def repeat_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--freezes {args.freezes}",
        f"--banks {args.banks}",
        f"--backlog {args.backlog}",
        f"--per-round {args.per_round}",
        f"--batch {args.batch}",
        f"--window-ms {args.window_ms}",
        f"--throughput-payouts {args.throughput_payouts}",
        f"--throughput-rounds {args.throughput_rounds}",
        *server_flags(args),
    ]


if __name__ == "__main__":
    main_entry(main)
