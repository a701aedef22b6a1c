"""The planner benchmark's reference (r): the per-payout LP's optimum, by
Dantzig-Wolfe decomposition and, unless skipped, handed whole to HiGHS. It is
the LP optimum, so no integer plan can be cheaper: the floor of the fee.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks.planner_problem import Problem
from plans.planner import lp

SMOOTHING = 0.8  # Wentges: weight of the best duals so far when pricing


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
