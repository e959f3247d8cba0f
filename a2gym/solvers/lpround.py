"""A2-LPRound (formulation §11.7): filtered randomized rounding of LP(A2-UFL), then local search.

1. Solve LP(A2-UFL) (:func:`a2gym.solvers.bounds.ufl_lp`, HiGHS).
2. Filter: C*_r = Σ_i C_{r,i} x_{r,i}, N_r = {i : x_{r,i} > 0, C_{r,i} ≤ 2·C*_r}; ŷ_i = min(1, 2·y_i).
3. Round: T_R = ⌈ln(2|R|)⌉ rounds, each opening facility i independently with probability ŷ_i.
4. Retry step 3 while some class has no open facility in N_r (≤ 2 tries expected); after
   ``max_retries`` each uncovered class opens its cheapest facility of N_r (recorded in ``info``).
   Assign every class to its cheapest open facility.
5. Materialise and improve with the true-cost local search (as A2-Greedy).

E[A2-UFL cost] ≤ 4·T_R·F_LP + 2·C_LP ≤ 4⌈ln 2|R|⌉·LP(A2-UFL), hence O(log |R|)·OPT by Lemmas A/B.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from a2gym.costmodel import CostModel
from a2gym.errors import SolverError
from a2gym.plan import Plan
from a2gym.solvers.bounds import ufl_lp
from a2gym.solvers.improve import best_local_optimum, remaining, split_polish


def a2_lpround(cm: CostModel, work: CostModel, rng: np.random.Generator, options: dict[str, Any],
               deadline: float | None, info: dict[str, Any]) -> Plan:
    """The A2-LPRound plan of ``work`` (``cm``: the original instance): :func:`lp_round`, then the same
    local search and split polish as A2-Greedy (options ``max_retries``, ``local_search``, ``kicks``,
    ``split``); records the rounding's info and ``materialised_cost`` [$] in ``info``."""
    sigma, extra = lp_round(work, rng, remaining(deadline, 0.1), max_retries=int(options.get("max_retries", 50)))
    info.update(extra)
    data = work.dstar[np.arange(len(sigma)), sigma]
    info["materialised_cost"] = work.assignment_cost(sigma, data)
    if options.get("local_search", True):
        sigma, data = best_local_optimum(work, [("lpround", sigma)], int(options.get("kicks", 0)), deadline, info)
    plan = work.materialise(sigma, data)
    return split_polish(cm, work, plan, deadline, info) if options.get("split", True) else plan


def lp_round(cm: CostModel, rng: np.random.Generator, time_limit: float | None = None,
             max_retries: int = 50) -> tuple[np.ndarray, dict]:
    """Facility of each class after rounding (before local search), and info (LP value, retries)."""
    res = ufl_lp(cm, time_limit)
    if res is None:
        raise SolverError(f"lpround: LP(A2-UFL) not solved within {time_limit} s")
    lp, x, y = res
    R, nI = cm.C.shape
    C = np.where(np.isfinite(cm.C), cm.C, 0.0)
    cstar = (C * x).sum(axis=1)
    limit = 2 * cstar[:, None] + 1e-9 * np.maximum(1.0, cstar[:, None])
    N = (x > 1e-9) & np.isfinite(cm.C) & np.less_equal(cm.C, limit)
    yhat = np.minimum(1.0, 2 * y)
    rounds = max(1, math.ceil(math.log(2 * R)))
    retries, forced = 0, 0
    for retries in range(max_retries + 1):  # noqa: B007
        is_open = (rng.random((rounds, nI)) < yhat[None, :]).any(axis=0)
        covered = (N & is_open[None, :]).any(axis=1)
        if covered.all():
            break
    else:
        for r in np.flatnonzero(~covered):
            j = int(np.argmin(np.where(N[r], cm.C[r], np.inf)))
            is_open[j] = True
            forced += 1
    sigma = np.argmin(np.where(is_open[None, :], cm.C, np.inf), axis=1)
    return sigma, {"ufl_lp": lp.value, "rounds": rounds, "retries": retries, "forced_open": forced,
                   "opened": int(is_open.sum())}
