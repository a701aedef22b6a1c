"""Benchmark of the local planner's ``routing_optimization`` (issue 4).

One synthetic day of pending payouts (default 100,000 payouts, 20 banks, 5
currencies; seeded, so every run sees the same problem), in one run:

  (p) the planner: payouts aggregated into (bank, currency, amount bucket)
      classes, then ``plans.planner.plan("routing_optimization", ...)``;
      wall time (target <= 2 s), memory peak, its total fee (the plan's
      estimate, and the fee once the steps are *executed* on the payouts:
      each step takes random payouts of its bank and currency in its amount
      range, as an executor would);
  (r) the reference and floor: the same problem as one LP over every
      (payout, bank) pair the rules allow (~1 M columns, 100,000 rows),
      handed whole to HiGHS (interior point; minutes at this size), and
      solved again by Dantzig-Wolfe decomposition (a HiGHS master LP over
      whole assignments priced by the 20 capacity duals, stopped when the
      feasible solution's cost and the Lagrangian lower bound agree to 1e-9;
      seconds). The two must agree (else PROBLEM); it is the LP optimum, so
      no integer plan can be cheaper. ``--skip-full-lp`` keeps only the
      decomposition, for quick runs;
  (g) the naive greedy: each payout in arrival order to its cheapest allowed
      bank with capacity left.

Ratios printed last: plan fee / optimum (target <= 1.005), greedy / optimum,
plan time / 2 s. See bench/README.md ("Planner").
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from plans.planner import lp  # noqa: E402
from plans.planner.assignment import BUCKETS_PER_OCTAVE  # noqa: E402
from plans.planner.planning import plan  # noqa: E402
from plans.planner.types import (  # noqa: E402
    BankSnapshot,
    Constraints,
    PayoutClass,
    PlanResult,
    Snapshot,
)

CURRENCIES = ["USD", "EUR", "XOF", "NGN", "KES", "GHS", "XAF"]
USD_PER_UNIT = {
    "USD": 1.0,
    "EUR": 1.08,
    "XOF": 0.00165,
    "NGN": 0.00065,
    "KES": 0.0077,
    "GHS": 0.066,
    "XAF": 0.00165,
}
MIN_SUCCESS_RATE = Decimal("0.95")
TARGET_SECONDS = 2.0
TARGET_GAP = 1.005
SMOOTHING = 0.8  # Wentges: weight of the best duals so far when pricing


@dataclass
class Problem:
    banks: list[BankSnapshot]
    currency: np.ndarray  # per payout, index into currencies
    amount: np.ndarray  # per payout, in its currency (cents)
    origin: np.ndarray  # per payout, bank index
    currencies: list[str]
    rates: np.ndarray  # USD per unit, per currency
    # per (payout, bank) pair the rules allow
    pair_payout: np.ndarray
    pair_bank: np.ndarray
    pair_cost: np.ndarray  # USD

    @property
    def capacity(self) -> np.ndarray:
        return np.array([b.capacity for b in self.banks], dtype=np.int64)


def make_problem(n: int, n_banks: int, n_cur: int, seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    currencies = CURRENCIES[:n_cur]
    rates = np.array([USD_PER_UNIT[c] for c in currencies])
    serves = np.zeros((n_banks, n_cur), dtype=bool)
    for b in range(n_banks):
        k = int(rng.integers(2, min(4, n_cur) + 1))
        serves[b, rng.choice(n_cur, k, replace=False)] = True
    for c in range(n_cur):  # every currency has at least three banks
        while serves[:, c].sum() < 3:
            serves[rng.integers(n_banks), c] = True
    weights = rng.uniform(0.5, 1.5, n_banks)
    capacity = np.floor(weights / weights.sum() * n * 1.3).astype(int)
    banks = []
    for b in range(n_banks):
        banks.append(
            BankSnapshot(
                id=f"bank-{b:02d}",
                name=f"Bank {b:02d}",
                currencies=tuple(currencies[c] for c in np.flatnonzero(serves[b])),
                success_rate=Decimal("0.93") if b in (3, 11) else Decimal("0.99"),
                failure_rate=Decimal("0.07") if b in (3, 11) else Decimal("0.01"),
                circuit_state="open" if b == 7 else "closed",
                fee_percent=Decimal(f"{rng.uniform(0.003, 0.012):.4f}"),
                fee_fixed=Decimal(f"{rng.uniform(0.10, 0.50):.2f}"),
                capacity=int(capacity[b]),
                paused=b == 5,
            )
        )
    currency = rng.integers(0, n_cur, n)
    amount_usd = rng.lognormal(np.log(120), 1.1, n)
    amount = np.maximum(np.round(amount_usd / rates[currency], 2), 0.01)
    origin = np.empty(n, dtype=np.int64)
    for c in range(n_cur):  # where each payout waits now: a bank serving it
        idx = np.flatnonzero(currency == c)
        origin[idx] = rng.choice(np.flatnonzero(serves[:, c]), len(idx))
    pairs = allowed_pairs(banks, currencies, currency, origin)
    fp = np.array([float(b.fee_percent) for b in banks])
    ff = np.array([float(b.fee_fixed) for b in banks])
    p, b = pairs
    cost = fp[b] * amount[p] * rates[currency[p]] + ff[b]
    return Problem(banks, currency, amount, origin, currencies, rates, p, b, cost)


def allowed_pairs(
    banks: list[BankSnapshot],
    currencies: list[str],
    currency: np.ndarray,
    origin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(payout, bank) pairs: the bank may receive the currency, or it is the
    payout's own bank and still operable (the planner's rules exactly)."""
    receive = np.array(
        [[b.can_receive(c, MIN_SUCCESS_RATE) for c in currencies] for b in banks]
    )
    allowed = receive[:, currency].T  # payouts x banks
    operable = np.array([b.operable for b in banks])
    rows = np.arange(len(currency))
    allowed[rows, origin] |= operable[origin]
    p, b = np.nonzero(allowed)
    return p.astype(np.int64), b.astype(np.int64)


