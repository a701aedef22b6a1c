"""HiGHS through ``highspy``: the one solver every planner module calls.

Chosen over ``scipy.optimize.linprog(method="highs")``: the same solver in a
newer release (HiGHS 1.15 here, 1.12 inside scipy 1.17), without scipy's
35 MB, and with the whole API (options such as ``threads`` or
``run_crossover``, bases, time limits) where ``linprog`` exposes a subset. On
the planner's models (a few thousand columns) either answers in milliseconds;
what costs time is building the model in Python, not HiGHS.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import highspy
import numpy as np

INF = highspy.kHighsInf


@cache
def solver_name() -> str:
    h = highspy.Highs()
    return f"HiGHS {h.version()} (highspy)"


@dataclass(frozen=True)
class Matrix:
    """A sparse matrix, column-wise, as HiGHS takes it."""

    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    num_row: int
    num_col: int

    @classmethod
    def from_triplets(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        *,
        num_row: int,
        num_col: int,
    ) -> Matrix:
        order = np.lexsort((rows, cols))
        cols = np.asarray(cols, dtype=np.int64)[order]
        start = np.searchsorted(cols, np.arange(num_col + 1)).astype(np.int32)
        return cls(
            start=start,
            index=np.asarray(rows, dtype=np.int32)[order],
            value=np.asarray(values, dtype=np.float64)[order],
            num_row=num_row,
            num_col=num_col,
        )


@dataclass(frozen=True)
class Solution:
    status: str  # optimal | infeasible | time_limit | <HiGHS model status>
    x: np.ndarray | None
    objective: float
    seconds: float
    iterations: int

    @property
    def ok(self) -> bool:
        return self.status == "optimal" and self.x is not None


def solve(
    *,
    cost: np.ndarray,
    matrix: Matrix,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    integrality: np.ndarray | None = None,
    time_limit: float = 30.0,
    mip_rel_gap: float = 1e-6,
    basis: highspy.HighsBasis | None = None,
    options: Mapping[str, bool | int | float | str] | None = None,
) -> Solution:
    """Minimise ``cost @ x`` subject to the row and column bounds."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_ = matrix.num_col
    lp.num_row_ = matrix.num_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.start
    lp.a_matrix_.index_ = matrix.index
    lp.a_matrix_.value_ = matrix.value
    if integrality is not None and np.any(integrality):
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integrality
        ]
    h.passModel(lp)
    if basis is not None:
        h.setBasis(basis)
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    model_status = h.getModelStatus()
    info = h.getInfo()
    iterations = int(info.simplex_iteration_count) + int(info.ipm_iteration_count)
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.array(h.getSolution().col_value) if has_solution else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = "infeasible"
    elif model_status == highspy.HighsModelStatus.kTimeLimit:
        status = "time_limit"
    else:
        status = h.modelStatusToString(model_status)
    objective = float(info.objective_function_value) if x is not None else float("nan")
    return Solution(status, x, objective, seconds, iterations)
