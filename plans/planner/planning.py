"""``plan()``: the local planner's entry point (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plans.planner.float_rebalance import float_rebalance
from plans.planner.risk import risk_mitigation
from plans.planner.routing import routing_optimization
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
) -> PlanResult:
    """Plan ``plan_type`` on ``snapshot`` (a ``Snapshot`` or its ``as_dict()``).

    Raises ``ValueError`` for an unknown type, ``ConstraintError`` (a
    ValueError with ``fields``) for bad constraints and ``PlanInputError`` for
    a snapshot that cannot be planned on. Nothing to improve and infeasible
    constraints are answers (``PlanResult.status``), not errors.
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
    return planner(snapshot, constraints)


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