# --- (p) the planner ----------------------------------------------------------


def aggregate(problem: Problem) -> tuple[PayoutClass, ...]:
    """GROUP BY bank, currency, bucket, as the snapshot's SQL does."""
    bucket = np.floor(BUCKETS_PER_OCTAVE * np.log2(problem.amount)).astype(np.int64)
    n_cur = len(problem.currencies)
    key = (problem.origin * n_cur + problem.currency) * 1000 + (bucket + 500)
    order = np.argsort(key, kind="stable")
    keys, starts, counts = np.unique(key[order], return_index=True, return_counts=True)
    amounts = problem.amount[order]
    sums = np.add.reduceat(amounts, starts)
    lows = np.minimum.reduceat(amounts, starts)
    highs = np.maximum.reduceat(amounts, starts)
    out = []
    for k, n, total, low, high in zip(keys, counts, sums, lows, highs, strict=True):
        bank, cur = divmod(int(k) // 1000, n_cur)
        out.append(
            PayoutClass(
                bank_id=problem.banks[bank].id,
                currency=problem.currencies[cur],
                count=int(n),
                amount=Decimal(f"{total:.2f}"),
                amount_min=Decimal(f"{low:.2f}"),
                amount_max=Decimal(f"{high:.2f}"),
            )
        )
    return tuple(out)


def plan_once(problem: Problem) -> tuple[PlanResult, dict[str, float]]:
    started = time.perf_counter()
    classes = aggregate(problem)
    aggregated = time.perf_counter()
    snapshot = Snapshot(
        banks=tuple(problem.banks),
        payout_classes=classes,
        usd_rates={c: Decimal(str(USD_PER_UNIT[c])) for c in problem.currencies},
    )
    constraints = Constraints(min_success_rate=MIN_SUCCESS_RATE)
    result = plan("routing_optimization", snapshot, constraints)
    done = time.perf_counter()
    return result, {"aggregate": aggregated - started, "plan": done - aggregated}


def run_planner(
    problem: Problem, repeat: int
) -> tuple[PlanResult, list[dict[str, float]], int]:
    """Timed runs first (the first one cold), then one more under tracemalloc
    for the memory peak: tracing slows every allocation, so it is not timed."""
    runs = [plan_once(problem) for _ in range(repeat)]
    tracemalloc.start()
    plan_once(problem)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return runs[0][0], [t for _r, t in runs], peak


def execute(problem: Problem, result: PlanResult, seed: int) -> np.ndarray:
    """The bank of every payout once the steps ran: each step takes random
    pending payouts of its bank and currency within its amount range."""
    rng = np.random.default_rng(seed + 1)
    bank_of = problem.origin.copy()
    index = {b.id: i for i, b in enumerate(problem.banks)}
    cur_index = {c: i for i, c in enumerate(problem.currencies)}
    moved = np.zeros(len(bank_of), dtype=bool)
    for step in result.steps:
        f = step.fields
        source, target = index[f["from_bank_id"]], index[f["to_bank_id"]]
        low, high = float(f["amount_min"]), float(f["amount_max"])
        pool = np.flatnonzero(
            (problem.origin == source)
            & (problem.currency == cur_index[f["currency"]])
            & ~moved
        )
        amounts = problem.amount[pool]
        inside = (amounts >= low - 0.005) & (amounts <= high + 0.005)
        chosen = rng.choice(pool[inside], min(f["count"], inside.sum()), replace=False)
        if len(chosen) < f["count"]:  # ranges of two steps overlapped: nearest
            rest = pool[~inside]
            gap = np.maximum(low - problem.amount[rest], problem.amount[rest] - high)
            extra = rest[np.argsort(gap, kind="stable")[: f["count"] - len(chosen)]]
            chosen = np.concatenate([chosen, extra])
        bank_of[chosen] = target
        moved[chosen] = True
    return bank_of


def assignment_cost(problem: Problem, bank_of: np.ndarray) -> float:
    fp = np.array([float(b.fee_percent) for b in problem.banks])
    ff = np.array([float(b.fee_fixed) for b in problem.banks])
    usd = problem.amount * problem.rates[problem.currency]
    return float(np.sum(fp[bank_of] * usd + ff[bank_of]))


def check_feasible(problem: Problem, bank_of: np.ndarray) -> list[str]:
    problems = []
    load = np.bincount(bank_of, minlength=len(problem.banks))
    over = np.flatnonzero(load > problem.capacity)
    if len(over):
        problems.append(f"capacity exceeded at {len(over)} bank(s)")
    allowed = set(
        zip(problem.pair_payout.tolist(), problem.pair_bank.tolist(), strict=True)
    )
    bad = sum((p, int(b)) not in allowed for p, b in enumerate(bank_of.tolist()))
    if bad:
        problems.append(f"{bad} payouts at a bank the rules forbid")
    return problems


# --- (g) greedy -----------------------------------------------------------------


def greedy(problem: Problem) -> np.ndarray:
    """Arrival order; each payout to its cheapest allowed bank with room."""
    order = np.lexsort((problem.pair_cost, problem.pair_payout))
    p_sorted, b_sorted = problem.pair_payout[order], problem.pair_bank[order]
    starts = np.searchsorted(p_sorted, np.arange(len(problem.amount) + 1))
    left = problem.capacity.copy()
    bank_of = np.full(len(problem.amount), -1, dtype=np.int64)
    banks = b_sorted.tolist()
    for p in range(len(problem.amount)):
        for j in range(starts[p], starts[p + 1]):
            b = banks[j]
            if left[b] > 0:
                left[b] -= 1
                bank_of[p] = b
                break
    return bank_of


# --- (r) the reference: the per-payout LP -------------------------------------------


@dataclass
class Reference:
    optimum: float  # cost of a feasible (fractional) per-payout LP solution
    lower_bound: float  # Lagrangian bound: no solution is cheaper
    seconds: float
    iterations: int
    method: str


def reference_lp(
    problem: Problem, start: np.ndarray, *, tol: float = 1e-9
) -> Reference:
    """The per-payout LP's optimum by Dantzig-Wolfe decomposition.

    min sum c[p,b] x[p,b]  s.t.  sum_b x[p,b] = 1,  sum_p x[p,b] <= cap[b].
    The master (HiGHS) mixes whole assignments A_j: min sum mu_j cost(A_j),
    sum mu_j load_b(A_j) <= cap_b, sum mu_j = 1. Its capacity duals lam price
    the subproblem, which decomposes per payout: argmin_b c[p,b] + lam_b.
    Any master solution is a feasible LP solution (upper bound); the priced
    subproblem gives the Lagrangian bound g(lam) = sum_p min_b(c + lam) -
    cap.lam (lower bound). Equal bounds prove optimality.
    """
    started = time.perf_counter()
    n, nb = len(problem.amount), len(problem.banks)
    dense = np.full((n, nb), np.inf)
    dense[problem.pair_payout, problem.pair_bank] = problem.pair_cost
    cap = problem.capacity.astype(np.float64)
    columns_cost = [float(dense[np.arange(n), start].sum())]
    columns_load = [np.bincount(start, minlength=nb).astype(np.float64)]
    lower, upper, iterations = -np.inf, np.inf, 0
    center: np.ndarray | None = None  # the duals with the best bound so far
    rows = np.arange(n)

    def price(lam: np.ndarray) -> tuple[float, np.ndarray]:
        priced = dense + lam
        choice = np.argmin(priced, axis=1)
        return float(priced[rows, choice].sum() - cap @ lam), choice

    while iterations < 5000:
        iterations += 1
        upper, lam_master, sigma = _master(columns_cost, columns_load, cap)
        # Wentges smoothing: price between the best duals and the master's,
        # which cuts the cutting-plane tail from thousands of solves to tens
        lam = (
            lam_master
            if center is None
            else SMOOTHING * center + (1 - SMOOTHING) * lam_master
        )
        bound, choice = price(lam)
        if bound > lower:
            lower, center = bound, lam
        if upper - lower <= tol * abs(upper):
            break
        cost = float(dense[rows, choice].sum())
        load = np.bincount(choice, minlength=nb).astype(np.float64)
        if cost + lam_master @ load - sigma >= -1e-9 * abs(upper):
            # mis-priced: the smoothed duals found nothing the master lacks
            bound, choice = price(lam_master)
            if bound > lower:
                lower, center = bound, lam_master
            cost = float(dense[rows, choice].sum())
            load = np.bincount(choice, minlength=nb).astype(np.float64)
        columns_cost.append(cost)
        columns_load.append(load)
    return Reference(
        optimum=upper,
        lower_bound=lower,
        seconds=time.perf_counter() - started,
        iterations=iterations,
        method=f"Dantzig-Wolfe, {lp.solver_name()} master",
    )


def _master(
    costs: list[float], loads: list[np.ndarray], cap: np.ndarray
) -> tuple[float, np.ndarray, float]:
    """Solve the restricted master: its value, the capacity duals (as prices
    >= 0) and the convexity row's dual."""
    import highspy

    nb, k = len(cap), len(costs)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    load = np.array(loads).T  # banks x columns
    rows, cols = np.nonzero(load)
    matrix = lp.Matrix.from_triplets(
        np.concatenate([rows, np.full(k, nb)]),
        np.concatenate([cols, np.arange(k)]),
        np.concatenate([load[rows, cols], np.ones(k)]),
        num_row=nb + 1,
        num_col=k,
    )
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = k, nb + 1
    model.col_cost_ = np.array(costs)
    model.col_lower_, model.col_upper_ = np.zeros(k), np.full(k, lp.INF)
    model.row_lower_ = np.concatenate([np.full(nb, -lp.INF), [1.0]])
    model.row_upper_ = np.concatenate([cap, [1.0]])
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.start
    model.a_matrix_.index_ = matrix.index
    model.a_matrix_.value_ = matrix.value
    h.passModel(model)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"master LP: {h.modelStatusToString(h.getModelStatus())}")
    duals = np.array(h.getSolution().row_dual)
    value = float(h.getInfo().objective_function_value)
    return value, np.maximum(-duals[:nb], 0.0), float(duals[nb])


