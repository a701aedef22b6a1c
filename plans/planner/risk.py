"""``risk_mitigation``: pause failing banks, then spread the exposure.

1. Pause every bank whose failure rate exceeds ``failure_rate_threshold`` or
   whose circuit is open (and that is not paused already): ``pause_bank``
   steps, with the figures that justify each as ``evidence``.
2. With those banks paused, move pending payouts so that no bank holds more
   than ``max_bank_share`` of a currency's pending value, moving as little
   value as possible (then at the lowest fees): the transportation model of
   ``assignment.py`` plus one value cap per (currency, bank), solved as a MIP
   by HiGHS (the caps' amount coefficients end total unimodularity).

Payouts only move to banks the safety rule lets receive (``safety.py``). A
cap no assignment can meet (too few banks serve the currency, capacity is
short) does not sink the plan: the pauses and every other move stay, and
``details.unmet`` names the currency, the bank and the best share reachable.
Only a plan with no step at all and something unmet is infeasible. Payouts of
a paused bank that no other bank may take stay where they are (a pause makes
them wait), counted in ``details`` and listed in ``unmet``. A bank's
share may exceed the cap by less than one payout: payouts do not split.
The MIP stops at a 1 % gap or after ``TIME_LIMIT_SECONDS`` with the best
assignment found (100,000 payouts with a 15 % cap reach the limit; ``details``
says ``solver_status``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

from plans.planner import assignment, flows, lp
from plans.planner.routing import infeasibility_reason, stranded_unmet
from plans.planner.safety import unmet
from plans.planner.types import (
    RISK,
    STATUS_NOTHING,
    STATUS_OK,
    BankSnapshot,
    Constraints,
    PlanResult,
    PlanStep,
    ResultBase,
    Snapshot,
    infeasible,
    money,
    unmet_reason,
)

# per USD of value over a cap: far above what moving a dollar costs (about 1)
SLACK_COST = 1000.0
MIP_REL_GAP = 1e-2
TIME_LIMIT_SECONDS = 10.0  # then the best assignment found so far is used


def risk_mitigation(snapshot: Snapshot, constraints: Constraints) -> PlanResult:
    started = time.perf_counter()
    pauses = [
        _pause_step(bank, constraints)
        for bank in snapshot.banks
        if not bank.paused and _failing(bank, constraints)
    ]
    paused_ids = {str(p.fields["bank_profile_id"]) for p in pauses}
    after_pauses = replace(
        snapshot,
        banks=tuple(
            replace(b, paused=True) if b.id in paused_ids else b for b in snapshot.banks
        ),
    )
    model = assignment.build(
        after_pauses,
        min_success_rate=constraints.min_success_rate,
        allow=constraints.allow_banks - paused_ids,
    )
    before = assignment.cost_before(assignment.build(snapshot, min_success_rate=None))
    share = float(constraints.max_bank_share)
    answer = assignment.solve(
        model,
        # moving a payout costs its value in USD (then the fee decides)
        move_cost=lambda g: g.avg * g.rate,
        caps=assignment.ValueCaps(share=share, slack_cost=SLACK_COST),
        # within 1 % of the least value moved is as good for an operator,
        # and it is what keeps a tight cap over thousands of classes in seconds
        mip_rel_gap=MIP_REL_GAP,
        time_limit=TIME_LIMIT_SECONDS,
    )
    timings = {"total_ms": round((time.perf_counter() - started) * 1000, 2)}
    base: ResultBase = {
        "plan_type": RISK,
        "estimated_cost_before": before,
        "solver": f"{lp.solver_name()}, transportation MIP with value caps",
        "timings": timings,
    }
    if isinstance(answer, lp.Solution):
        reason = infeasibility_reason(model)
        return infeasible(
            reason,
            estimated_cost_after=before,
            **base,
        )
    missed = [*_over_cap(model, answer, share), *stranded_unmet(model)]
    moved = flows.moves(model, answer.flows)
    details = {
        "paused_bank_ids": sorted(paused_ids),
        "max_bank_share": str(constraints.max_bank_share),
        "moved_by_currency": moved.by_currency,
        "stranded_payouts": sum(
            model.snapshot.payout_classes[i].count for i in model.stranded
        ),
        "solver_status": answer.solution.status,
        "unmet": missed,
    }
    steps = [*pauses, *moved.steps]
    if not steps and missed:
        return infeasible(
            unmet_reason(missed),
            estimated_cost_after=before,
            details=details,
            **base,
        )
    if not steps:
        return PlanResult(
            status=STATUS_NOTHING,
            summary="No bank crosses the failure threshold and no bank holds "
            f"more than {constraints.max_bank_share} of a currency's pending value.",
            estimated_cost_after=before,
            details=details,
            **base,
        )
    summary = (
        f"Pause {len(pauses)} bank(s); reroute {moved.count} pending payouts "
        f"({moved.value_usd} USD) so no bank holds more than "
        f"{constraints.max_bank_share} of a currency's pending value"
        + (f" ({len(missed)} limit(s) not met, see unmet)." if missed else ".")
    )
    return PlanResult(
        status=STATUS_OK,
        summary=summary,
        steps=tuple(steps),
        total_amount=moved.value_usd,
        payout_count=moved.count,
        estimated_cost_after=money(before - moved.savings_usd),
        details=details,
        **base,
    )


def _failing(bank: BankSnapshot, constraints: Constraints) -> bool:
    return (
        bank.circuit_state == "open"
        or bank.failure_rate > constraints.failure_rate_threshold
    )


def _pause_step(bank: BankSnapshot, constraints: Constraints) -> PlanStep:
    if bank.circuit_state == "open":
        reason = f"risk plan: circuit open at {bank.name}"
    else:
        reason = (
            f"risk plan: failure rate {bank.failure_rate} at {bank.name} above "
            f"{constraints.failure_rate_threshold}"
        )
    return PlanStep(
        "pause_bank",
        {
            "bank_profile_id": bank.id,
            "reason": reason,
            "evidence": {
                "failure_rate": str(bank.failure_rate),
                "failure_rate_threshold": str(constraints.failure_rate_threshold),
                "circuit_state": bank.circuit_state,
                "success_rate": str(bank.success_rate),
            },
        },
    )


def _over_cap(
    model: assignment.Model, answer: assignment.Assignment, share: float
) -> list[dict[str, str]]:
    """Caps missed by more than one payout of the currency's largest group."""
    largest: dict[str, float] = {}
    total: dict[str, float] = {}
    for g in model.groups:
        largest[g.currency] = max(largest.get(g.currency, 0.0), g.avg)
        total[g.currency] = total.get(g.currency, 0.0) + g.amount
    out = []
    for (currency, bank), excess in sorted(answer.excess.items()):
        if excess <= largest[currency] + 0.005:
            continue
        reached = Decimal(str(share + excess / total[currency])).quantize(
            Decimal("0.001")
        )
        holder = model.snapshot.banks[bank]
        out.append(
            unmet(
                "max_bank_share",
                "max_bank_share_unreachable",
                f"{currency}: {holder.name} would still hold {reached} of the "
                f"pending value (max_bank_share {share}); no other allowed bank "
                "can take more",
                bank_id=holder.id,
                currency=currency,
            )
        )
    return out
