"""Freeze-to-effect (issue 3): how soon does a freeze stop the payouts, and what
does the dispatcher's per-payout control check cost?

On PostgreSQL, with the simulated bank at latency 0 (so the dispatcher runs
flat out and the bank answers at once), in one run:

  (1) throughput: a separate process drains a backlog of pending payouts with
      the per-dispatch check (controls + the payout's dispute flag, read right
      before every send, one query) and without it (the claim still honours
      the controls), in pairs run back to back. Printed: payouts/s and the
      dispatcher's CPU per payout, the median of the pairs' ratios
      with/without, and — steadier on a shared machine, where two runs see
      different loads — the share of the loop's time spent inside the check.
      Target: the check costs <= 5 % of the throughput.
  (2) freeze-to-effect: the app served as in production (gunicorn + uvicorn
      workers, as bench/run.py starts it) and ``manage.py dispatch_payouts
      --for-real --interval 0`` in its own process, sending to a few banks.
      Each round waits until the dispatcher is sending to bank B, POSTs a bank
      freeze of B, and measures from the 200 to the last time a payout reached
      B (the simulated bank's ledger stamps every attempt), then unfreezes it
      and tops the backlog up. p50/p99/max over >= 50 freezes. Target: p99 <=
      250 ms. A dispatch to B after the freeze is the payout the dispatcher had
      already checked; anything later than the observation window is printed
      as a PROBLEM (the control was not honoured).

    .venv/bin/python bench/freeze_to_effect.py            # defaults below
    .venv/bin/python bench/freeze_to_effect.py --freezes 100 --strict
    make bench   # runs bench/run.py, then this (FREEZE_BENCH_ARGS=...)

Needs PostgreSQL (``--database-url``, default ``$DATABASE_URL`` or
``postgres://postgres@127.0.0.1:5432/molam_bench_freeze``); a database whose
name contains ``bench`` is dropped and recreated unless ``--keep-db``. Figures
compare commits on one machine; the ``machine:`` line shows the load at start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402 - the repository root is put on the path first
    BenchError,
    Server,
    check_redis,
    git_commit,
    gunicorn_argv,
    machine,
    make_keypair,
    recreate_database,
    request,
    server_env,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/molam_bench_freeze"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
TARGET_P99_MS = 250.0
TARGET_CHECK_COST = 0.05


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
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="REDIS_URL of the server, as in production; '' for none",
    )
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    # internal: the throughput child process
    p.add_argument(
        "--child-drain", choices=["check", "nocheck"], help=argparse.SUPPRESS
    )
    return p.parse_args(argv)


# --- data -------------------------------------------------------------------------


def make_banks(count: int) -> list[uuid.UUID]:
    from payouts.models import BankProfile

    return [
        BankProfile.objects.get_or_create(
            code=f"bench-fte-{i:02d}",
            defaults={"name": f"Bench freeze {i}", "country": "SN"},
        )[0].pk
        for i in range(count)
    ]


def reset_rails() -> None:
    """No payouts, an empty bank ledger, fresh breakers: each phase starts equal."""
    from django.db import connection

    from payouts.models import BankProfile, Payout, SimulatedBankTransfer

    Payout.objects.all().delete()
    SimulatedBankTransfer.objects.all().delete()
    BankProfile.objects.update(
        circuit_state="closed",
        consecutive_failures=0,
        recent_outcomes=[],
        circuit_opened_at=None,
    )
    with connection.cursor() as cur:  # dead rows would slow the later rounds
        cur.execute("VACUUM ANALYZE payouts")
        cur.execute("VACUUM ANALYZE simulated_bank_transfers")


def add_pending(
    banks: list[uuid.UUID], per_bank: dict[uuid.UUID, int], *, first: bool = False
) -> None:
    """Pending payouts, interleaved across banks in creation order, so the
    dispatcher (oldest first) keeps visiting every bank; ``first`` dates them
    before every pending payout, so they are the next ones sent."""
    from decimal import Decimal

    from django.db.models import Min
    from django.utils import timezone

    from payouts.models import Payout

    now = timezone.now()
    start = now
    if first:
        oldest = Payout.objects.filter(status="pending").aggregate(m=Min("created_at"))
        start = (oldest["m"] or now) - timedelta(seconds=1)
    rows, i = [], 0
    left = dict(per_bank)
    while any(left.values()):
        for bank in banks:
            if left.get(bank, 0) > 0:
                left[bank] -= 1
                i += 1
                rows.append(
                    Payout(
                        bank_profile_id=bank,
                        amount=Decimal("1000.00"),
                        currency="XOF",
                        beneficiary="BENCH",
                        bank_reference=f"FTE-{uuid.uuid4().hex}",
                        created_at=start + timedelta(microseconds=i),
                        updated_at=now,
                    )
                )
    Payout.objects.bulk_create(rows, batch_size=2000)
    analyze()


def analyze() -> None:
    """Fresh planner statistics: with a table the planner believes empty it
    scans instead of using the primary key, unlike any real deployment."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE payouts")
        cur.execute("ANALYZE simulated_bank_transfers")


