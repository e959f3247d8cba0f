"""GeoServe-v1's hindsight reference: the best fleet plan for a realised day, knowing all its demand.

A time-expanded MILP over the day's slots (PuLP, solved by HiGHS through ``pulp.HiGHS``):

* N[t, i] ∈ {0 … max_instances}: facility i's fleet in slot t (the action); N[-1] = the initial fleet.
* Ready capacity exactly as the env computes it (:mod:`.dynamics`): F[t, i] ≤ N[v, i] for v in the full
  window of slot t, A[t, i] ≤ N[v, i] for v in its after-b window (newest-first release makes the ready
  count the minimum over the window; F and A only need to be ≤ it, since more ready capacity never costs).
* Routing x[s, t, r, i] ≥ 0 [req/s] in segment s (the first b seconds, then the rest of the slot):
  Σ_i x ≤ λ_t,r and Σ_r τ(r, i)·x ≤ ρ·(F or A); unserved demand λ − Σ_i x pays the SLO penalty.
* Model transfer: o[t, i] ∈ {0, 1} with N ≤ max_instances·o and a start s ≥ o[t] − o[t−1] paying g_i
  (only for facilities with g_i > 0).
* Minimise Σ Δ·price_i·N + Σ g·s + Σ_s ℓ_s·Σ (bandwidth per request·x + penalty·(λ − Σ x)).

The compute term equals the env's billing when the granularity divides the slot and the minimum is at
most a slot (the default: 1 s, 60 s, 15-min slots); otherwise it is a lower bound of it.

The MILP starts from the cheapest (replayed) of three plans for the day (:func:`best_start`): a
lookahead plan sized on the true demand (:func:`lookahead_counts`) and the reactive and forecast
references' plans, so what it returns is never worse than any of them; the MILP's plan is also
replayed after :func:`repaired` (sized for the env's routing), and the cheapest replay is the result.  To
keep the model small, the
candidate facilities are those of the initial fleet and of the warm start, and each class may be routed only
to its ``candidates`` cheapest of them (by
C) plus those the warm start's routing uses for it.  The MILP optimum is exact over that restriction; the env
then replays the plan with its own
routing rule (cheapest facility with spare capacity first), which may serve less well than the MILP's
optimal routing, so the replayed cost is what the reference achieves and the MILP's dual bound, over
the same restriction, gives its proven gap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

import numpy as np
import pulp

from a2gym.envs.geoserve_capacity.reference import (
    TargetTracker,
    forecast_counts,
    greedy_counts,
    greedy_open,
    sized_counts,
)
from a2gym.errors import SolverError
from a2gym.solvers.milp import _silence_highs_banner, highs_available, quiet_c_stdout


@dataclasses.dataclass(frozen=True)
class HindsightPlan:
    """The hindsight plan of one realised day.

    counts [T, I]: fleet per slot (the actions).  objective: the MILP's value [$] (optimal routing).
    bound: its proven lower bound [$] over the candidate restriction.  replay_cost: the env's day cost of
    ``counts`` [$].  gap: (replay_cost − bound) / replay_cost.  status: ``optimal`` or ``feasible``.
    """

    counts: np.ndarray
    objective: float
    bound: float
    replay_cost: float
    gap: float
    status: str
    seconds: float
    n_vars: int
    source: str
    start_cost: float


def candidate_pairs(
    env: Any, start_counts: np.ndarray, candidates: int
) -> tuple[np.ndarray, list[list[int]]]:
    """Candidate facilities (sorted) and, per class, the facilities it may be routed to: its
    ``candidates`` cheapest (by C) among the facilities of the initial fleet and of ``start_counts``
    [T, I], plus every facility it would use in some slot if routed to the cheapest one open there."""
    tb = env.tables
    rank, n_fac = tb.rank, tb.n_facilities
    open_any = np.vstack([env.new_fleet().counts[:1], start_counts]) > 0
    facs = np.flatnonzero(open_any.any(axis=0))
    used = [set() for _ in range(tb.n_classes)]
    for row in open_any:
        masked = np.where(row[None, :], rank, n_fac)
        j = masked.argmin(axis=1)
        for r in np.flatnonzero(masked[np.arange(tb.n_classes), j] < n_fac):
            used[r].add(int(j[r]))
    per_class = []
    for r in range(tb.n_classes):
        ok = facs[rank[r, facs] < n_fac]
        cheap = ok[np.argsort(rank[r, ok], kind="stable")][:candidates]
        per_class.append(sorted(used[r] | set(cheap.tolist())))
    return facs, per_class


class _WarmHiGHS(pulp.HiGHS):
    """PuLP's HiGHS API solver, started from a (partial) MIP solution: HiGHS completes the fixed integer
    values with an LP and uses the result as its first incumbent."""

    def __init__(self, start: dict, **kw: Any):
        super().__init__(**kw)
        self.start = start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        idx = np.array([v.index for v in self.start], dtype=np.int32)
        val = np.array(list(self.start.values()), dtype=np.float64)
        lp.solverModel.setSolution(len(idx), idx, val)
        lp.solverModel.run()


def lookahead_counts(env: Any) -> np.ndarray:
    """A plan that knows the day [T, I]: N_t = the largest counts, on the union of A2-Greedy's open sets
    for the true demand of slots t … t + a + [b > 0], that carry each of those slots' demand as the env
    routes it on the union (:func:`sized_counts`); so every slot's instances are requested early enough
    to be ready when it starts, and old ones are kept until then (the MILP's warm start)."""
    T, d = env.n_slots, env.delay
    opened = np.stack([greedy_open(env.scenario, env.slot_hours, env.rates[t + 1]) for t in range(T)])
    span = d.a + int(d.split)
    out = []
    for t in range(T):
        window = list(range(t, min(T, t + span + 1)))
        union = opened[window].any(axis=0)
        out.append(np.max([sized_counts(env.tables, union, env.rates[u + 1]) for u in window], axis=0))
    return np.stack(out)


def policy_counts(env: Any, mode: str) -> np.ndarray:
    """The fleet plan [T, I] the ``reactive``, ``forecast`` or ``target-tracking`` reference would play on
    ``env``'s current day, simulated on a fresh fleet (the env's own state is not touched)."""
    from types import SimpleNamespace

    sim = SimpleNamespace(
        slot_no=0,
        delay=env.delay,
        demand=env.demand,
        scenario=env.scenario,
        slot_hours=env.slot_hours,
        n_slots=env.n_slots,
        tables=env.tables,
        fleet=env.new_fleet(),
    )
    out = []
    tracking = mode == "target-tracking"
    tracker = TargetTracker(env.scenario, env.slot_hours, env.max_instances) if tracking else None
    for t in range(env.n_slots):
        sim.slot_no = t
        observed = env.rates[t]
        if tracker is not None:
            a = tracker.counts(observed)
        elif mode == "forecast":
            a = forecast_counts(sim, observed)
        else:
            a = greedy_counts(env.scenario, env.slot_hours, observed)
        out.append(a)
        sim.fleet.step(a, env.rates[t + 1], env.penalty_per_request)
    return np.stack(out)


def best_start(env: Any) -> tuple[str, np.ndarray, float]:
    """The MILP's warm start: the cheapest (replayed) of :func:`lookahead_counts` and the reactive,
    forecast and target-tracking references' plans for the day, as (name, counts [T, I], day cost [$]); so
    the hindsight plan is never dearer than the env's reference."""
    plans = {"lookahead": lookahead_counts(env), "forecast": policy_counts(env, "forecast"),
             "reactive": policy_counts(env, "reactive"),
             "target-tracking": policy_counts(env, "target-tracking")}
    plans = {k: np.minimum(v, env.max_instances) for k, v in plans.items()}  # the MILP's bounds
    costs = {k: replay_cost(env, v) for k, v in plans.items()}
    name = min(costs, key=lambda k: (costs[k], k))
    return name, plans[name], costs[name]


def repaired(env: Any, counts: np.ndarray) -> np.ndarray:
    """The MILP's plan made robust to the env's routing rule [T, I]: each slot's fleet is raised to what
    its own open set needs for the slot's demand as the env routes it (:func:`sized_counts`), then to the
    largest of that over the slots its requests must cover (t … t + a + [b > 0]), as in
    :func:`lookahead_counts`.  The MILP routes optimally, the env cheapest-first, so a fleet sized
    exactly for the MILP's routing can leave demand unserved in the env."""
    T, d = env.n_slots, env.delay
    need = np.stack([np.maximum(counts[t], sized_counts(env.tables, counts[t] > 0, env.rates[t + 1]))
                     for t in range(T)])
    span = d.a + int(d.split)
    out = np.stack([need[t:min(T, t + span + 1)].max(axis=0) for t in range(T)])
    return np.minimum(out, env.max_instances)


def solve_hindsight(env: Any, time_limit: float = 120.0, candidates: int = 6, threads: int = 1,
                    msg: bool = False) -> HindsightPlan:
    """Solve the hindsight MILP for ``env``'s current episode (call after ``reset``), started from
    :func:`best_start`, and replay its plan through the env's dynamics; the result is the better (by
    replayed cost) of the MILP's plan and its start.  Raises :class:`SolverError` when HiGHS finds no
    plan within ``time_limit`` [s]."""
    if not highs_available():
        raise SolverError("the GeoServe-v1 hindsight MILP needs highspy (pip install a2gym[highs])")
    t0 = time.perf_counter()
    rates = env.rates  # [T + 1, R]; row t + 1 is slot t
    T, tb, d = env.n_slots, env.tables, env.delay
    start_name, start_counts, start_replay = best_start(env)
    facs, per_class = candidate_pairs(env, start_counts, candidates)
    init = env.new_fleet().counts[0]
    top, slot_s, pen = env.max_instances, env.slot_s, env.penalty_per_request
    segs = [(0, d.b), (1, slot_s - d.b)] if d.split else [(0, slot_s)]
    prob = pulp.LpProblem("geoserve_v1_hindsight", pulp.LpMinimize)
    new_var = getattr(prob, "add_variable", None) or pulp.LpVariable  # PuLP ≥ 3.3 prefers prob.add_variable
    N = {(t, i): new_var(f"N_{t}_{i}", 0, top, cat="Integer") for t in range(T) for i in facs}

    def count(v: int, i: int) -> Any:
        return N[v, i] if v >= 0 else float(init[i])

    def ready(t: int, i: int, window: range, name: str) -> Any:
        if len(window) == 1:
            return count(window[0], i)
        rv = new_var(f"{name}_{t}_{i}", 0, top)
        for v in window:
            prob.addConstraint(rv <= count(v, i))
        return rv

    cost = []
    o_vars: dict = {}
    for i in facs:
        price = slot_s * float(tb.price_per_s[i])
        cost += [price * N[t, i] for t in range(T)]
        g = float(tb.deploy[i])
        if g > 0:
            o = [new_var(f"o_{t}_{i}", cat="Binary") for t in range(T)]
            o_vars.update({(t, i): o[t] for t in range(T)})
            for t in range(T):
                prob.addConstraint(N[t, i] <= top * o[t])
                start = new_var(f"s_{t}_{i}", 0, 1)
                prob.addConstraint(start >= o[t] - (o[t - 1] if t > 0 else float(init[i] > 0)))
                cost.append(g * start)
    start = {N[t, i]: float(min(start_counts[t, i], top)) for (t, i) in N}
    for i in facs:
        if float(tb.deploy[i]) > 0:
            for t in range(T):
                start[o_vars[t, i]] = float(start_counts[t, i] > 0)
    n_vars = len(N)
    const = 0.0
    for t in range(T):
        lam = rates[t + 1]
        caps = {}
        for i in facs:
            caps[0, i] = ready(t, i, d.full_window(t), "F")
            if d.split:
                caps[1, i] = ready(t, i, d.after_window(t), "A")
        for s, length in segs:
            load: dict[int, list] = {int(i): [] for i in facs}
            for r in range(tb.n_classes):
                const += pen * length * float(lam[r])
                if lam[r] <= 0 or not per_class[r]:
                    continue
                xs = []
                for i in per_class[r]:
                    x = new_var(f"x_{s}_{t}_{r}_{i}", 0, float(lam[r]))
                    xs.append(x)
                    load[i].append((float(tb.tau[r, i]), x))
                    cost.append(length * (float(tb.bw[r, i]) - pen) * x)
                n_vars += len(xs)
                prob.addConstraint(pulp.lpSum(xs) <= float(lam[r]))
            for i, terms in load.items():
                if terms:
                    prob.addConstraint(pulp.lpSum(c * x for c, x in terms) <= tb.rho * caps[s, i])
    prob += pulp.lpSum(cost) + const
    _silence_highs_banner()
    solver = _WarmHiGHS(start, msg=msg, timeLimit=time_limit, threads=threads, mip_rel_gap=1e-6)
    with contextlib.nullcontext() if msg else quiet_c_stdout():
        prob.solve(solver)
    import highspy

    h = prob.solverModel
    status_code = h.getModelStatus()
    info = h.getInfo()
    if status_code == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif info.primal_solution_status == 2:
        status = "feasible"
    else:
        raise SolverError(f"GeoServe-v1 hindsight MILP: no plan within {time_limit} s "
                          f"(HiGHS status {h.modelStatusToString(status_code)})")
    objective = float(pulp.value(prob.objective))
    # HiGHS never sees PuLP's objective constant (the penalty of all demand), so add it to its bound
    bound = float(info.mip_dual_bound) + float(prob.objective.constant) if status != "optimal" else objective
    bound = min(bound, objective)
    counts = np.zeros((T, tb.n_facilities), dtype=np.int64)
    for (t, i), nv in N.items():
        counts[t, i] = int(round(nv.varValue or 0.0))
    options = {"milp": counts, "milp+repair": repaired(env, counts)}
    replays = {k: replay_cost(env, v) for k, v in options.items()}
    replays[f"start:{start_name}"] = start_replay
    options[f"start:{start_name}"] = start_counts
    source = min(replays, key=lambda k: replays[k])
    counts, replay = options[source], replays[source]
    gap = max(0.0, (replay - bound) / max(replay, 1e-12))
    return HindsightPlan(counts=counts, objective=objective, bound=bound, replay_cost=replay, gap=gap,
                         status=status, seconds=time.perf_counter() - t0, n_vars=n_vars, source=source,
                         start_cost=start_replay)


def replay_cost(env: Any, counts: np.ndarray) -> float:
    """Day cost [$] of the fleet plan ``counts`` [T, I] on ``env``'s current episode (its dynamics, no
    env state touched)."""
    fleet = env.new_fleet()
    return float(sum(fleet.step(counts[t], env.rates[t + 1], env.penalty_per_request)["total"]
                     for t in range(env.n_slots)))