def full_lp(problem: Problem) -> Reference:
    """The per-payout LP handed to HiGHS whole (interior point, no crossover)."""
    n, nb = len(problem.amount), len(problem.banks)
    m = len(problem.pair_payout)
    matrix = lp.Matrix.from_triplets(
        np.concatenate([problem.pair_payout, n + problem.pair_bank]),
        np.concatenate([np.arange(m), np.arange(m)]),
        np.ones(2 * m),
        num_row=n + nb,
        num_col=m,
    )
    started = time.perf_counter()
    solution = lp.solve(
        cost=problem.pair_cost,
        matrix=matrix,
        col_lower=np.zeros(m),
        col_upper=np.full(m, lp.INF),
        row_lower=np.concatenate([np.ones(n), np.full(nb, -lp.INF)]),
        row_upper=np.concatenate([np.ones(n), problem.capacity.astype(float)]),
        time_limit=3600,
        options={"solver": "ipm", "run_crossover": "off"},
    )
    return Reference(
        optimum=solution.objective,
        lower_bound=float("nan"),
        seconds=time.perf_counter() - started,
        iterations=solution.iterations,
        method=f"one LP, {m} columns, {lp.solver_name()} IPM ({solution.status})",
    )


# --- the run -------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--payouts", type=int, default=100_000)
    p.add_argument("--banks", type=int, default=20)
    p.add_argument("--currencies", type=int, default=5, choices=range(2, 8))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3, help="timed planner runs")
    p.add_argument(
        "--skip-full-lp",
        action="store_true",
        help="skip handing the whole per-payout LP to HiGHS (minutes at 100,000 "
        "payouts); the decomposition still gives the same optimum",
    )
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    return p.parse_args(argv)


