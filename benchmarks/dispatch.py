"""The payout dispatcher under a benchmark: the pending payouts a run feeds
it, and its throughput with and without the per-payout control check.

:func:`throughput` drains a backlog in a child process (``python -m
benchmarks.dispatch check|nocheck``), pairs of drains back to back, with the
simulated bank at latency 0 so the dispatcher runs flat out. The child wraps
the installed gate (:class:`BenchGate`): it times the per-payout check, or
answers it "go" without asking (the claim still honours every control), so
the product keeps one dispatcher with no switch for this.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from benchmarks.serving import ROOT, BenchError

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


class BenchGate:
    """The installed gate at the claim; before each send, the same check
    timed (``check=True``) or none at all."""

    def __init__(self, inner: Any, *, check: bool) -> None:
        self.inner, self.check, self.spent = inner, check, 0.0

    def blocked(self) -> Any:
        return self.inner.blocked()

    def hold_reason(self, **kw: Any) -> str | None:
        if not self.check:
            return None
        started = time.perf_counter()
        try:
            return self.inner.hold_reason(**kw)
        finally:
            self.spent += time.perf_counter() - started


def drain(batch: int) -> tuple[int, float]:
    """Dispatch until nothing is left to claim; (payouts sent, seconds)."""
    from payouts.connector import default_connector
    from payouts.dispatcher import dispatch_batch

    connector = default_connector()
    sent, started = 0, time.perf_counter()
    while (report := dispatch_batch(batch=batch, connector=connector)).claimed:
        sent += report.sent
    return sent, time.perf_counter() - started


def child(argv: list[str]) -> int:
    """In the child process: drain the backlog; print payouts, seconds, CPU,
    and the seconds spent inside the per-dispatch check itself (a second,
    steadier estimate of its cost than comparing two runs)."""
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["check", "nocheck"])
    p.add_argument("--batch", type=int, default=10)
    args = p.parse_args(argv)
    import django

    django.setup()
    from payouts import gates

    gate = BenchGate(gates.gate(), check=args.mode == "check")
    gates.set_gate(gate)
    cpu = time.process_time()
    sent, seconds = drain(args.batch)
    cpu = time.process_time() - cpu
    print(
        json.dumps({"sent": sent, "seconds": seconds, "cpu": cpu, "check": gate.spent})
    )
    return 0


def drain_once(
    mode: str, args: argparse.Namespace, env: dict[str, str], banks: list[uuid.UUID]
) -> dict[str, float]:
    reset_rails()
    share = args.throughput_payouts // len(banks)
    add_pending(banks, dict.fromkeys(banks, share))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.dispatch", mode, "--batch", str(args.batch)],
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


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
