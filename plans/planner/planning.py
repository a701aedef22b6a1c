"""``plan()``: the local planner's entry point (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from plans.planner.float_rebalance import float_rebalance
from plans.planner.risk import risk_mitigation
from plans.planner.routing import routing_optimization
from plans.planner.safety import scoped
from plans.planner.types import (
    FLOAT_REBALANCE,
    PLAN_TYPES,
    RISK,
    ROUTING,
    ConstraintError,
    Constraints,
    PlanInputError,
    PlanResult,
    PlanStep,
    Snapshot,
)

PLANNER_VERSION = "local-1.0.0"

PLANNERS: dict[str, Callable[[Snapshot, Constraints], PlanResult]] = {
    ROUTING: routing_optimization,
    FLOAT_REBALANCE: float_rebalance,
    RISK: risk_mitigation,
}


def plan(
    plan_type: str,
    snapshot: Snapshot | Mapping[str, Any],
    constraints: Constraints | Mapping[str, Any] | None = None,
    *,
    override: Mapping[str, Any] | None = None,
    currencies: Sequence[str] | None = None,
    banks: Sequence[str] | None = None,
) -> PlanResult:
    """Plan ``plan_type`` on ``snapshot`` (a ``Snapshot`` or its ``as_dict()``).

    ``override`` (``{"allow_banks": [ids], "reason": "..."}``) lets the named
    banks receive despite the safety rule (``safety.py``); ``currencies`` and
    ``banks`` limit what the plan touches (``safety.scoped``). The answer's
    ``details`` always say ``constraints_used`` (each value, and whether it is
    a default) and ``unmet`` (what could not be done, and why), plus
    ``override`` and ``scope`` when given.

    Raises ``ValueError`` for an unknown type, ``ConstraintError`` (a
    ValueError with ``fields``) for bad constraints or a bad override and
    ``PlanInputError`` for a snapshot that cannot be planned on. Nothing to
    improve and infeasible constraints are answers (``PlanResult.status``),
    not errors.
    """
    planner = PLANNERS.get(plan_type)
    if planner is None:
        raise ValueError(
            f"unknown plan type {plan_type!r}; expected one of {', '.join(PLAN_TYPES)}"
        )
    if not isinstance(constraints, Constraints):
        constraints = Constraints.from_params(constraints)
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot.from_dict(snapshot)
    extra: dict[str, Any] = {}
    if override:
        allow, reason = _override(override)
        constraints = replace(constraints, allow_banks=frozenset(allow))
        extra["override"] = {"allow_banks": sorted(allow), "reason": reason}
    if currencies is not None or banks is not None:
        snapshot = scoped(snapshot, currencies, banks)
        extra["scope"] = {
            "currencies": None if currencies is None else sorted(currencies),
            "banks": None if banks is None else sorted(banks),
        }
    result = planner(snapshot, constraints)
    details = {
        **result.details,
        "constraints_used": constraints.used(),
        "unmet": list(result.details.get("unmet") or ()),
        **extra,
    }
    return replace(result, details=details)


def _override(override: Mapping[str, Any]) -> tuple[list[str], str]:
    allow: Any = override.get("allow_banks")
    reason: Any = override.get("reason")
    errors: dict[str, list[str]] = {}
    if not isinstance(allow, list | tuple) or not allow:
        errors["allow_banks"] = ["a non-empty list of bank ids"]
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = ["required"]
    if errors:
        raise ConstraintError({f"override.{k}": v for k, v in errors.items()})
    return [str(b) for b in allow], str(reason).strip()


__all__ = [
    "PLANNER_VERSION",
    "PLAN_TYPES",
    "ConstraintError",
    "Constraints",
    "PlanInputError",
    "PlanResult",
    "PlanStep",
    "Snapshot",
    "plan",
]