def repeat_command(args: argparse.Namespace) -> str:
    flags = [
        f"--payouts {args.payouts}",
        f"--banks {args.banks}",
        f"--currencies {args.currencies}",
        f"--seed {args.seed}",
        f"--repeat {args.repeat}",
        *(["--skip-full-lp"] if args.skip_full_lp else []),
    ]
    return f".venv/bin/python bench/planner.py {' '.join(flags)}"


def machine() -> str:
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()} | {platform.system()} {platform.release()} | "
        f"Python {platform.python_version()} | {lp.solver_name()} | load avg {load}"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    problem = make_problem(args.payouts, args.banks, args.currencies, args.seed)
    print(
        f"planner bench: {args.payouts} payouts, {args.banks} banks, "
        f"{args.currencies} currencies, seed {args.seed}; "
        f"{len(problem.pair_payout)} allowed (payout, bank) pairs",
        flush=True,
    )
    result, runs, traced_peak = run_planner(problem, args.repeat)
    times = runs[0]
    total = [r["aggregate"] + r["plan"] for r in runs]
    rss_after_plan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if result.status != "ok":
        print(f"planner: {result.status}: {result.reason}")
        return 1
    executed = execute(problem, result, args.seed)
    problems = check_feasible(problem, executed)
    plan_cost = float(result.estimated_cost_after)
    executed_cost = assignment_cost(problem, executed)
    before = assignment_cost(problem, problem.origin)
    t = time.perf_counter()
    greedy_bank = greedy(problem)
    greedy_seconds = time.perf_counter() - t
    problems += [f"greedy: {p}" for p in check_feasible(problem, greedy_bank)]
    greedy_cost = assignment_cost(problem, greedy_bank)
    ref = reference_lp(problem, greedy_bank)
    full = None if args.skip_full_lp else full_lp(problem)
    optimum = ref.optimum
    if full is not None:
        optimum = full.optimum
        if abs(full.optimum - ref.optimum) > 1e-6 * abs(full.optimum):
            problems.append(
                f"the two references disagree: {full.optimum} vs {ref.optimum}"
            )
    plan_seconds = total[0]  # the cold run: what an operator waits for

    print()
    print(f"repeat:  {repeat_command(args)}")
    print(f"machine: {machine()}")
    print()
    print(f"fees where the payouts wait now      {before:14.2f} USD")
    print(
        f"(p) planner: plan  {times['plan']:7.3f} s + aggregate "
        f"{times['aggregate']:.3f} s; {len(result.steps)} steps, "
        f"{result.payout_count} payouts moved"
    )
    print(
        f"    {len(runs)} runs, aggregate + plan: first {total[0]:.3f} s, "
        f"best {min(total):.3f} s, median {sorted(total)[len(total) // 2]:.3f} s"
    )
    print(f"    fee, as planned                  {plan_cost:14.2f} USD")
    print(f"    fee, steps executed on payouts   {executed_cost:14.2f} USD")
    print(
        f"    memory: tracemalloc peak {traced_peak / 2**20:.1f} MiB, "
        f"process max RSS {rss_after_plan / 1024:.1f} MiB (after the plan)"
    )
    print(
        f"    solver: {result.solver}; {result.details.get('groups')} groups, "
        f"{result.details.get('arcs')} arcs"
    )
    print(
        f"(r) reference: per-payout LP optimum  {ref.optimum:14.2f} USD "
        f"(lower bound {ref.lower_bound:.2f}; {ref.method}, "
        f"{ref.iterations} master solves, {ref.seconds:.2f} s)"
    )
    if full is not None:
        print(
            f"    the same, whole: {full.optimum:14.2f} USD in {full.seconds:.1f} s "
            f"({full.method}, {full.iterations} iterations)"
        )
    print(f"(g) greedy: {greedy_cost:14.2f} USD in {greedy_seconds:.2f} s")
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS at the end (references included): {rss_end / 1024:.1f} MiB")
    for p in problems:
        print(f"PROBLEM: {p}")
    ratios = {
        "plan fee / optimum": (plan_cost / optimum, TARGET_GAP, "<="),
        "executed fee / optimum": (executed_cost / optimum, TARGET_GAP, "<="),
        "plan time (first run) / 2 s": (plan_seconds / TARGET_SECONDS, 1.0, "<="),
        "greedy fee / optimum": (greedy_cost / optimum, None, ""),
        "plan time / decomposition time": (plan_seconds / ref.seconds, None, ""),
        **(
            {"plan time / whole-LP time": (plan_seconds / full.seconds, None, "")}
            if full is not None
            else {}
        ),
    }
    print()
    missed = False
    for name, (value, target, op) in ratios.items():
        if target is None:
            print(f"ratio {name} = {value:.4f}")
            continue
        ok = value <= target
        missed |= not ok
        verdict = "ok" if ok else "MISSED"
        print(f"ratio {name} = {value:.4f}  (target {op} {target})  {verdict}")
    if problems:
        return 1
    return 2 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
