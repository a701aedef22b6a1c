"""Pending payouts to banks: the transportation model that routing and risk share.

Payout classes (bank, currency, amount bucket) are merged across banks into
*groups* (currency, bucket): a payout's fee at a bank depends on its amount
and currency, not on where it waits, so the model has one row per group (a
few hundred) instead of one per class (thousands) or per payout (100,000).

Each group ``g`` has arcs to banks, ``x[arc]`` payouts each:

* a *stay* arc to every operable bank already holding members of ``g``,
  bounded by what that bank holds;
* a *move* arc to every bank that may receive ``g``'s currency
  (``BankSnapshot.can_receive``), costing ``move_cost`` more per payout.

Rows: ``sum x[g, *] = count(g)`` per group, ``sum x[*, b] <= capacity(b)``
per bank, and (risk only) a value cap per (currency, bank) with a priced slack.

**Integrality.** Without the value caps every column has exactly two 1s, one
in a group row and one in a bank row: the incidence matrix of a bipartite
graph, which is totally unimodular. With integral counts, capacities and arc
bounds every basic solution is integral, and HiGHS's simplex returns a basic
optimum, so the LP *is* the integer program; we still check (``_integral``)
and fall back to HiGHS's MIP if a non-basic answer ever slipped through. The
value caps (coefficients = amounts) break that structure, so risk solves a MIP.

``plans.planner.flows`` turns a solution into plan steps.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from plans.planner import lp
from plans.planner.types import CENT, Snapshot, money

BUCKETS_PER_OCTAVE = 4


def bucket_of(amount: float) -> int:
    """The amount bucket: quarter octaves, ``floor(4 * log2(amount))``."""
    return math.floor(BUCKETS_PER_OCTAVE * math.log2(max(amount, 0.01)))


@dataclass
class Group:
    currency: str
    rate: float  # USD per unit
    members: list[int] = field(default_factory=list)  # payout_classes indices
    count: int = 0
    amount: float = 0.0

    @property
    def avg(self) -> float:
        return self.amount / self.count


@dataclass(frozen=True)
class Arc:
    group: int
    bank: int
    stay: bool
    upper: float


@dataclass
class Model:
    """The groups and arcs of one snapshot, ready to hand to HiGHS."""

    snapshot: Snapshot
    groups: list[Group]
    arcs: list[Arc]
    held: dict[tuple[int, int], int]  # (group, bank) -> payouts there now
    stranded: list[int]  # classes with nowhere to be: they stay put
    bank_index: dict[str, int]

    def fee(self, bank: int, avg: float, rate: float) -> float:
        """USD fee of one payout of ``avg`` (in a currency at ``rate``)."""
        b = self.snapshot.banks[bank]
        return float(b.fee_percent) * avg * rate + float(b.fee_fixed)


def build(
    snapshot: Snapshot,
    *,
    min_success_rate: Decimal | None,
    allow: Collection[str] = (),
) -> Model:
    """``allow``: bank ids an operator's override lets receive (``safety``)."""
    banks = snapshot.banks
    bank_index = {b.id: i for i, b in enumerate(banks)}
    receivers: dict[str, list[int]] = {
        currency: [
            i
            for i, b in enumerate(banks)
            if b.can_receive(currency, min_success_rate, allowed=b.id in allow)
        ]
        for currency in {c.currency for c in snapshot.payout_classes}
    }
    keyed: dict[tuple[str, int], Group] = {}
    stranded: list[int] = []
    for i, cls in enumerate(snapshot.payout_classes):
        if cls.count <= 0:
            continue
        origin = bank_index.get(cls.bank_id)
        # nowhere to be: its bank is unknown or blocked and no bank may take it
        if origin is None or not (receivers[cls.currency] or banks[origin].operable):
            stranded.append(i)
            continue
        avg = float(cls.amount) / cls.count
        key = (cls.currency, bucket_of(avg))
        if key not in keyed:
            keyed[key] = Group(cls.currency, float(snapshot.usd_rate(cls.currency)))
        group = keyed[key]
        group.members.append(i)
        group.count += cls.count
        group.amount += float(cls.amount)
    groups = [keyed[k] for k in sorted(keyed)]
    arcs: list[Arc] = []
    held: dict[tuple[int, int], int] = defaultdict(int)
    for g, group in enumerate(groups):
        origins: dict[int, int] = defaultdict(int)
        for i in group.members:
            origins[bank_index[snapshot.payout_classes[i].bank_id]] += (
                snapshot.payout_classes[i].count
            )
        for origin, count in sorted(origins.items()):
            held[(g, origin)] = count
            if banks[origin].operable:
                arcs.append(Arc(g, origin, True, float(count)))
        arcs += [Arc(g, b, False, lp.INF) for b in receivers[group.currency]]
    return Model(snapshot, groups, arcs, dict(held), stranded, bank_index)


@dataclass(frozen=True)
class ValueCaps:
    """Risk: per (currency, bank), value held <= share * currency total."""

    share: float
    slack_cost: float  # USD per USD of excess


@dataclass
class Assignment:
    flows: np.ndarray  # payouts per arc
    solution: lp.Solution
    excess: dict[tuple[str, int], float]  # (currency, bank) -> value over cap


