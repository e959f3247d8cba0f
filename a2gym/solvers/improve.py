"""The improvement steps shared by A2-Greedy and A2-LPRound (formulation §11.6 steps 4–5, §11.7 step 5).

1. :func:`best_local_optimum`: the true-cost local search (:mod:`a2gym.solvers.localsearch`) from each
   start; the cheapest local optimum is kept (the first start wins ties, so a single start returns its
   own local optimum and the result never costs more than any start).
2. :func:`split_polish`: the split polish (:mod:`a2gym.solvers.polish`), kept only if strictly cheaper
   and feasible on the original scenario.

Both write what they did into ``info`` (the ``Solution.info`` of :func:`a2gym.solvers.solve`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from a2gym.costmodel import CostModel
from a2gym.plan import Plan
from a2gym.solvers.localsearch import LocalSearch
from a2gym.solvers.polish import polish


def remaining(deadline: float | None, floor: float) -> float | None:
    """Seconds left until ``deadline`` (a ``time.perf_counter()`` value), at least ``floor``; None: no limit."""
    return None if deadline is None else max(floor, deadline - time.perf_counter())


def best_local_optimum(work: CostModel, starts: list[tuple[str, np.ndarray]], kicks: int,
                       deadline: float | None, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(facility, data version) of each class at the cheapest local optimum over ``starts``.

    ``starts`` are (name, facility of each class); each is searched from its d* data versions with
    ``kicks`` iterated-local-search kicks.  Records ``start_costs`` [$], ``best_start``, ``moves`` and
    ``stopped_early`` (the deadline cut the search) in ``info``.
    """
    best = None
    info["start_costs"] = {}
    for name, sig in starts:
        ls = LocalSearch(work, sig, work.dstar[np.arange(len(sig)), sig], deadline=deadline)
        ls.kick_search(max_kicks=kicks)
        info["start_costs"][name] = ls.total()
        if best is None or ls.total() < best.total() - 1e-9 * max(1.0, best.total()):
            best = ls
            info["best_start"] = name
    assert best is not None, "best_local_optimum needs at least one start"
    info["moves"] = dict(best.moves)
    info["stopped_early"] = best.stopped_early
    return best.fac.copy(), best.dat.copy()


def split_polish(cm: CostModel, work: CostModel, plan: Plan, deadline: float | None,
                 info: dict[str, Any]) -> Plan:
    """The split polish of ``plan`` on ``work`` if it is feasible on ``cm`` (the original scenario) and
    strictly cheaper, else ``plan``; records the replaced plan's cost as ``unsplit_cost`` [$]."""
    pol = polish(work, plan, time_limit=remaining(deadline, 0.05))
    if pol is not None and cm.evaluate(pol).feasible and \
            work.evaluate(pol, check=False).total < work.evaluate(plan, check=False).total - 1e-9:
        info["unsplit_cost"] = work.evaluate(plan, check=False).total
        return pol
    return plan
