"""Split polish: re-optimise a plan exactly on its own open facilities, allowing split classes.

Given the facilities S a heuristic opened, solve A2-MILP restricted to options on S (y_i may still drop
to 0; n_i integer; z fractional) with the HiGHS MILP bundled in SciPy, warm-free but deterministic
(one thread, a node limit rather than a wall-clock limit unless ``time_limit`` is given).  The input
plan is feasible for this restricted model, so the result is never worse; splitting a class across
facilities lets it fill the spare ρ·n capacity that integer instance counts leave, which an
unsplittable plan cannot.  This is the classic restrict-and-solve matheuristic; it keeps A2-Greedy's
guarantee because it only ever lowers the true cost.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from a2gym.costmodel import CostModel
from a2gym.plan import Plan
from a2gym.solvers.bounds import milp_matrices
from a2gym.solvers.milp import extract_plan, quiet_c_stdout


def polish(cm: CostModel, plan: Plan, time_limit: float | None = None, node_limit: int = 2000,
           max_options: int = 60_000) -> Plan | None:
    """A plan at most as costly as ``plan`` using only its open facilities, or None if not solved."""
    S = np.zeros(cm.n_facilities, dtype=bool)
    S[plan.open_facilities] = True
    mm = milp_matrices(cm, facilities=S)
    if len(mm.opts) > max_options:
        return None
    opts = {"disp": False, "node_limit": node_limit, "presolve": True}
    if time_limit is not None:
        opts["time_limit"] = float(max(0.05, time_limit))
    A = sp.vstack([mm.A_ub, mm.A_eq]).tocsr()
    lo = np.concatenate([np.full(mm.A_ub.shape[0], -np.inf), np.ones(mm.A_eq.shape[0])])
    hi = np.concatenate([np.zeros(mm.A_ub.shape[0]), np.ones(mm.A_eq.shape[0])])
    with quiet_c_stdout():  # HiGHS may print debug lines to fd 1 despite disp=False
        res = scipy.optimize.milp(mm.c, constraints=scipy.optimize.LinearConstraint(A, lo, hi),
                                  integrality=mm.integrality, bounds=scipy.optimize.Bounds(mm.lb, mm.ub),
                                  options=opts)
    if res.x is None:
        return None
    z, n, _ = mm.split(res.x)
    out, _ = extract_plan(cm, mm.opts, z, n)
    return out
