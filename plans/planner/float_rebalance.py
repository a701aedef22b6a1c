"""``float_rebalance``: top up float accounts from those with money to spare.

Each account must hold ``need = min_float + forecast_outflow * (1 +
buffer_percent)``. Accounts above their need may send the difference (their
*surplus*); accounts below must receive theirs (their *shortfall*). Money moves
only within a currency. The cheapest set of transfers is a min-cost flow,
surplus -> shortfall, with a fixed charge per transfer used; HiGHS solves it
as a small MIP per currency:

    min  sum fee_pct[i,j] * f[i,j] + fee_fixed[i,j] * y[i,j]
    s.t. sum_j f[i,j] * (1 + fee_pct[i,j]) + fee_fixed[i,j] * y[i,j] <= surplus[i]
         sum_i f[i,j] >= shortfall[j]
         f[i,j] <= shortfall[j] * y[i,j],  y binary,  f >= 0

(the sender pays the fee, so it comes out of its surplus). A currency whose
shortfalls exceed its surpluses, or whose surpluses cannot also pay the fees,
is listed in ``details.unmet``, naming the currency and the amount missing;
the other currencies' transfers stay. Funds only go to accounts whose bank the
safety rule lets receive (``safety.py``); an account short at a bank that may
not receive is listed in ``unmet`` with the reason. Only a plan with no
transfer at all and something unmet is infeasible.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import ROUND_CEILING, Decimal

import numpy as np

from plans.planner import lp
from plans.planner.safety import refusal, unmet
from plans.planner.types import (
    CENT,
    FLOAT_REBALANCE,
    STATUS_NOTHING,
    STATUS_OK,
    AccountSnapshot,
    Constraints,
    PlanResult,
    PlanStep,
    ResultBase,
    Snapshot,
    infeasible,
    money,
    unmet_reason,
)


def need_of(account: AccountSnapshot, constraints: Constraints) -> Decimal:
    need = account.min_float + account.forecast_outflow * (
        1 + constraints.buffer_percent
    )
    return need.quantize(CENT, rounding=ROUND_CEILING)


def transfer_price(
    snapshot: Snapshot, source: AccountSnapshot, target: AccountSnapshot
) -> tuple[float, float]:
    """(fee fraction, fixed fee in the currency) of one transfer."""
    for cost in snapshot.transfer_costs:
        if cost.from_account == source.id and cost.to_account == target.id:
            return float(cost.fee_percent), float(cost.fee_fixed)
    if source.bank_id == target.bank_id:
        return 0.0, 0.0
    bank = snapshot.bank(source.bank_id)
    if bank is None:
        return 0.0, 0.0
    rate = float(snapshot.usd_rate(source.currency))
    return float(bank.fee_percent), float(bank.fee_fixed) / rate


def float_rebalance(snapshot: Snapshot, constraints: Constraints) -> PlanResult:
    started = time.perf_counter()
    by_currency: dict[str, list[AccountSnapshot]] = defaultdict(list)
    for account in snapshot.accounts:
        by_currency[account.currency].append(account)
    steps: list[PlanStep] = []
    problems: list[dict[str, str]] = []
    fees_usd = Decimal(0)
    moved_usd = Decimal(0)
    for currency in sorted(by_currency):
        accounts, refused = _receivable(snapshot, by_currency[currency], constraints)
        problems += refused
        if not accounts:
            continue
        outcome = _rebalance(snapshot, accounts, constraints)
        if isinstance(outcome, str):
            problems.append(unmet("float", "float_short", outcome, currency=currency))
            continue
        rate = snapshot.usd_rate(currency)
        for step in outcome:
            steps.append(step)
            fees_usd += Decimal(step.fields["estimated_fee"]) * rate
            moved_usd += Decimal(step.fields["amount"]) * rate
    base: ResultBase = {
        "plan_type": FLOAT_REBALANCE,
        "estimated_cost_before": Decimal("0.00"),
        "solver": f"{lp.solver_name()}, fixed-charge min-cost flow (MIP)",
        "timings": {"total_ms": round((time.perf_counter() - started) * 1000, 2)},
    }
    details = {"accounts": len(snapshot.accounts), "unmet": problems}
    if problems and not steps:
        return infeasible(
            unmet_reason(problems),
            details=details,
            **base,
        )
    if not steps:
        return PlanResult(
            status=STATUS_NOTHING,
            summary="Every float account already covers its forecast outflow "
            "and buffer.",
            details=details,
            **base,
        )
    return PlanResult(
        status=STATUS_OK,
        summary=(
            f"{len(steps)} transfer(s) worth {money(moved_usd)} USD cover "
            + (
                "the float accounts that can receive"
                if problems
                else "every float account"
            )
            + f": forecast outflow plus {constraints.buffer_percent * 100:.0f}% "
            f"buffer, for {money(fees_usd)} USD in fees"
            + (f" ({len(problems)} not covered, see unmet)." if problems else ".")
        ),
        steps=tuple(steps),
        total_amount=money(moved_usd),
        estimated_cost_after=money(fees_usd),
        details=details,
        **base,
    )


def _receivable(
    snapshot: Snapshot, accounts: list[AccountSnapshot], constraints: Constraints
) -> tuple[list[AccountSnapshot], list[dict[str, str]]]:
    """The accounts of one currency that may take part, and why the others
    short of their need may not: an account whose bank the safety rule stops
    from receiving may still send its surplus, never receive."""
    kept: list[AccountSnapshot] = []
    refused: list[dict[str, str]] = []
    for account in accounts:
        why = refusal(
            snapshot, account.bank_id, account.currency, allow=constraints.allow_banks
        )
        if why is None or account.balance >= need_of(account, constraints):
            kept.append(account)
            continue
        bank = snapshot.bank(account.bank_id)
        short = need_of(account, constraints) - account.balance
        refused.append(
            unmet(
                "safety",
                why,
                f"{account.currency}: the account at "
                f"{bank.name if bank else account.bank_id} is short "
                f"{money(short)} {account.currency} but its bank may not "
                f"receive ({why})",
                bank_id=account.bank_id,
                currency=account.currency,
            )
        )
    return kept, refused


def _rebalance(
    snapshot: Snapshot, accounts: list[AccountSnapshot], constraints: Constraints
) -> list[PlanStep] | str:
    """The transfers for one currency, or why there are none that work."""
    currency = accounts[0].currency
    gaps = [(a, a.balance - need_of(a, constraints)) for a in accounts]
    senders = [(a, gap) for a, gap in gaps if gap > 0]
    takers = [(a, -gap) for a, gap in gaps if gap < 0]
    if not takers:
        return []
    short = sum((s for _a, s in takers), Decimal(0))
    spare = sum((s for _a, s in senders), Decimal(0))
    if short > spare:
        return (
            f"{currency}: float accounts are short {money(short)} {currency} "
            f"and only {money(spare)} {currency} can be spared "
            f"(missing {money(short - spare)} {currency})"
        )
    pairs = [(i, j) for i in range(len(senders)) for j in range(len(takers))]
    prices = [transfer_price(snapshot, senders[i][0], takers[j][0]) for i, j in pairs]
    n = len(pairs)
    # columns: f (amounts) then y (used); rows: senders, takers, links
    rows, cols, vals = [], [], []
    for k, ((i, j), (pct, fixed)) in enumerate(zip(pairs, prices, strict=True)):
        rows += [i, len(senders) + j, len(senders) + len(takers) + k]
        cols += [k, k, k]
        vals += [1 + pct, 1.0, 1.0]
        rows += [i, len(senders) + len(takers) + k]
        cols += [n + k, n + k]
        vals += [fixed, -float(takers[j][1])]
    n_rows = len(senders) + len(takers) + n
    matrix = lp.Matrix.from_triplets(
        np.array(rows), np.array(cols), np.array(vals), num_row=n_rows, num_col=2 * n
    )
    row_lower = np.concatenate(
        [
            np.full(len(senders), -lp.INF),
            np.array([float(s) for _a, s in takers]),
            np.full(n, -lp.INF),
        ]
    )
    row_upper = np.concatenate(
        [
            np.array([float(s) for _a, s in senders]),
            np.full(len(takers), lp.INF),
            np.zeros(n),
        ]
    )
    spare_of = {senders[i][0].id: senders[i][1] for i in range(len(senders))}
    # Amounts are rounded up to cents, which can push a sender a cent past its
    # surplus; then solve again keeping two cents per transfer in reserve.
    for margin in (0.0, 0.02 * len(takers)):
        upper = row_upper.copy()
        upper[: len(senders)] -= margin
        solution = lp.solve(
            cost=np.array([p for p, _f in prices] + [f for _p, f in prices]),
            matrix=matrix,
            col_lower=np.zeros(2 * n),
            col_upper=np.concatenate([np.full(n, lp.INF), np.ones(n)]),
            row_lower=row_lower,
            row_upper=upper,
            integrality=np.array([False] * n + [True] * n),
        )
        if not solution.ok or solution.x is None:
            break
        steps = _steps(solution.x, pairs, prices, senders, takers, currency)
        sent: dict[str, Decimal] = defaultdict(Decimal)
        for step in steps:
            f = step.fields
            sent[f["from_account_id"]] += f["amount"] + f["estimated_fee"]
        if all(total <= spare_of[sender] for sender, total in sent.items()):
            return steps
    return (
        f"{currency}: the {money(spare)} {currency} that can be spared does "
        f"not cover the {money(short)} {currency} shortfall plus transfer fees"
    )


def _steps(
    x: np.ndarray,
    pairs: list[tuple[int, int]],
    prices: list[tuple[float, float]],
    senders: list[tuple[AccountSnapshot, Decimal]],
    takers: list[tuple[AccountSnapshot, Decimal]],
    currency: str,
) -> list[PlanStep]:
    steps = []
    for k, (i, j) in enumerate(pairs):
        amount = Decimal(str(round(float(x[k]), 6))).quantize(
            CENT, rounding=ROUND_CEILING
        )
        if amount <= Decimal("0.005"):
            continue
        pct, fixed = prices[k]
        steps.append(
            PlanStep(
                "transfer_funds",
                {
                    "from_account_id": senders[i][0].id,
                    "to_account_id": takers[j][0].id,
                    "currency": currency,
                    "amount": amount,
                    "estimated_fee": money(float(amount) * pct + fixed),
                },
            )
        )
    return steps
