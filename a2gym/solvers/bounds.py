"""Linear-programming lower bounds (formulation §11.9), built as sparse matrices and solved with HiGHS.

* :func:`milp_relaxation`: the LP relaxation of A2-MILP (§11.3–11.4) with the aggregated linking cuts
  Σ_d z_{r,i,d} ≤ y_i ≤ n_i ≤ N_i·y_i.  Every feasible A² plan is feasible for it, so its value
  is ≤ OPT.
* :func:`ufl_lp`: LP(A2-UFL) of §11.7 (min Σ F_i y_i + Σ C_{r,i} x_{r,i}, Σ_i x_{r,i} = 1, x ≤ y).  By
  Lemma B, ½·LP(A2-UFL) ≤ ½·OPT_UFL ≤ OPT.
* :func:`lower_bound`: the larger of the two [$ per epoch].

Both LPs are solved by ``scipy.optimize.linprog(method="highs")`` (the HiGHS bundled with SciPy): the
matrices are assembled with numpy in one go, which is orders of magnitude faster than building them
row by row through a modelling layer.  A bound is only used when HiGHS reports the LP solved to
optimality; a time-limited LP yields no bound.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from a2gym.costmodel import CostModel
from a2gym.errors import SolverError
from a2gym.solvers.pareto import ServingOptions


@dataclasses.dataclass(frozen=True)
class LPResult:
    """Value [$ per epoch] and primal solution of an LP (``x`` over its variables, in builder order)."""

    value: float
    x: np.ndarray
    wall_time: float


def _linprog(c, A_ub, b_ub, A_eq, b_eq, bounds, time_limit: float | None) -> LPResult | None:
    t0 = time.perf_counter()
    opts = {"presolve": True}
    if time_limit is not None:
        opts["time_limit"] = float(max(0.1, time_limit))
    res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                                 method="highs", options=opts)
    if res.status != 0:
        return None
    return LPResult(value=float(res.fun), x=np.asarray(res.x), wall_time=time.perf_counter() - t0)


def n_max(cm: CostModel, opts: ServingOptions) -> np.ndarray:
    """Upper bound on useful instances per facility: ⌈Σ_r max_d busy / ρ⌉ (≥ 1) [I]."""
    nI = cm.n_facilities
    worst = np.zeros((cm.shape[0], nI))
    np.maximum.at(worst, (opts.r, opts.i), opts.b)
    return np.maximum(1.0, np.ceil(worst.sum(axis=0) / cm.scenario.target_utilisation))


@dataclasses.dataclass(frozen=True)
class MilpMatrices:
    """A2-MILP as sparse matrices over variables [z (options), n (I), y (I)] (§11.4 with linking cuts)."""

    c: np.ndarray
    A_ub: sp.csr_matrix
    A_eq: sp.csr_matrix
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray  # 1 for n and y
    opts: ServingOptions
    n_fac: int

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z over options, n [I], y [I]) from a solution vector."""
        o, nI = len(self.opts), self.n_fac
        return x[:o], x[o:o + nI], x[o + nI:]