def pending_by_bank() -> dict[uuid.UUID, int]:
    from django.db.models import Count

    from payouts.models import Payout

    return dict(
        Payout.objects.filter(status="pending")
        .values_list("bank_profile_id")
        .annotate(n=Count("id"))
    )


def last_dispatch(bank: uuid.UUID) -> datetime | None:
    from django.db.models import Max

    from payouts.models import SimulatedBankTransfer

    return SimulatedBankTransfer.objects.filter(bank_profile_id=bank).aggregate(
        last=Max("last_attempt_at")
    )["last"]


# --- (1) throughput -----------------------------------------------------------------


def child_drain(args: argparse.Namespace) -> int:
    """In the child process: drain the backlog; print payouts, seconds, CPU,
    and the seconds spent inside the per-dispatch check itself (a second,
    steadier estimate of its cost than comparing two runs)."""
    import django

    django.setup()
    from payouts import gates
    from payouts.dispatcher import drain

    gate = gates.gate()
    check = gate.hold_reason
    spent = [0.0]

    def timed(**kw: Any) -> str | None:
        started = time.perf_counter()
        try:
            return check(**kw)
        finally:
            spent[0] += time.perf_counter() - started

    gate.hold_reason = timed  # type: ignore[method-assign]
    cpu = time.process_time()
    sent, seconds = drain(batch=args.batch, check_controls=args.child_drain == "check")
    cpu = time.process_time() - cpu
    print(json.dumps({"sent": sent, "seconds": seconds, "cpu": cpu, "check": spent[0]}))
    return 0


