"""The state of the true-cost local search and its exact cost deltas (see :mod:`a2gym.solvers.localsearch`).

:class:`OptionTable` holds every class's allowed (Pareto) options; :class:`AssignmentState` the integral
assignment, its loads and instance counts, the cost primitives (vectorised and scalar, bit-identical)
and the only writers of the state (:meth:`AssignmentState._apply_remove`, ``_apply_add``, ``_restore``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import TOL, CostModel
from a2gym.solvers.pareto import pareto_mask

INF = math.inf
# Candidate lists of the pull move up to this length are pre-filtered in Python, longer ones with numpy.
PULL_SCALAR_MAX = 48


class OptionTable:
    """The allowed (Pareto) options of every class, flat and per class (cached on the cost model).

    Flat arrays, sorted by (class, facility, data version) like ``np.nonzero(ok)``: ``r``, ``i``, ``d``,
    busy ``bz`` [instances], bandwidth ``bw`` [$ per epoch]; class r owns ``start[r]:start[r + 1]``.
    :meth:`of_class` gives class r's options as ``{facility: ((d, busy, bandwidth $), ...)}`` in that
    order (built on first use), the form the scalar hot paths iterate.
    """

    def __init__(self, ok: np.ndarray, bz: np.ndarray, bw: np.ndarray, mh: np.ndarray, kf: np.ndarray):
        R = ok.shape[0]
        self.r, self.i, self.d = np.nonzero(ok)
        self.bz = bz[self.r, mh[self.i], self.d]
        self.bw = bw[self.r, kf[self.i], self.d]
        self.start = np.searchsorted(self.r, np.arange(R + 1))
        self._by_class: list[dict[int, tuple[tuple[int, float, float], ...]] | None] = [None] * R
        self._approx: np.ndarray | None = None

    @classmethod
    def of(cls, cm: CostModel, ok: np.ndarray, bz: np.ndarray, bw: np.ndarray, mh: np.ndarray,
           kf: np.ndarray) -> OptionTable:
        """The table of ``cm`` for the option mask ``ok`` (cached on ``cm``, keyed by ``ok``)."""
        return cached_on(cm, "option_table", lambda: cls(ok, bz, bw, mh, kf), depends_on=ok)

    def approx(self, P: np.ndarray, rho: float) -> np.ndarray:
        """[R, I] min over allowed d of bw + (P_i/ρ)·bz, the linearised cost of class r on facility i
        (inf where none is allowed); P, ρ are fixed per cost model, so it is computed once."""
        if self._approx is None:
            R, nI = len(self.start) - 1, len(P)
            out = np.full((R, nI), np.inf)
            if len(self.r):
                vals = self.bw + P[self.i] / rho * self.bz
                first = np.flatnonzero(np.r_[True, (self.r[1:] != self.r[:-1]) | (self.i[1:] != self.i[:-1])])
                out[self.r[first], self.i[first]] = np.minimum.reduceat(vals, first)
            self._approx = out
        return self._approx

    def of_class(self, r: int) -> dict[int, tuple[tuple[int, float, float], ...]]:
        """``{facility: ((data version, busy, bandwidth $), ...)}`` of class r, facilities ascending."""
        t = self._by_class[r]
        if t is None:
            s0, s1 = int(self.start[r]), int(self.start[r + 1])
            grouped: dict[int, list[tuple[int, float, float]]] = {}
            for i, d, b, w in zip(self.i[s0:s1].tolist(), self.d[s0:s1].tolist(), self.bz[s0:s1].tolist(),
                                  self.bw[s0:s1].tolist(), strict=True):
                grouped.setdefault(i, []).append((d, b, w))
            t = self._by_class[r] = {i: tuple(v) for i, v in grouped.items()}
        return t



class AssignmentState:
    """Incremental true-cost evaluator of one integral assignment on a (possibly restricted) cost model.

    State: numpy arrays ``fac``, ``dat`` (facility and data version of each class), ``b``, ``w`` (its
    busy instances and bandwidth $), ``x``, ``c`` (load [busy instances] and class count of each
    facility), mirrored in Python lists for the scalar hot paths; only :meth:`_apply_remove`,
    :meth:`_apply_add`, :meth:`_restore` and the shed move's in-place round trip write them.
    """


    def __init__(self, cm: CostModel, facility: np.ndarray, data: np.ndarray, max_rounds: int = 10_000,
                 deadline: float | None = None):
        s = cm.scenario
        R, K, M, D, H = cm.shape
        self.cm, self.R, self.D, self.nI = cm, R, D, cm.n_facilities
        self.rho = float(s.target_utilisation)
        self.P = np.where(np.isfinite(cm.fac_price_epoch), cm.fac_price_epoch, 0.0)  # [I] $ per instance-epoch
        self.g = np.asarray(cm.deploy, dtype=float)  # [I] $ per epoch
        self.P_l, self.g_l = self.P.tolist(), self.g.tolist()
        self.kf = cm.fac_region  # [I]
        self.mh = cm.fac_model * H + cm.fac_type  # [I] index into the (m, h) axis
        self.bw = cm.bw_cost  # [R, K, D] $ per epoch
        self.bz = cm.busy.transpose(0, 1, 3, 2).reshape(R, M * H, D)  # [R, M*H, D] busy instances
        self.ok = pareto_mask(cm)  # [R, I, D] allowed options
        self.ok_any = self.ok.any(axis=2)  # [R, I]
        self.opt = OptionTable.of(cm, self.ok, self.bz, self.bw, self.mh, self.kf)
        self.max_rounds = max_rounds
        self.deadline = deadline  # time.perf_counter() value after which no new pass starts
        self.stopped_early = False
        self._iI = np.arange(self.nI)
        fac = np.asarray(facility, dtype=np.int64).copy()
        dat = np.asarray(data, dtype=np.int64).copy()
        r = np.arange(R)
        b = self.bz[r, self.mh[fac], dat]  # busy of each class at its option
        w = self.bw[r, self.kf[fac], dat]  # bandwidth $ of each class at its option
        x = np.bincount(fac, weights=b, minlength=self.nI)
        c = np.bincount(fac, minlength=self.nI).astype(np.int64)
        self._restore((fac, dat, b, w, x, c))
        self.moves = {"relocate": 0, "close": 0, "shed": 0, "swap": 0, "open": 0, "kick": 0}

    # ----------------------------------------------------------------- state
    def _restore(self, state: tuple) -> None:
        """Make ``state`` = (fac, dat, b, w, x, c) arrays, optionally followed by their list mirrors,
        the current state (the arrays are adopted, not copied)."""
        self.fac, self.dat, self.b, self.w, self.x, self.c = state[:6]
        if len(state) > 6:
            self._fac, self._dat, self._b, self._w, self._x, self._c = state[6:]
        else:
            self._fac, self._dat, self._b, self._w, self._x, self._c = (a.tolist() for a in state)

    def _snapshot(self) -> tuple:
        """A copy of the state for :meth:`_restore`."""
        return (self.fac.copy(), self.dat.copy(), self.b.copy(), self.w.copy(), self.x.copy(), self.c.copy(),
                self._fac.copy(), self._dat.copy(), self._b.copy(), self._w.copy(), self._x.copy(),
                self._c.copy())

    # ----------------------------------------------------------------- costs
    def _n(self, x: np.ndarray) -> np.ndarray:
        need = x / self.rho
        return np.maximum(1, np.ceil(need - TOL * np.maximum(1.0, need)))

    def fac_cost(self, x: np.ndarray, c: np.ndarray, i: np.ndarray) -> np.ndarray:
        """$ per epoch of facilities ``i`` carrying load ``x`` [busy instances] for ``c`` classes."""
        return np.where(c > 0, self.P[i] * self._n(x) + self.g[i], 0.0)

    def _ns(self, x: float) -> float:
        """Scalar :meth:`_n`."""
        need = x / self.rho
        return max(1.0, math.ceil(need - TOL * max(1.0, need)))

    def _fc(self, i: int, x: float, c: int) -> float:
        """Scalar :meth:`fac_cost` (same operations, so bit-identical)."""
        if c <= 0:
            return 0.0
        need = x / self.rho
        n = math.ceil(need - TOL * (need if need > 1.0 else 1.0))
        return self.P_l[i] * (n if n > 1 else 1.0) + self.g_l[i]

    def total(self) -> float:
        """Current true cost [$ per epoch]."""
        return float(self.fac_cost(self.x, self.c, self._iI).sum() + self.w.sum())

    def _remove_delta(self, r: int) -> float:
        """Exact cost change [$] of taking class r off its facility (bandwidth included)."""
        i = self._fac[r]
        x, c = self._x[i], self._c[i]
        return (self._fc(i, x - self._b[r], c - 1) - self._fc(i, x, c)) - self._w[r]

    def _add_deltas(self, r: int, allowed: np.ndarray) -> np.ndarray:
        """Exact cost increase [$] of putting class r (already removed) on each (facility, data) [I, D]."""
        i = np.flatnonzero(allowed & self.ok_any[r])
        out = np.full((self.nI, self.D), np.inf)
        if i.size == 0:
            return out
        bz, bw, ok = self.bz[r][self.mh[i]], self.bw[r][self.kf[i]], self.ok[r][i]
        x, c = self.x[i][:, None], self.c[i][:, None]
        old = self.fac_cost(x, c, i[:, None])
        new = self.fac_cost(x + bz, c + 1, i[:, None])
        out[i] = np.where(ok, new - old + bw, np.inf)
        return out

    def _best_add(self, r: int, facs: list[int]) -> tuple[float, int, int]:
        """Cheapest insertion (delta [$], facility, data) of class r (already removed) on ``facs``
        (ascending): the minimum and first argmin of :meth:`_add_deltas` over those facilities, or
        (inf, 0, 0) when none is allowed, as ``np.argmin`` would give."""
        tab = self.opt.of_class(r)
        xs, cs, P, g, rho = self._x, self._c, self.P_l, self.g_l, self.rho
        best, bi, bd = INF, 0, 0
        for f in facs:
            o = tab.get(f)
            if o is None:
                continue
            xf, cf = xs[f], cs[f]
            Pf, gf = P[f], g[f]
            if cf > 0:
                need = xf / rho
                n = math.ceil(need - TOL * (need if need > 1.0 else 1.0))
                old = Pf * (n if n > 1 else 1.0) + gf
            else:
                old = 0.0
            for d, bzv, bwv in o:
                need = (xf + bzv) / rho
                n = math.ceil(need - TOL * (need if need > 1.0 else 1.0))
                v = Pf * (n if n > 1 else 1.0) + gf - old + bwv
                if v < best:
                    best, bi, bd = v, f, d
        return best, bi, bd

    def _apply_remove(self, r: int) -> None:
        i = self._fac[r]
        x = self._x[i] - self._b[r]
        c = self._c[i] - 1
        if c == 0:
            x = 0.0
        self._x[i] = self.x[i] = x
        self._c[i] = self.c[i] = c

    def _apply_add(self, r: int, i: int, d: int) -> None:
        b = float(self.bz[r, self.mh[i], d])
        self._fac[r] = self.fac[r] = i
        self._dat[r] = self.dat[r] = d
        self._b[r] = self.b[r] = b
        self._w[r] = self.w[r] = float(self.bw[r, self.kf[i], d])
        self._x[i] = self.x[i] = self._x[i] + b
        self._c[i] = self.c[i] = self._c[i] + 1

    def _late(self) -> bool:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.stopped_early = True
        return self.stopped_early

    def _eps(self) -> float:
        return 1e-9 * max(1.0, abs(self.total()))