def milp_matrices(cm: CostModel, opts: ServingOptions | None = None, facilities: np.ndarray | None = None) -> MilpMatrices:
    """Build A2-MILP; with ``facilities`` (bool [I]) only options on those facilities are kept."""
    opts = ServingOptions.of(cm) if opts is None else opts
    if facilities is not None:
        keep = facilities[opts.i]
        opts = ServingOptions(r=opts.r[keep], i=opts.i[keep], d=opts.d[keep], w=opts.w[keep], b=opts.b[keep])
    R, nI, n_opt = cm.shape[0], cm.n_facilities, len(opts)
    rho = cm.scenario.target_utilisation
    P = np.where(np.isfinite(cm.fac_price_epoch), cm.fac_price_epoch, 0.0)
    nmax = n_max(cm, opts)
    has = np.bincount(opts.i, minlength=nI) > 0
    zc = np.arange(n_opt)
    nc, yc = n_opt + np.arange(nI), n_opt + nI + np.arange(nI)
    pair, pair_idx = np.unique(opts.r * nI + opts.i, return_inverse=True)
    n_pairs = len(pair)
    pair_i = pair % nI
    rows, cols, vals = [], [], []
    # capacity: Σ b z − ρ n ≤ 0 (rows 0..I-1)
    rows += [opts.i, np.arange(nI)]
    cols += [zc, nc]
    vals += [opts.b, np.full(nI, -rho)]
    # linking: Σ_d z_{r,i,d} − y_i ≤ 0 (rows I..I+pairs-1)
    rows += [nI + pair_idx, nI + np.arange(n_pairs)]
    cols += [zc, yc[pair_i]]
    vals += [np.ones(n_opt), -np.ones(n_pairs)]
    # y − n ≤ 0 and n − N·y ≤ 0
    base = nI + n_pairs
    rows += [base + np.arange(nI)] * 2 + [base + nI + np.arange(nI)] * 2
    cols += [yc, nc, nc, yc]
    vals += [np.ones(nI), -np.ones(nI), np.ones(nI), -nmax]
    A_ub = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(base + 2 * nI, n_opt + 2 * nI))
    A_eq = sp.csr_matrix((np.ones(n_opt), (opts.r, zc)), shape=(R, n_opt + 2 * nI))
    c = np.concatenate([opts.w, P, cm.deploy])
    ub = np.concatenate([np.ones(n_opt), np.where(has, nmax, 0.0), np.where(has, 1.0, 0.0)])
    integ = np.concatenate([np.zeros(n_opt), np.ones(2 * nI)]).astype(np.uint8)
    return MilpMatrices(c=c, A_ub=A_ub, A_eq=A_eq, lb=np.zeros(n_opt + 2 * nI), ub=ub, integrality=integ,
                        opts=opts, n_fac=nI)


def milp_relaxation(cm: CostModel, time_limit: float | None = None, opts: ServingOptions | None = None) -> LPResult | None:
    """LP relaxation of A2-MILP with linking cuts; variables [z (options), n (I), y (I)]."""
    mm = milp_matrices(cm, opts)
    return _linprog(mm.c, mm.A_ub, np.zeros(mm.A_ub.shape[0]), mm.A_eq, np.ones(mm.A_eq.shape[0]),
                    np.column_stack([mm.lb, mm.ub]), time_limit)


def ufl_lp(cm: CostModel, time_limit: float | None = None) -> tuple[LPResult, np.ndarray, np.ndarray] | None:
    """LP(A2-UFL); returns (result, x [R, I] dense, y [I]) or None when not solved."""
    R, nI = cm.C.shape
    rr, ii = np.nonzero(np.isfinite(cm.C))
    X = len(rr)
    usable = np.isfinite(cm.F)
    A_ub = sp.csr_matrix((np.concatenate([np.ones(X), -np.ones(X)]),
                          (np.concatenate([np.arange(X)] * 2), np.concatenate([np.arange(X), X + ii]))),
                         shape=(X, X + nI))
    A_eq = sp.csr_matrix((np.ones(X), (rr, np.arange(X))), shape=(R, X + nI))
    c = np.concatenate([cm.C[rr, ii], np.where(usable, cm.F, 0.0)])
    ub = np.concatenate([np.ones(X), np.where(usable, 1.0, 0.0)])
    res = _linprog(c, A_ub, np.zeros(X), A_eq, np.ones(R), np.column_stack([np.zeros(X + nI), ub]), time_limit)
    if res is None:
        return None
    x = np.zeros((R, nI))
    x[rr, ii] = res.x[:X]
    return res, x, res.x[X:]


def lower_bound(cm: CostModel, time_limit: float | None = None) -> tuple[float, dict[str, float | None]]:
    """max(LP relaxation of A2-MILP, ½·LP(A2-UFL)) [$ per epoch] and both parts (None if not solved)."""
    t0 = time.perf_counter()
    relax = milp_relaxation(cm, time_limit)
    left = None if time_limit is None else max(0.1, time_limit - (time.perf_counter() - t0))
    ufl = ufl_lp(cm, left)
    parts = {"milp_lp": None if relax is None else relax.value,
             "half_ufl_lp": None if ufl is None else 0.5 * ufl[0].value}
    vals = [v for v in parts.values() if v is not None]
    if not vals:
        raise SolverError(f"lower_bound: no LP solved to optimality within {time_limit} s")
    return max(vals), parts
