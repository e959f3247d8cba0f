"""True-cost local search for integral A² plans (formulation §11.6 step 4d).

The state is an integral assignment (facility σ(r), data version d_r) with instance counts
n_i = max(1, ⌈x_i/ρ⌉) on used facilities (Lemma A).  Its cost [$ per epoch] is

    Σ_{i used} (π_i·T·n_i + g_i) + Σ_r V_r·s_{d_r}·β(o_r, k_{σ(r)})/1e9,

exactly :meth:`CostModel.assignment_cost` (the tests assert the two agree).  Moves, each accepted only
when the true cost strictly decreases:

* **relocate**: one class to another (facility, data version), including re-choosing the data version
  on its own facility.  The delta is exact: it counts the instance steps on both facilities, so moving
  a class onto spare ρ·n capacity costs no compute, and leaving a facility that then needs one
  instance fewer (or none) earns it.  Deltas of all classes are computed in one vectorised pass, then
  applied best-first, each re-checked against the current state.
* **close**: move every class of an open facility at once to its best remaining open option (data
  version re-chosen), largest loads first.
* **swap**: close an open facility while allowing one closed facility to open in its place.
* **shed**: move classes off a facility (cheapest first, each to its best other open option) until it
  needs one instance fewer.
* **open**: open a closed facility with one seed class, then pull every class that gains from it.

Only Pareto-optimal data versions per (class, facility) are considered (a version with both more
bytes and more busy time is never better).  The search is deterministic.

Implementation notes (speed).  The composite moves re-insert one class at a time into a handful of
open facilities, so their hot paths are plain-Python scalar loops over a per-class table of allowed
options (:class:`OptionTable`), with the state mirrored in Python lists next to the numpy arrays that
the vectorised passes use.  Every delta is computed with the same floating-point operations, in the
same order, as the vectorised formulas (:meth:`LocalSearch.fac_cost`), and ties go to the first
option in (facility, data version) order like ``np.argmin``, so the scalar and vectorised paths give
bit-identical decisions.
"""

from __future__ import annotations

import math
import time

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import TOL, CostModel
from a2gym.solvers.options import pareto_mask

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