def drain_once(
    mode: str, args: argparse.Namespace, env: dict[str, str], banks: list[uuid.UUID]
) -> dict[str, float]:
    reset_rails()
    share = args.throughput_payouts // len(banks)
    add_pending(banks, dict.fromkeys(banks, share))
    out = subprocess.run(
        [sys.executable, __file__, "--child-drain", mode, "--batch", str(args.batch)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise BenchError(f"the drain ({mode}) failed:\n{out.stderr[-3000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    if found["sent"] != share * len(banks):
        raise BenchError(
            f"the drain ({mode}) sent {found['sent']} of {share * len(banks)}"
        )
    return {
        "rate": found["sent"] / found["seconds"],
        "cpu_us": found["cpu"] / found["sent"] * 1e6,
        "check_share": found["check"] / found["seconds"],
        "check_us": found["check"] / found["sent"] * 1e6,
    }


def throughput(
    args: argparse.Namespace, env: dict[str, str], banks: list[uuid.UUID]
) -> dict[str, float]:
    """Pairs of drains, with and without the check back to back (the order
    alternating), so a change of load on the machine hits both sides of a
    pair alike; the ratio is the median of the pairs' ratios."""
    runs: dict[str, list[dict[str, float]]] = {"check": [], "nocheck": []}
    pair_ratios = []
    for i in range(args.throughput_rounds):
        order = ("check", "nocheck") if i % 2 == 0 else ("nocheck", "check")
        for mode in order:
            runs[mode].append(drain_once(mode, args, env, banks))
        pair_ratios.append(runs["check"][-1]["rate"] / runs["nocheck"][-1]["rate"])
        print(
            f"  pair {i + 1}: {runs['check'][-1]['rate']:6.0f} payouts/s with the "
            f"check, {runs['nocheck'][-1]['rate']:6.0f} without "
            f"(ratio {pair_ratios[-1]:.3f})",
            flush=True,
        )
    found = {
        "ratio": statistics.median(pair_ratios),
        "check_share": statistics.median(r["check_share"] for r in runs["check"]),
        "check_us": statistics.median(r["check_us"] for r in runs["check"]),
    }
    for mode, drains in runs.items():
        found[f"{mode}_rate"] = statistics.median(r["rate"] for r in drains)
        found[f"{mode}_cpu_us"] = statistics.median(r["cpu_us"] for r in drains)
    return found


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
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    banks: list[uuid.UUID],
    token: str,
) -> tuple[dict[str, list[float]], list[str]]:
    """Freeze, watch, unfreeze, ``--freezes`` times. Returns, per freeze, the
    ms from the 200 to the bank's last dispatch (0 when that came first) and
    from sending the request to it, and the problems seen."""
    reset_rails()
    add_pending(banks, dict.fromkeys(banks, args.backlog))
    server = Server(gunicorn_argv("asgi", args.workers), env, tmp / "server.log")
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
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    found: dict[str, list[float]] = {"from_200": [], "from_request": []}
    problems: list[str] = []
    try:
        server.wait_ready()
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


# --- report ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child_drain:
        return child_drain(args)
    if args.freezes < 1 or args.banks < 2:
        raise BenchError("--freezes >= 1 and --banks >= 2")
    check_redis(args.redis_url)
    started = time.monotonic()
    commit, host = git_commit(), machine()
    with tempfile.TemporaryDirectory(prefix="molam-fte-") as tmp_name:
        tmp = Path(tmp_name)
        private_key, public_key = make_keypair(tmp)
        env = server_env(args, tmp, public_key)
        env.update(
            CONNECTOR_LATENCY_MS="0",
            CONNECTOR_FAILURE_RATE="0",
            CONNECTOR_BANKS="{}",
            PAYOUT_SETTLE_AFTER_SECONDS="0",
            LOG_LEVEL="WARNING",
        )
        recreate_database(args.database_url, keep=args.keep_db)
        setup_django(env)
        from django.core.management import call_command

        from molam_ops.tokens import mint

        call_command("migrate", verbosity=0, interactive=False)
        banks = make_banks(args.banks)
        print(
            f"(1) dispatcher throughput, {args.throughput_payouts} payouts per drain",
            flush=True,
        )
        rates = throughput(args, env, banks)
        print(
            f"(2) freeze-to-effect, {args.freezes} freezes over {args.banks} banks",
            flush=True,
        )
        token = mint(
            sub="bench-freezer",
            roles=["pay_admin"],
            ttl=timedelta(hours=2),
            private_key=private_key,
        )
        found, problems = freeze_rounds(args, env, tmp, banks, token)
        problems += audit_check(args.freezes)
    ratio = rates["ratio"]
    cost = 1 - ratio
    share = rates["check_share"]
    effects = found["from_200"]
    p50, p99 = percentile(effects, 50), percentile(effects, 99)
    request = found["from_request"]
    print()
    print(
        f"repeat:  .venv/bin/python bench/freeze_to_effect.py {' '.join(argv)}".rstrip()
    )
    print(f"commit:  {commit}")
    print(f"machine: {host}")
    print(f"took:    {time.monotonic() - started:.0f}s")
    print()
    print(
        f"{'dispatcher (latency 0), medians':34}{'payouts/s':>10}{'cpu us/payout':>15}"
    )
    for label, mode in (
        ("with the per-dispatch check", "check"),
        ("without", "nocheck"),
    ):
        rate, cpu = rates[f"{mode}_rate"], rates[f"{mode}_cpu_us"]
        print(f"{label:34}{rate:10.0f}{cpu:15.0f}")
    print()
    zero = sum(1 for e in effects if e == 0)
    print(
        f"freeze-to-effect over {len(effects)} freezes, from the 200: p50 {p50:.1f} ms,"
        f" p99 {p99:.1f} ms, max {max(effects):.1f} ms ({zero} had no dispatch after"
        " the 200)"
    )
    print(
        f"  from sending the request: p50 {percentile(request, 50):.1f} ms, "
        f"p99 {percentile(request, 99):.1f} ms, max {max(request):.1f} ms"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print()
    cost_ok = cost <= TARGET_CHECK_COST
    share_ok = share <= TARGET_CHECK_COST
    p99_ok = p99 <= TARGET_P99_MS
    print(
        f"ratio with/without check = {ratio:.3f} (cost {cost * 100:.1f} %, "
        f"target <= {TARGET_CHECK_COST * 100:.0f} %)  {'ok' if cost_ok else 'MISSED'}"
    )
    print(
        f"time inside the check = {share * 100:.1f} % of the dispatch loop "
        f"({rates['check_us']:.0f} us per payout; target <= "
        f"{TARGET_CHECK_COST * 100:.0f} %)  {'ok' if share_ok else 'MISSED'}"
    )
    print(
        f"freeze-to-effect p99 = {p99:.1f} ms  (target <= {TARGET_P99_MS:.0f} ms)  "
        f"{'ok' if p99_ok else 'MISSED'}"
    )
    if problems:
        return 1
    return 2 if args.strict and not (cost_ok and share_ok and p99_ok) else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
