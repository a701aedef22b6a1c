"""``routing_optimization``: pending payouts to the banks that charge least.

Minimise the total fee ``sum fee_percent * amount + fee_fixed * count`` (USD)
over every pending payout, subject to each bank's capacity, the currencies it
serves, ``min_success_rate`` (a bank below it keeps what it has but receives
nothing new; 0.90 when omitted) and the safety rule (``safety.py``: a paused,
frozen, red or half-open/open-breaker bank receives nothing; a paused, frozen
or open one keeps nothing either: what waits there moves if another bank can
take it). Payouts that nowhere safe can take are listed in ``details.unmet``.
``max_cost`` caps the cheapest total: above it the plan is infeasible, with
both figures in the reason.

It is a transportation LP over payout groups (``assignment.py``), solved by
HiGHS's simplex; its basic optimum is integral (total unimodularity, see
``assignment``), so the counts in the steps are exact integers, not rounded.
A move must save more than ``min_saving_per_payout`` (USD) per payout, so
ties never shuffle payouts around for nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict

from plans.planner import assignment, flows, lp
from plans.planner.safety import unmet
from plans.planner.types import (
    ROUTING,
    STATUS_NOTHING,
    STATUS_OK,
    Constraints,
    PlanResult,
    ResultBase,
    Snapshot,
    infeasible,
    money,
    unmet_reason,
)


def routing_optimization(snapshot: Snapshot, constraints: Constraints) -> PlanResult:
    started = time.perf_counter()
    model = assignment.build(
        snapshot,
        min_success_rate=constraints.min_success_rate,
        allow=constraints.allow_banks,
    )
    built = time.perf_counter()
    before = assignment.cost_before(model)
    penalty = float(constraints.min_saving_per_payout)
    answer = assignment.solve(model, move_cost=lambda _g: penalty)
    solved = time.perf_counter()
    timings = {"build_ms": _ms(started, built), "solve_ms": _ms(built, solved)}
    base: ResultBase = {
        "plan_type": ROUTING,
        "estimated_cost_before": before,
        "solver": f"{lp.solver_name()}, transportation LP (simplex)",
        "timings": timings,
    }
    if isinstance(answer, lp.Solution):
        reason = infeasibility_reason(model)
        return infeasible(
            reason,
            estimated_cost_after=before,
            **base,
        )
    moved = flows.moves(model, answer.flows)
    after = money(before - moved.savings_usd)
    timings["total_ms"] = _ms(started, time.perf_counter())
    details = details_of(model, moved, answer)
    if constraints.max_cost is not None and after > constraints.max_cost:
        reason = (
            f"the cheapest routing costs {after} USD in fees, above max_cost "
            f"{constraints.max_cost} USD"
        )
        return infeasible(
            reason,
            estimated_cost_after=after,
            details=details,
            **base,
        )
    missed = stranded_unmet(model)
    if not moved.steps and missed:
        return infeasible(
            unmet_reason(missed),
            estimated_cost_after=before,
            details=details,
            **base,
        )
    if not moved.steps:
        return PlanResult(
            status=STATUS_NOTHING,
            summary=f"Every pending payout already waits at its cheapest "
            f"allowed bank ({before} USD in fees).",
            estimated_cost_after=before,
            details=details,
            **base,
        )
    summary = (
        f"Reroute {moved.count} pending payouts ({moved.value_usd} USD) in "
        f"{len(moved.steps)} steps: fees {before} -> {after} USD "
        f"(saves {moved.savings_usd} USD)."
    )
    return PlanResult(
        status=STATUS_OK,
        summary=summary,
        steps=tuple(moved.steps),
        total_amount=moved.value_usd,
        payout_count=moved.count,
        estimated_cost_after=after,
        details=details,
        **base,
    )


def details_of(
    model: assignment.Model, moved: flows.Moves, answer: assignment.Assignment
) -> dict[str, object]:
    stranded = [model.snapshot.payout_classes[i] for i in model.stranded]
    return {
        "groups": len(model.groups),
        "arcs": len(model.arcs),
        "simplex_iterations": answer.solution.iterations,
        "savings_usd": str(moved.savings_usd),
        "moved_by_currency": moved.by_currency,
        "stranded_payouts": sum(c.count for c in stranded),
        "unmet": stranded_unmet(model),
    }


def stranded_unmet(model: assignment.Model) -> list[dict[str, str]]:
    """Payouts waiting at a bank that may not keep them (paused, frozen,
    breaker open), which no bank may safely take: one entry per currency."""
    banks = model.snapshot.banks
    count: dict[str, int] = defaultdict(int)
    where: dict[str, set[str]] = defaultdict(set)
    for i in model.stranded:
        cls = model.snapshot.payout_classes[i]
        count[cls.currency] += cls.count
        origin = model.bank_index.get(cls.bank_id)
        where[cls.currency].add(banks[origin].name if origin is not None else "?")
    return [
        unmet(
            "safety",
            "no_safe_bank",
            f"{count[c]} pending {c} payouts wait at {', '.join(sorted(where[c]))} "
            f"and no bank may safely take {c}",
            currency=c,
        )
        for c in sorted(count)
    ]


def infeasibility_reason(model: assignment.Model) -> str:
    """Name the currency whose payouts outnumber the capacity open to them."""
    banks = model.snapshot.banks
    need: dict[str, int] = defaultdict(int)
    room: dict[str, set[int]] = defaultdict(set)
    for g, group in enumerate(model.groups):
        need[group.currency] += group.count
        room[group.currency] |= {a.bank for a in model.arcs if a.group == g}
    for currency in sorted(need):
        capacity = sum(max(banks[b].capacity, 0) for b in room[currency])
        if need[currency] > capacity:
            return (
                f"{need[currency]} pending {currency} payouts exceed the capacity "
                f"of the banks allowed to take them ({capacity})"
            )
    total = sum(need.values())
    capacity = sum(max(banks[b].capacity, 0) for b in set().union(*room.values()))
    return (
        f"{total} pending payouts cannot fit the capacity of the banks allowed "
        f"to take them ({capacity}, shared between currencies)"
    )


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000, 2)


__all__ = ["routing_optimization"]
