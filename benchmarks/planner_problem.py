"""The planner benchmark's synthetic problem: banks, payouts, and the (payout,
bank) pairs the planner's rules allow; the cost of an assignment, its
feasibility, and the naive greedy (g). Seeded: every run sees the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np

from plans.planner.types import BankSnapshot

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


# ``--unsafe-banks``: banks the safety rule (plans/planner/safety.py) keeps
# from receiving, beyond the paused (5) and open-breaker (7) ones
UNSAFE_STATES: dict[int, dict[str, Any]] = {
    9: {"health": "red"},
    13: {"circuit_state": "half_open", "health": "yellow"},
    17: {"frozen": True},
}


def make_problem(
    n: int, n_banks: int, n_cur: int, seed: int, *, unsafe: bool = False
) -> Problem:
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
    # three banks fewer to receive need more room elsewhere, or even the naive
    # greedy (g) strands payouts
    room = 1.6 if unsafe else 1.3
    capacity = np.floor(weights / weights.sum() * n * room).astype(int)
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
        if unsafe and b in UNSAFE_STATES:
            banks[-1] = replace(banks[-1], **UNSAFE_STATES[b])
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
