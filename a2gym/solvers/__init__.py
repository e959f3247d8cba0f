"""Solvers of the A² problem: the reference A2-Greedy, A2-LPRound, the exact A2-MILP, lower bounds and
the paper's baselines (formulation §9, §11).

    sol = solve("scenario://paper-default-v0", "greedy")          # reference solver
    sol = solve(scn, "milp", time_limit=60)                        # exact (status optimal/feasible)
    sol = solve(scn, "greedy", restrict="no-adaptation")           # baseline on a restricted instance
    lb = lower_bound(scn)                                          # $ per epoch, ≤ OPT

Methods (``METHODS``): ``greedy``, ``lpround``, ``milp``, ``per-request-cheapest`` (alias ``prc``),
``random``.  Restrictions (``RESTRICTIONS``): ``no-adaptation``, ``model-only``, ``data-only``,
``local`` (:mod:`a2gym.solvers.restrict`).  Every returned plan is evaluated by
:meth:`CostModel.evaluate` on the original scenario and has no violations.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from a2gym.checks import is_int, is_real
from a2gym.costmodel import CostModel, load_scenario
from a2gym.errors import SolverError
from a2gym.plan import Plan
from a2gym.scenario import Scenario
from a2gym.solvers import bounds
from a2gym.solvers.baselines import per_request_cheapest, random_plan
from a2gym.solvers.greedy import LP_START_MAX, a2_greedy, extra_starts
from a2gym.solvers.improve import remaining
from a2gym.solvers.lpround import a2_lpround
from a2gym.solvers.milp import solve_milp
from a2gym.solvers.restrict import RESTRICTIONS, restricted_costmodel
from a2gym.solvers.solution import Solution

METHODS = ("greedy", "lpround", "milp", "per-request-cheapest", "random")
_ALIASES = {"prc": "per-request-cheapest", "a2-greedy": "greedy", "a2-lpround": "lpround", "a2-milp": "milp"}
_OPTIONS = {
    "greedy": {"local_search", "bound", "kicks", "split", "starts"},
    "lpround": {"local_search", "bound", "max_retries", "kicks", "split"},
    "milp": {"backend", "integral", "msg", "threads"},
    "per-request-cheapest": {"bound"},
    "random": {"bound"},
}


def _resolve_method(method: str) -> str:
    m = _ALIASES.get(method, method)
    if m not in METHODS:
        raise SolverError(f"unknown method {method!r}; valid: {', '.join(METHODS)} (alias prc)")
    return m


def solve(scenario: Scenario | str, method: str = "greedy", time_limit: float | None = None,
          seed: int | None = None, restrict: str | None = None, **options: Any) -> Solution:
    """Solve an A² instance and return a :class:`Solution` (costs in $ per epoch).

    Args:
        scenario: a :class:`Scenario` or a URI / path accepted by :func:`a2gym.load_scenario`.
        method: one of ``METHODS``.
        time_limit: seconds; the MILP stops there (status ``feasible``/``time_limit`` with an incumbent,
            else :class:`SolverError`); heuristics stop their local search there; LPs stop there.
        seed: seed of ``np.random.default_rng`` for ``lpround`` and ``random`` (default 0).
        restrict: None or one of ``RESTRICTIONS``: solve the restricted instance (baselines, §9).
        options: ``local_search`` (bool, greedy/lpround, default True), ``kicks`` (int, iterated local
            search kicks >= 0, default 0: on our test sets they never improved), ``starts`` (greedy: extra
            local-search starts, default ``("prc", "lp")``, see :func:`extra_starts`), ``split`` (bool,
            default True: finish with the split polish of :mod:`a2gym.solvers.polish`; False keeps every
            class unsplit), ``bound`` (bool: also compute
            :func:`lower_bound` of the solved instance), ``backend`` (``"highs"``/``"cbc"``),
            ``integral`` (bool, unsplittable classes), ``msg``, ``threads`` (milp), ``max_retries`` (lpround).
    """
    m = _resolve_method(method)
    _check_arguments(m, restrict, time_limit, seed, options)
    scn = load_scenario(scenario)
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + float(time_limit)
    cm = CostModel.of(scn)
    info: dict[str, Any] = {}
    work = cm
    if restrict is not None:
        work, info["restriction"] = restricted_costmodel(cm, restrict)
    lb = gap = None
    status = "heuristic"
    rng = np.random.default_rng(0 if seed is None else seed)
    if m == "milp":
        plan, status, lb, gap = _milp(work, time_limit, options, info)
    elif m == "greedy":
        plan = a2_greedy(cm, work, options, deadline, info)
    elif m == "lpround":
        plan = a2_lpround(cm, work, rng, options, deadline, info)
    else:
        sigma = per_request_cheapest(work) if m == "per-request-cheapest" else random_plan(work, rng)
        plan = work.materialise(sigma, work.dstar[np.arange(len(sigma)), sigma])
    wall = time.perf_counter() - t0
    ev = cm.evaluate(plan)
    if ev.violations:
        raise SolverError(f"{m}: internal error, plan violates {len(ev.violations)} constraint(s): {ev.violations[0]}")
    if m != "milp" and options.get("bound"):
        lb, info["bound_parts"] = bounds.lower_bound(work, remaining(deadline, 0.1))
    if lb is not None and gap is None:
        gap = max(0.0, (ev.total - lb) / ev.total) if ev.total > 0 else 0.0
    return Solution(plan=plan, cost=ev, method=m, restrict=restrict, status=status, wall_time=wall,
                    lower_bound=lb, gap=gap, scenario_sha256=scn.sha256, scenario_uri=scn.uri, info=info)


def _check_arguments(m: str, restrict: str | None, time_limit: Any, seed: Any, options: dict[str, Any]) -> None:
    if restrict is not None and restrict not in RESTRICTIONS:
        raise SolverError(f"unknown restrict {restrict!r}; valid: {', '.join(RESTRICTIONS)} (or None)")
    bad = set(options) - _OPTIONS[m]
    if bad:
        raise SolverError(f"method {m!r} does not take option(s) {', '.join(sorted(bad))}; "
                          f"valid: {', '.join(sorted(_OPTIONS[m])) or 'none'}")
    if time_limit is not None and not (is_real(time_limit) and time_limit >= 0):
        raise SolverError(f"time_limit = {time_limit!r} must be a number of seconds >= 0 (or None)")
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise SolverError(f"seed = {seed!r} must be a non-negative integer (or None)")
    kicks = options.get("kicks", 0)
    if not (is_int(kicks) and kicks >= 0):
        raise SolverError(f"kicks = {kicks!r} must be a non-negative integer (iterated local-search kicks)")


def _milp(work: CostModel, time_limit: float | None, options: dict[str, Any],
          info: dict[str, Any]) -> tuple[Plan, str, float | None, float | None]:
    """(plan, status, bound, gap) of the exact A2-MILP; records the solver's details in ``info``."""
    res = solve_milp(work, time_limit=time_limit, backend=options.get("backend"),
                     integral=bool(options.get("integral", False)), msg=bool(options.get("msg", False)),
                     threads=int(options.get("threads", 1)))
    info.update(backend=res.backend, objective=res.objective, n_vars=res.n_vars, n_rows=res.n_rows,
                repaired=res.repaired)
    return res.plan, res.status, res.bound, res.gap


def lower_bound(scenario: Scenario | str, time_limit: float | None = None) -> float:
    """max(LP relaxation of A2-MILP with linking cuts, ½·LP(A2-UFL)) [$ per epoch]; ≤ OPT (Lemma B).

    Raises :class:`SolverError` if neither LP is solved within ``time_limit`` seconds.
    """
    scn = load_scenario(scenario)
    return bounds.lower_bound(CostModel.of(scn), time_limit)[0]


__all__ = ["LP_START_MAX", "METHODS", "RESTRICTIONS", "Solution", "extra_starts", "lower_bound", "solve"]
