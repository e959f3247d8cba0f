"""Exact A2-MILP (formulation §11.3–11.4) with PuLP; HiGHS (highspy API) when available, else CBC.

    min  Σ_i (π_i·T·n_i + g_i·y_i) + Σ_{(r,i,d)} V_r·b_{r,k,d}·z_{r,i,d}                 [$ per epoch]
    s.t. Σ_{(i,d)} z_{r,i,d} = 1                          ∀ r            (coverage)
         Σ_{(r,d)} λ_r·τ_{m,d,h}·z_{r,i,d} ≤ ρ·n_i          ∀ i            (elastic capacity)
         Σ_d z_{r,i,d} ≤ y_i,   y_i ≤ n_i ≤ N_i·y_i         ∀ r, i         (linking)
         z ∈ [0, 1] (split classes allowed; ``integral=True`` for {0, 1}), n ∈ ℤ≥0, y ∈ {0, 1}

z lives only on the feasible, Pareto-optimal options (:mod:`a2gym.solvers.pareto`; exact), and
N_i = ⌈Σ_r max_d λ_r τ / ρ⌉ is the most instances facility i can ever need.  The aggregated linking
row Σ_d z ≤ y is the tighter form of §11.4's z ≤ y.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pulp

from a2gym.costmodel import CostModel, instances_needed
from a2gym.errors import SolverError
from a2gym.plan import Plan
from a2gym.solvers.bounds import n_max
from a2gym.solvers.pareto import ServingOptions

BACKENDS = ("highs", "cbc")


def highs_available() -> bool:
    """True when the highspy package imports (PuLP's ``HiGHS`` API solver is usable)."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


_BANNER_DONE = False


def _silence_highs_banner() -> None:
    """highspy prints a banner to the C-level stdout on the first ``Highs()`` of a process; create that
    first instance with stdout pointed at /dev/null so ``a2gym solve --json`` output stays pure JSON."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_DONE = True


@contextlib.contextmanager
def quiet_c_stdout():
    """Point the C-level stdout (fd 1) at /dev/null for the block: HiGHS (SciPy's and highspy's) can print
    debug lines such as ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` to
    fd 1 even with output disabled, which would corrupt ``a2gym solve --json``."""
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no fd 1 (or a closed sys.stdout): nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        try:  # flush C stdio buffers while fd 1 is still /dev/null
            import ctypes

            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError, TypeError):
            pass
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@dataclasses.dataclass(frozen=True)
class MilpResult:
    """A solved A2-MILP: the extracted plan, solver objective and bound [$ per epoch], status, gap."""

    plan: Plan
    objective: float
    bound: float | None
    status: str  # "optimal" | "feasible" | "time_limit"
    gap: float | None
    backend: str
    n_vars: int
    n_rows: int
    repaired: bool


def build(cm: CostModel, integral: bool = False) -> tuple[pulp.LpProblem, ServingOptions, dict, dict, dict]:
    """The PuLP model; returns (problem, options, z vars by option index, n vars, y vars by facility)."""
    opts = ServingOptions.of(cm)
    rho = cm.scenario.target_utilisation
    P = np.where(np.isfinite(cm.fac_price_epoch), cm.fac_price_epoch, 0.0)
    nmax = n_max(cm, opts)
    prob = pulp.LpProblem("A2_MILP", pulp.LpMinimize)
    cat = pulp.LpBinary if integral else pulp.LpContinuous
    var = getattr(prob, "add_variable", None) or pulp.LpVariable  # PuLP ≥ 3.3 prefers prob.add_variable
    z = {o: var(f"z_{o}", 0, 1, cat) for o in range(len(opts))}
    facs = np.unique(opts.i)
    n = {int(i): var(f"n_{i}", 0, int(nmax[i]), pulp.LpInteger) for i in facs}
    y = {int(i): var(f"y_{i}", 0, 1, pulp.LpBinary) for i in facs}
    obj = {n[i]: float(P[i]) for i in n}
    obj.update({y[i]: float(cm.deploy[i]) for i in y})
    obj.update({z[o]: float(opts.w[o]) for o in z})
    prob += pulp.LpAffineExpression(obj)
    by_class: dict[int, list[int]] = {}
    by_fac: dict[int, list[int]] = {}
    by_pair: dict[tuple[int, int], list[int]] = {}
    for o, (r, i) in enumerate(zip(opts.r.tolist(), opts.i.tolist(), strict=True)):
        by_class.setdefault(r, []).append(o)
        by_fac.setdefault(i, []).append(o)
        by_pair.setdefault((r, i), []).append(o)
    for r, os_ in by_class.items():
        prob += pulp.LpAffineExpression({z[o]: 1.0 for o in os_}) == 1, f"cover_{r}"
    for i, os_ in by_fac.items():
        e = {z[o]: float(opts.b[o]) for o in os_}
        e[n[i]] = -rho
        prob += pulp.LpAffineExpression(e) <= 0, f"cap_{i}"
    for (r, i), os_ in by_pair.items():
        e = {z[o]: 1.0 for o in os_}
        e[y[i]] = -1.0
        prob += pulp.LpAffineExpression(e) <= 0, f"link_{r}_{i}"
    for i in n:
        prob += y[i] - n[i] <= 0, f"ylen_{i}"
        prob += n[i] - float(nmax[i]) * y[i] <= 0, f"nley_{i}"
    return prob, opts, z, n, y


def solve_milp(cm: CostModel, time_limit: float | None = None, backend: str | None = None,
               integral: bool = False, msg: bool = False, threads: int = 1) -> MilpResult:
    """Solve A2-MILP; raise :class:`SolverError` if no solution is found (never a partial answer)."""
    backend = _pick_backend(backend)
    prob, opts, z, n, _ = build(cm, integral=integral)
    if backend == "highs":
        status, bound, gap = _run_highs(prob, time_limit, msg, threads)
    else:
        status, bound, gap = _run_cbc(prob, time_limit, threads)
    objective = float(pulp.value(prob.objective))
    if status == "optimal":
        bound = objective if bound is None else min(bound, objective)
    if bound is not None and status != "optimal":
        gap = max(0.0, (objective - bound) / max(abs(objective), 1e-12))
    zval = np.array([z[o].varValue or 0.0 for o in range(len(opts))])
    nval = np.zeros(cm.n_facilities)
    for i, v in n.items():
        nval[i] = v.varValue or 0.0
    plan, repaired = extract_plan(cm, opts, zval, nval)
    return MilpResult(plan=plan, objective=objective, bound=bound, status=status, gap=gap, backend=backend,
                      n_vars=len(prob.variables()), n_rows=prob.numConstraints(), repaired=repaired)


def _pick_backend(backend: str | None) -> str:
    if backend is None:
        return "highs" if highs_available() else "cbc"
    if backend not in BACKENDS:
        raise SolverError(f"unknown MILP backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if backend == "highs" and not highs_available():
        raise SolverError("MILP backend 'highs' needs the highspy package (pip install a2gym[highs]); "
                          "use backend='cbc'")
    return backend


def _run_highs(prob: pulp.LpProblem, time_limit: float | None, msg: bool,
               threads: int) -> tuple[str, float | None, float | None]:
    """Solve with HiGHS through highspy; (status, dual bound [$], gap) read from the solver's own info."""
    import highspy

    _silence_highs_banner()
    solver = pulp.HiGHS(msg=msg, timeLimit=time_limit, threads=threads, mip_feasibility_tolerance=1e-9,
                        primal_feasibility_tolerance=1e-9, mip_rel_gap=1e-9)
    with contextlib.nullcontext() if msg else quiet_c_stdout():
        prob.solve(solver)
    h = prob.solverModel
    ms = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    stopped = (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt,
               highspy.HighsModelStatus.kIterationLimit)
    if ms == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif has_sol and ms in stopped:
        status = "feasible"
    elif ms == highspy.HighsModelStatus.kTimeLimit:
        raise SolverError(f"milp (highs): no solution within {time_limit} s")
    else:
        raise SolverError(f"milp (highs): solver ended with status {h.modelStatusToString(ms)} and no solution")
    return status, float(info.mip_dual_bound), float(info.mip_gap) if status == "feasible" else 0.0


def _run_cbc(prob: pulp.LpProblem, time_limit: float | None, threads: int) -> tuple[str, float | None, float | None]:
    """Solve with the CBC binary bundled with PuLP; (status, bound [$] or None, gap).

    PuLP runs CBC as a command (``PULP_CBC_CMD``) and reads back only the solution file, whose header
    carries the status and the objective but not the best bound; the only PuLP interface that returns
    CBC's bound (``COINMP_DLL``, ``prob.bestBound``) needs the CoinMP shared library, which PuLP does not
    ship.  So when CBC stops early with an incumbent, the bound is read from CBC's own log
    (:func:`cbc_bound_from_log`); if the log has none, the status is ``time_limit`` (gap unknown).
    """
    fd, log_path = tempfile.mkstemp(suffix=".log", prefix="a2gym_cbc_")
    os.close(fd)
    try:
        with warnings.catch_warnings():  # PuLP 3.3 deprecates the bundled-CBC class name only
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, threads=threads, logPath=log_path,
                                       options=["primalTolerance 1e-9", "integerTolerance 1e-9", "ratioGap 1e-9"])
        prob.solve(solver)
        log = Path(log_path).read_text(encoding="utf-8", errors="replace")
    finally:
        os.unlink(log_path)
    if prob.sol_status == pulp.LpSolutionOptimal and prob.status == pulp.LpStatusOptimal:
        return "optimal", None, 0.0
    if prob.sol_status == pulp.LpSolutionIntegerFeasible:
        bound = cbc_bound_from_log(log)
        return ("time_limit" if bound is None else "feasible"), bound, None
    if prob.status == pulp.LpStatusInfeasible:
        raise SolverError("milp (cbc): the model is infeasible")
    raise SolverError(f"milp (cbc): no solution within {time_limit} s")


_CBC_BOUND = (re.compile(r"best possible\s*([-+0-9.eE]+)"), re.compile(r"Lower bound:\s*([-+0-9.eE]+)"))


def cbc_bound_from_log(log: str) -> float | None:
    """CBC's best bound [$] from its log: the first ``best possible X`` (the summary line CBC prints when it
    stops, e.g. ``Partial search - best objective 12.3 (best possible 11.9), took …``), else
    ``Lower bound: X`` of the statistics block; None when neither is there."""
    for pattern in _CBC_BOUND:
        m = pattern.search(log)
        if m:
            return float(m.group(1))
    return None


def extract_plan(cm: CostModel, opts: ServingOptions, zval: np.ndarray, nval: np.ndarray) -> tuple[Plan, bool]:
    """Turn solver values into a plan that meets every constraint exactly (solver tolerances removed).

    Parts below 1e-7 are dropped and each class's fractions renormalised to sum to 1; a class with a
    part ≥ 1 − 1e-6 is snapped to it.  Instances are then n_i = max(1, ⌈load_i/ρ⌉) on used facilities
    (Lemma A for integral plans), never above the solver's n unless its tolerance left a capacity a
    hair short (``repaired`` = True; the plan is then exactly feasible and the extra cost is visible).
    Snapping moves load between facilities, so on a capacity that the solver left exactly tight it can
    cost a whole instance: when it needs more instances than the solver's n, the plan is extracted again
    without snapping (the solver's own fractions, renormalised) and the cheaper of the two is returned.
    """
    plan, repaired = _extract(cm, opts, zval, nval, drop=1e-7, snap_at=1 - 1e-6)
    if not repaired:
        return plan, False
    candidates = [(plan, repaired), _extract(cm, opts, zval, nval, drop=0.0, snap_at=np.inf)]
    z_exact = _refit_fractions(cm, opts, np.round(nval))
    if z_exact is not None:
        candidates.append(_extract(cm, opts, z_exact, nval, drop=1e-12, snap_at=1 - 1e-12))
    return min(candidates, key=lambda c: (c[1], cm.evaluate(c[0], check=False).total))


def _refit_fractions(cm: CostModel, opts: ServingOptions, n: np.ndarray, margin: float = 1e-9) -> np.ndarray | None:
    """Cheapest fractions for the solver's instance counts ``n``, solved in full double precision.

    A solver's values carry its tolerances (CBC's solution file even rounds them to about 8 digits), so a
    capacity the MILP left exactly tight can read as a hair over ρ·n and cost a whole extra instance.
    With n fixed, the best fractions are an LP: min Σ w·z s.t. every class covered, Σ b·z ≤ ρ·n·(1 − margin),
    solved by SciPy's HiGHS. Returns z per option, or None when that LP is infeasible.
    """
    import scipy.optimize
    import scipy.sparse as sp

    open_ = n[opts.i] >= 1
    idx = np.flatnonzero(open_)
    if idx.size == 0:
        return None
    R, P = cm.shape[0], idx.size
    cols = np.arange(P)
    A_eq = sp.csr_matrix((np.ones(P), (opts.r[idx], cols)), shape=(R, P))
    A_ub = sp.csr_matrix((opts.b[idx], (opts.i[idx], cols)), shape=(cm.n_facilities, P))
    cap = cm.scenario.target_utilisation * n * (1 - margin)
    res = scipy.optimize.linprog(opts.w[idx], A_ub=A_ub, b_ub=cap, A_eq=A_eq, b_eq=np.ones(R), bounds=(0, 1),
                                 method="highs")
    if res.status != 0:
        return None
    z = np.zeros(len(opts))
    z[idx] = np.clip(res.x, 0.0, 1.0)
    return z


def _extract(cm: CostModel, opts: ServingOptions, zval: np.ndarray, nval: np.ndarray, drop: float,
             snap_at: float) -> tuple[Plan, bool]:
    R = cm.shape[0]
    z = np.where(zval > drop, zval, 0.0)
    zmax = np.zeros(R)
    np.maximum.at(zmax, opts.r, z)
    snap = zmax[opts.r] >= snap_at
    z = np.where(snap, np.where(z == zmax[opts.r], 1.0, 0.0), z)
    # one part per snapped class (the first of several equal maxima)
    keep = z > 0
    r, i, d, f = opts.r[keep], opts.i[keep], opts.d[keep], z[keep]
    first = np.ones(len(r), dtype=bool)
    seen: set[int] = set()
    for p in np.flatnonzero(snap[keep]):
        if int(r[p]) in seen:
            first[p] = False
        seen.add(int(r[p]))
    r, i, d, f = r[first], i[first], d[first], f[first]
    tot = np.bincount(r, weights=f, minlength=R)
    if np.any(tot <= 0):
        raise SolverError(f"milp: solution leaves class {cm.scenario.classes[int(np.flatnonzero(tot <= 0)[0])]} unserved")
    f = f / tot[r]
    if np.all(f == 1.0) and len(r) == R:
        order = np.argsort(r)
        return cm.materialise(i[order], d[order]), False
    busy = cm.busy[r, cm.fac_model[i], d, cm.fac_type[i]] * f
    load = np.bincount(i, weights=busy, minlength=cm.n_facilities)
    used = np.bincount(i, minlength=cm.n_facilities) > 0
    need = np.maximum(1, instances_needed(load, cm.scenario.target_utilisation))
    solver_n = np.round(nval).astype(np.int64)
    n = np.where(used, need, 0)
    repaired = bool(np.any(used & (need > solver_n)))
    return Plan(cls=r, facility=i, data=d, fraction=f, instances=n), repaired