class LocalSearch:
    """Incremental true-cost evaluator and the moves above for one (possibly restricted) cost model.

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

    def _options(self, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Busy [I, D], bandwidth $ [I, D] and allowed mask [I, D] of class r."""
        return self.bz[r][self.mh], self.bw[r][self.kf], self.ok[r]

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

    # ----------------------------------------------------------------- moves
    def _batch_relocate_deltas(self, s0: int, s1: int) -> np.ndarray:
        """Best relocation delta [$] of each class in ``s0:s1`` against the current state (inf if none),
        evaluated on the flat option table (only allowed options, so no [B, I, D] arrays)."""
        t = self.opt
        sl = slice(int(t.start[s0]), int(t.start[s1]))
        best = np.full(s1 - s0, np.inf)
        if sl.start == sl.stop:
            return best
        rows = np.arange(s0, s1)
        i0, b0 = self.fac[rows], self.b[rows]
        xi, ci = self.x[i0], self.c[i0]
        rem = (self.fac_cost(xi - b0, ci - 1, i0) - self.fac_cost(xi, ci, i0)) - self.w[rows]
        lr, oi = t.r[sl] - s0, t.i[sl]
        own = oi == i0[lr]
        X = self.x[oi] - np.where(own, b0[lr], 0.0)
        Cn = self.c[oi] - own
        old = self.fac_cost(X, Cn, oi)
        new = self.fac_cost(X + t.bz[sl], Cn + 1, oi)
        delta = rem[lr] + (new - old) + t.bw[sl]
        delta[own & (t.d[sl] == self.dat[rows][lr])] = np.inf
        counts = t.start[s0 + 1:s1 + 1] - t.start[s0:s1]
        has = counts > 0
        best[has] = np.minimum.reduceat(delta, (t.start[s0:s1] - t.start[s0])[has])
        return best

    def _best_relocation(self, r: int) -> tuple[float, int, int]:
        """Scalar :meth:`_batch_relocate_deltas` of one class: (delta [$], facility, data), first argmin."""
        tab = self.opt.of_class(r)
        xs, cs, fc = self._x, self._c, self._fc
        i0, b0, d0 = self._fac[r], self._b[r], self._dat[r]
        x0, c0 = xs[i0], cs[i0]
        rem = (fc(i0, x0 - b0, c0 - 1) - fc(i0, x0, c0)) - self._w[r]
        best, bi, bd = INF, 0, 0
        for f, o in tab.items():
            if f == i0:
                X, C = x0 - b0, c0 - 1
            else:
                X, C = xs[f], cs[f]
            old = fc(f, X, C)
            for d, bzv, bwv in o:
                if f == i0 and d == d0:
                    continue
                v = rem + (fc(f, X + bzv, C + 1) - old) + bwv
                if v < best:
                    best, bi, bd = v, f, d
        return best, bi, bd

    def relocate_pass(self) -> bool:
        """Apply improving single-class relocations to a fixpoint; True if any was applied."""
        any_move = False
        per_row = max(1.0, len(self.opt.r) / max(1, self.R))
        chunk = max(1, int(2_000_000 // per_row))
        for _ in range(self.max_rounds):
            if self._late():
                break
            eps = self._eps()
            cand_d, cand_r = [], []
            for s0 in range(0, self.R, chunk):
                s1 = min(self.R, s0 + chunk)
                dl = self._batch_relocate_deltas(s0, s1)
                keep = dl < -eps
                cand_d.append(dl[keep])
                cand_r.append(np.arange(s0, s1)[keep])
            dl = np.concatenate(cand_d)
            if dl.size == 0:
                break
            moved = False
            for r in np.concatenate(cand_r)[np.argsort(dl, kind="stable")].tolist():
                d1, j1, e1 = self._best_relocation(r)
                if d1 < -eps:
                    self._apply_remove(r)
                    self._apply_add(r, j1, e1)
                    self.moves["relocate"] += 1
                    moved = any_move = True
            if not moved:
                break
        return any_move

    def _try_close(self, i: int, extra: int | None = None, pull: bool = False, eps: float | None = None) -> bool:
        """Close facility i, reinserting its classes on open facilities (and ``extra`` if given; with
        ``pull``, other classes that gain from ``extra`` then move there too).  ``eps``: :meth:`_eps` of
        the current state, if the caller has it."""
        members = np.flatnonzero(self.fac == i)
        members = members[np.argsort(-self.b[members], kind="stable")].tolist()
        if eps is None:
            eps = self._eps()
        saved = self._snapshot()
        total = 0.0
        for r in members:
            total += self._remove_delta(r)
            self._apply_remove(r)
        allowed = self.c > 0
        if extra is not None:
            allowed[extra] = True
        allowed[i] = False
        facs = np.flatnonzero(allowed).tolist()
        ok = True
        for r in members:
            v, j, e = self._best_add(r, facs)
            if v == INF:
                ok = False
                break
            total += v
            self._apply_add(r, j, e)
        if ok and pull and extra is not None and self._c[extra] > 0:
            total += self._pull(extra, self._pull_candidates(extra))
        if ok and total < -eps:
            return True
        self._restore(saved)
        return False

    def close_pass(self) -> bool:
        """Try to close each open facility once (lightest first); True if any was closed."""
        openf = np.flatnonzero(self.c > 0)
        done = False
        eps = self._eps()  # a failed try restores the state, so eps changes only after a success
        for i in openf[np.argsort(self.x[openf], kind="stable")].tolist():
            if self._c[i] > 0 and self._try_close(i, eps=eps):
                self.moves["close"] += 1
                done = True
                eps = self._eps()
        return done

    def swap_pass(self, per_facility: int = 3) -> bool:
        """Close each open facility with one closed facility allowed to open in its place (one sweep)."""
        openf = np.flatnonzero(self.c > 0)
        C = self.cm.C
        usable = self.ok_any.any(axis=0)
        done = False
        for i in openf[np.argsort(self.x[openf], kind="stable")].tolist():
            if self._c[i] == 0:
                continue
            closed = np.flatnonzero((self.c == 0) & usable)
            if closed.size == 0:
                break
            members = np.flatnonzero(self.fac == i)
            host = np.where(np.isfinite(C[np.ix_(members, closed)]), C[np.ix_(members, closed)], np.nan)
            served = np.sum(~np.isnan(host), axis=0)
            score = np.nansum(host, axis=0) + self.cm.F[closed] - 1e-12 * served
            score = np.where(served > 0, score / np.maximum(served, 1), np.inf)
            eps = self._eps()  # the tries below start from this same state (a failed try restores it)
            for j in closed[np.argsort(score, kind="stable")[:per_facility]].tolist():
                if self._try_close(i, extra=j, pull=True, eps=eps):
                    self.moves["swap"] += 1
                    done = True
                    break
        return done

    def _move_to(self, r: int, j: int) -> float:
        """Move class r to facility j with its best data version there; returns the exact delta [$]."""
        dr = self._remove_delta(r)
        self._apply_remove(r)
        v, _, e = self._best_add(r, [j])
        self._apply_add(r, j, e)
        return dr + v

    def _pull_filter(self, j: int, cands: list[int], rem: list[float] | None = None, stale: int = -1) -> list[int]:
        """Candidates (none on j) whose own move to j lowers the cost against the current state.

        ``rem``, if given, is :meth:`_rem_all` (as a list) of a state that differs from the current one
        only on facility ``stale`` and on j; it is reused for the classes on other facilities."""
        if len(cands) > PULL_SCALAR_MAX:
            kj, mhj = int(self.kf[j]), int(self.mh[j])
            ca = np.asarray(cands)
            i0 = self.fac[ca]
            rem_a = (self.fac_cost(self.x[i0] - self.b[ca], self.c[i0] - 1, i0)
                     - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w[ca]
            add = self.fac_cost(self.x[j] + self.bz[ca, mhj, :], np.full((len(ca), 1), self.c[j] + 1),
                                np.full((len(ca), 1), j)) - self.fac_cost(self.x[j], self.c[j], j)
            add = np.where(self.ok[ca, j, :], add + self.bw[ca, kj, :], np.inf).min(axis=1)
            return ca[rem_a + add < 0].tolist()
        # Scalar path: _fc inlined (same operations, so the same bits as the numpy path).
        xs, cs, fac, bs, ws, rho = self._x, self._c, self._fac, self._b, self._w, self.rho
        P, g = self.P_l, self.g_l
        Pj, gj, xj, cj = P[j], g[j], xs[j], cs[j]
        base = self._fc(j, xj, cj)
        cur: dict[int, float] = {}  # current cost of each candidate's facility
        of_class = self.opt.of_class
        out = []
        for r in cands:
            o = of_class(r).get(j)
            if o is None:
                continue
            add = INF
            for _, bzv, bwv in o:
                need = (xj + bzv) / rho
                n = math.ceil(need - TOL * (need if need > 1.0 else 1.0))
                v = (Pj * (n if n > 1 else 1.0) + gj - base) + bwv
                if v < add:
                    add = v
            i0 = fac[r]
            if rem is not None and i0 != stale:
                rr = rem[r]
            else:
                c0 = cs[i0]
                now = cur.get(i0)
                if now is None:
                    now = cur[i0] = self._fc(i0, xs[i0], c0)
                if c0 > 1:
                    need = (xs[i0] - bs[r]) / rho
                    n = math.ceil(need - TOL * (need if need > 1.0 else 1.0))
                    rr = (P[i0] * (n if n > 1 else 1.0) + g[i0] - now) - ws[r]
                else:
                    rr = (0.0 - now) - ws[r]
            if rr + add < 0:
                out.append(r)
        return out

    def _pull(self, j: int, cands: np.ndarray, rem: list[float] | None = None, stale: int = -1) -> float:
        """Move each candidate class to (open) facility j when that strictly lowers the cost; total delta.

        A pass against the current state keeps only candidates that gain on their own
        (:meth:`_pull_filter`, which takes ``rem`` and ``stale``); each survivor is then re-checked
        exactly, in order, against the state its predecessors left.
        """
        total = 0.0
        fac = self._fac
        cands = self._pull_filter(j, [r for r in cands.tolist() if fac[r] != j], rem, stale)
        fc, xs, cs = self._fc, self._x, self._c
        for r in cands:
            i0 = fac[r]
            if i0 == j:
                continue
            o = self.opt.of_class(r).get(j)
            if o is None:
                continue
            b0 = self._b[r]
            x0, c0 = xs[i0], cs[i0]
            rem_r = fc(i0, x0 - b0, c0 - 1) - fc(i0, x0, c0) - self._w[r]
            xj, cj = xs[j], cs[j]
            base = fc(j, xj, cj)
            best, best_d = INF, -1
            for d, bzv, bwv in o:
                v = fc(j, xj + bzv, cj + 1) - base + bwv
                if v < best:
                    best, best_d = v, d
            delta = rem_r + best
            if delta < -1e-12:
                self._apply_remove(r)
                self._apply_add(r, j, best_d)
                total += delta
        return total

    def _rem_all(self) -> np.ndarray:
        """[R] exact cost change [$] of taking each class off its facility (vectorised :meth:`_remove_delta`)."""
        i0 = self.fac
        return (self.fac_cost(self.x[i0] - self.b, self.c[i0] - 1, i0)
                - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w

    def _pull_candidates(self, j: int, rem: np.ndarray | None = None) -> np.ndarray:
        """Classes that can use facility j, best approximate saving first (``rem``: :meth:`_rem_all` of
        the current state, if the caller has it)."""
        rows = np.flatnonzero(self.ok_any[:, j] & (self.fac != j))
        if rows.size == 0:
            return rows
        if rem is None:
            i0 = self.fac[rows]
            rem = (self.fac_cost(self.x[i0] - self.b[rows], self.c[i0] - 1, i0)
                   - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w[rows]
        else:
            rem = rem[rows]
        approx = self.opt.approx(self.P, self.rho)[rows, j]
        return rows[np.argsort(rem + approx, kind="stable")]

    def open_pass(self, candidates: int = 20, seeds: int = 3) -> bool:
        """Open a closed facility: move one seed class there, then pull every class that gains; accept
        if the whole composite lowers the cost.  True if a facility was opened."""
        closed = np.flatnonzero((self.c == 0) & self.ok_any.any(axis=0))
        if closed.size == 0:
            return False
        rem = self._rem_all()
        rem_l = rem.tolist()
        approx = self.opt.approx(self.P, self.rho)[:, closed]  # [R, J]
        gain = rem[:, None] + approx  # [R, J]
        score = np.where(gain < 0, gain, 0.0).sum(axis=0) + self.g[closed] + np.min(gain, axis=0)
        eps = self._eps()
        for jj in np.argsort(score, kind="stable")[:candidates].tolist():
            if not np.isfinite(score[jj]):
                break
            j = int(closed[jj])
            cands = self._pull_candidates(j, rem)
            for seed in cands[:seeds].tolist():
                saved = self._snapshot()
                i_s = self._fac[seed]
                total = self._move_to(seed, j)
                # Only facilities i_s and j changed since ``rem`` was computed, and no candidate is on j.
                total += self._pull(j, cands, rem_l, i_s)
                if total < -eps:
                    self.moves["open"] += 1
                    return True
                self._restore(saved)
        return False

    def shed_pass(self) -> bool:
        """Free one instance of a facility: move its classes (cheapest exact relocation first, each to its
        best other open option) until it needs one instance fewer; accept if the composite gains."""
        eps = self._eps()
        for a in np.flatnonzero(self.c > 1).tolist():
            members = np.flatnonzero(self.fac == a).tolist()
            n_now = self._ns(self._x[a])
            allowed = self.c > 0
            allowed[a] = False
            facs = np.flatnonzero(allowed).tolist()
            costs = []
            xa = self._x[a]
            for r in members:
                costs.append(self._best_add(r, facs)[0] - self._w[r])
                # The cost is that of r taken off a (a is not in facs, so its load does not enter);
                # the take-off-and-put-back round trip on x[a] is kept for bit-identical results.
                xa = (xa - self._b[r]) + self._b[r]
            self._x[a] = self.x[a] = xa
            order = np.argsort(costs, kind="stable").tolist()
            saved = self._snapshot()
            total = 0.0
            for k in order:
                if not math.isfinite(costs[k]):
                    continue
                r = members[k]
                dr = self._remove_delta(r)
                self._apply_remove(r)
                v, j, e = self._best_add(r, facs)
                self._apply_add(r, j, e)
                total += dr + v
                if self._c[a] == 0 or self._ns(self._x[a]) < n_now:
                    break
            if total < -eps:
                self.moves["shed"] += 1
                return True
            self._restore(saved)
        return False

    def force_close(self, i: int) -> bool:
        """Close facility i whatever it costs (a kick); False if some class has nowhere else to go."""
        members = np.flatnonzero(self.fac == i)
        saved = self._snapshot()
        for r in members.tolist():
            self._apply_remove(r)
        allowed = self.c > 0
        allowed[i] = False
        facs = np.flatnonzero(allowed).tolist()
        for r in members[np.argsort(-self.b[members], kind="stable")].tolist():
            v, j, e = self._best_add(r, facs)
            if v == INF:
                self._restore(saved)
                return False
            self._apply_add(r, j, e)
        return True

    def kick_search(self, max_kicks: int = 200) -> None:
        """Iterated local search: from the best plan, force-close each open facility in turn and re-run
        the local search; keep any strictly better result, until no kick improves (deterministic)."""
        self.run()
        best, best_state = self.total(), self._snapshot()
        kicks = 0
        improved = True
        while improved and kicks < max_kicks and not self._late():
            improved = False
            for i in np.flatnonzero(best_state[5] > 0).tolist():
                if kicks >= max_kicks or self._late():
                    break
                kicks += 1
                self._restore(tuple(a.copy() for a in best_state))
                if not self.force_close(i):
                    continue
                self.run()
                if self.total() < best - self._eps():
                    best, best_state = self.total(), self._snapshot()
                    self.moves["kick"] += 1
                    improved = True
                    break
        self._restore(best_state)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Local search to a fixpoint of all moves; returns (facility, data) per class."""
        for _ in range(self.max_rounds):
            self.relocate_pass()
            if self._late():
                break
            if self.close_pass() or self.shed_pass() or self.open_pass() or self.swap_pass():
                continue
            break
        return self.fac.copy(), self.dat.copy()