def solve(
    model: Model,
    *,
    move_cost: Callable[[Group], float],
    caps: ValueCaps | None = None,
    time_limit: float = 30.0,
    mip_rel_gap: float = 1e-6,
) -> Assignment | lp.Solution:
    """The cheapest assignment, or HiGHS's failed Solution (infeasible, ...)."""
    groups, arcs, banks = model.groups, model.arcs, model.snapshot.banks
    if not arcs:  # nothing to place: the empty assignment, no solver needed
        empty = lp.Solution("optimal", np.zeros(0), 0.0, 0.0, 0)
        return Assignment(np.zeros(0, dtype=np.int64), empty, {})
    n_arc, n_group, n_bank = len(arcs), len(groups), len(banks)
    a_group = np.fromiter((a.group for a in arcs), np.int64, n_arc)
    a_bank = np.fromiter((a.bank for a in arcs), np.int64, n_arc)
    cost = np.array(
        [
            model.fee(a.bank, groups[a.group].avg, groups[a.group].rate)
            + (0.0 if a.stay else move_cost(groups[a.group]))
            for a in arcs
        ]
    )
    rows = [a_group, n_group + a_bank]
    cols = [np.arange(n_arc), np.arange(n_arc)]
    values = [np.ones(n_arc), np.ones(n_arc)]
    counts = np.array([g.count for g in groups], dtype=np.float64)
    row_lower = [counts, np.full(n_bank, -lp.INF)]
    row_upper = [counts, np.array([max(b.capacity, 0) for b in banks], np.float64)]
    col_upper = [np.array([a.upper for a in arcs])]
    cap_keys: list[tuple[str, int]] = []
    if caps is not None:
        cap_keys = _add_value_caps(
            model, caps, rows, cols, values, row_lower, row_upper
        )
    n_slack = len(cap_keys)
    full_cost = np.concatenate([cost, np.full(n_slack, caps.slack_cost if caps else 0)])
    if caps is not None:
        # the slack is in currency units; price it in USD
        rates = np.array([_rate(model, c) for c, _b in cap_keys])
        full_cost[n_arc:] *= rates
    matrix = lp.Matrix.from_triplets(
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(values),
        num_row=n_group + n_bank + n_slack,
        num_col=n_arc + n_slack,
    )
    integral = np.zeros(n_arc + n_slack, dtype=bool)
    if caps is not None:
        integral[:n_arc] = True
    solve = functools.partial(
        lp.solve,
        cost=full_cost,
        matrix=matrix,
        col_lower=np.zeros(n_arc + n_slack),
        col_upper=np.concatenate([*col_upper, np.full(n_slack, lp.INF)]),
        row_lower=np.concatenate(row_lower),
        row_upper=np.concatenate(row_upper),
        time_limit=time_limit,
        mip_rel_gap=mip_rel_gap,
    )
    solution = solve(integrality=integral)
    x = solution.x
    if solution.ok and x is not None and caps is None and not _integral(x[:n_arc]):
        integral[:n_arc] = True  # never seen: a non-basic optimum
        solution = solve(integrality=integral)
    if solution.x is None or solution.status not in ("optimal", "time_limit"):
        return solution
    flows = np.round(solution.x[:n_arc]).astype(np.int64)
    excess = {
        key: float(solution.x[n_arc + i])
        for i, key in enumerate(cap_keys)
        if solution.x[n_arc + i] > 1e-6
    }
    return Assignment(flows, solution, excess)


def _rate(model: Model, currency: str) -> float:
    return float(model.snapshot.usd_rate(currency))


def _add_value_caps(
    model: Model,
    caps: ValueCaps,
    rows: list[np.ndarray],
    cols: list[np.ndarray],
    values: list[np.ndarray],
    row_lower: list[np.ndarray],
    row_upper: list[np.ndarray],
) -> list[tuple[str, int]]:
    """One row per (currency, bank with an arc): value - slack <= cap."""
    groups, arcs = model.groups, model.arcs
    first_row = len(groups) + len(model.snapshot.banks)
    total: dict[str, float] = defaultdict(float)
    fixed: dict[tuple[str, int], float] = defaultdict(float)
    for g in groups:
        total[g.currency] += g.amount
    for i in model.stranded:  # stranded payouts keep weighing on their bank
        cls = model.snapshot.payout_classes[i]
        bank = model.bank_index.get(cls.bank_id)
        if bank is not None:
            total[cls.currency] += float(cls.amount)
            fixed[(cls.currency, bank)] += float(cls.amount)
    keys = sorted({(groups[a.group].currency, a.bank) for a in arcs})
    key_row = {key: first_row + i for i, key in enumerate(keys)}
    n_arc = len(arcs)
    rows.append(np.array([key_row[(groups[a.group].currency, a.bank)] for a in arcs]))
    cols.append(np.arange(n_arc))
    values.append(np.array([groups[a.group].avg for a in arcs]))
    rows.append(np.array([key_row[k] for k in keys]))
    cols.append(n_arc + np.arange(len(keys)))
    values.append(-np.ones(len(keys)))
    row_lower.append(np.full(len(keys), -lp.INF))
    row_upper.append(np.array([caps.share * total[c] - fixed[(c, b)] for c, b in keys]))
    return keys


def _integral(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) < 1e-6))


def cost_before(model: Model) -> Decimal:
    """USD fees of every pending payout where it waits now."""
    total = 0.0
    for cls in model.snapshot.payout_classes:
        bank = model.bank_index.get(cls.bank_id)
        if bank is None or cls.count <= 0:
            continue
        rate = float(model.snapshot.usd_rate(cls.currency))
        total += model.fee(bank, float(cls.amount) / cls.count, rate) * cls.count
    return money(total)


__all__ = ["CENT", "Model", "ValueCaps", "build", "cost_before", "solve"]
