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
"""

from __future__ import annotations

import math
import time

import numpy as np

from a2gym.costmodel import TOL, CostModel
from a2gym.solvers.options import pareto_mask


class LocalSearch:
    """Incremental true-cost evaluator and the moves above for one (possibly restricted) cost model."""

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
        self.max_rounds = max_rounds
        self.deadline = deadline  # time.perf_counter() value after which no new pass starts
        self.stopped_early = False
        self.fac = np.asarray(facility, dtype=np.int64).copy()
        self.dat = np.asarray(data, dtype=np.int64).copy()
        r = np.arange(R)
        self.b = self.bz[r, self.mh[self.fac], self.dat]  # busy of each class at its option
        self.w = self.bw[r, self.kf[self.fac], self.dat]  # bandwidth $ of each class at its option
        self.x = np.bincount(self.fac, weights=self.b, minlength=self.nI)
        self.c = np.bincount(self.fac, minlength=self.nI).astype(np.int64)
        self.moves = {"relocate": 0, "close": 0, "shed": 0, "swap": 0, "open": 0, "kick": 0}

    # ----------------------------------------------------------------- costs
    def _n(self, x: np.ndarray) -> np.ndarray:
        need = x / self.rho
        return np.maximum(1, np.ceil(need - TOL * np.maximum(1.0, need)))

    def fac_cost(self, x: np.ndarray, c: np.ndarray, i: np.ndarray) -> np.ndarray:
        """$ per epoch of facilities ``i`` carrying load ``x`` [busy instances] for ``c`` classes."""
        return np.where(c > 0, self.P[i] * self._n(x) + self.g[i], 0.0)

    def total(self) -> float:
        """Current true cost [$ per epoch]."""
        i = np.arange(self.nI)
        return float(self.fac_cost(self.x, self.c, i).sum() + self.w.sum())

    def _options(self, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Busy [I, D], bandwidth $ [I, D] and allowed mask [I, D] of class r."""
        return self.bz[r][self.mh], self.bw[r][self.kf], self.ok[r]

    def _remove_delta(self, r: int) -> float:
        i = self.fac[r]
        x, c = self.x[i], self.c[i]
        before = self.fac_cost(np.array(x), np.array(c), i)
        after = self.fac_cost(np.array(x - self.b[r]), np.array(c - 1), i)
        return float(after - before) - float(self.w[r])

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

    def _apply_remove(self, r: int) -> None:
        i = self.fac[r]
        self.x[i] -= self.b[r]
        self.c[i] -= 1
        if self.c[i] == 0:
            self.x[i] = 0.0

    def _apply_add(self, r: int, i: int, d: int) -> None:
        self.fac[r], self.dat[r] = i, d
        self.b[r] = self.bz[r, self.mh[i], d]
        self.w[r] = self.bw[r, self.kf[i], d]
        self.x[i] += self.b[r]
        self.c[i] += 1

    def _late(self) -> bool:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.stopped_early = True
        return self.stopped_early

    def _eps(self) -> float:
        return 1e-9 * max(1.0, abs(self.total()))

    # ----------------------------------------------------------------- moves
    def _batch_relocate_deltas(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best relocation (delta $, facility, data) of each class in ``rows`` against the current state."""
        i0 = self.fac[rows]
        b0 = self.b[rows]
        xi, ci = self.x[i0], self.c[i0]
        rem = (self.fac_cost(xi - b0, ci - 1, i0) - self.fac_cost(xi, ci, i0)) - self.w[rows]
        same = np.arange(self.nI)[None, :] == i0[:, None]  # [B, I]
        X = self.x[None, :] - np.where(same, b0[:, None], 0.0)
        Cn = self.c[None, :] - same
        iI = np.arange(self.nI)[None, :]
        old = self.fac_cost(X, Cn, iI)[:, :, None]
        bz = self.bz[rows][:, self.mh, :]  # [B, I, D]
        bw = self.bw[rows][:, self.kf, :]
        new = self.fac_cost(X[:, :, None] + bz, Cn[:, :, None] + 1, iI[:, :, None])
        delta = rem[:, None, None] + (new - old) + bw
        ok = self.ok[rows].copy()
        ok[np.arange(len(rows)), i0, self.dat[rows]] = False
        delta = np.where(ok, delta, np.inf).reshape(len(rows), -1)
        j = np.argmin(delta, axis=1)
        return delta[np.arange(len(rows)), j], j // self.D, j % self.D

    def relocate_pass(self) -> bool:
        """Apply improving single-class relocations to a fixpoint; True if any was applied."""
        any_move = False
        chunk = max(1, int(4_000_000 // max(1, self.nI * self.D)))
        for _ in range(self.max_rounds):
            if self._late():
                break
            eps = self._eps()
            cand_d, cand_r = [], []
            for s0 in range(0, self.R, chunk):
                rows = np.arange(s0, min(self.R, s0 + chunk))
                dl, _, _ = self._batch_relocate_deltas(rows)
                keep = dl < -eps
                cand_d.append(dl[keep])
                cand_r.append(rows[keep])
            dl = np.concatenate(cand_d)
            if dl.size == 0:
                break
            moved = False
            for r in np.concatenate(cand_r)[np.argsort(dl, kind="stable")]:
                d1, j1, e1 = self._batch_relocate_deltas(np.array([r]))
                if d1[0] < -eps:
                    self._apply_remove(r)
                    self._apply_add(r, int(j1[0]), int(e1[0]))
                    self.moves["relocate"] += 1
                    moved = any_move = True
            if not moved:
                break
        return any_move

    def _try_close(self, i: int, extra: int | None = None, pull: bool = False) -> bool:
        """Close facility i, reinserting its classes on open facilities (and ``extra`` if given; with
        ``pull``, other classes that gain from ``extra`` then move there too)."""
        members = np.flatnonzero(self.fac == i)
        members = members[np.argsort(-self.b[members], kind="stable")]
        eps = self._eps()
        saved = (self.fac.copy(), self.dat.copy(), self.b.copy(), self.w.copy(), self.x.copy(), self.c.copy())
        total = 0.0
        for r in members:
            total += self._remove_delta(r)
            self._apply_remove(r)
        allowed = self.c > 0
        if extra is not None:
            allowed[extra] = True
        allowed[i] = False
        ok = True
        for r in members:
            add = self._add_deltas(r, allowed)
            j = int(np.argmin(add))
            if not np.isfinite(add.flat[j]):
                ok = False
                break
            total += float(add.flat[j])
            self._apply_add(r, j // self.D, j % self.D)
            if extra is not None:
                allowed[extra] = True
        if ok and pull and extra is not None and self.c[extra] > 0:
            total += self._pull(extra, self._pull_candidates(extra))
        if ok and total < -eps:
            return True
        self.fac, self.dat, self.b, self.w, self.x, self.c = saved
        return False

    def close_pass(self) -> bool:
        """Try to close each open facility once (lightest first); True if any was closed."""
        openf = np.flatnonzero(self.c > 0)
        done = False
        for i in openf[np.argsort(self.x[openf], kind="stable")]:
            if self.c[i] > 0 and self._try_close(int(i)):
                self.moves["close"] += 1
                done = True
        return done

    def swap_pass(self, per_facility: int = 3) -> bool:
        """Close each open facility with one closed facility allowed to open in its place (one sweep)."""
        openf = np.flatnonzero(self.c > 0)
        C = self.cm.C
        done = False
        for i in openf[np.argsort(self.x[openf], kind="stable")]:
            if self.c[i] == 0:
                continue
            closed = np.flatnonzero((self.c == 0) & self.ok_any.any(axis=0))
            if closed.size == 0:
                break
            members = np.flatnonzero(self.fac == i)
            host = np.where(np.isfinite(C[np.ix_(members, closed)]), C[np.ix_(members, closed)], np.nan)
            served = np.sum(~np.isnan(host), axis=0)
            score = np.nansum(host, axis=0) + self.cm.F[closed] - 1e-12 * served
            score = np.where(served > 0, score / np.maximum(served, 1), np.inf)
            for j in closed[np.argsort(score, kind="stable")[:per_facility]]:
                if self._try_close(int(i), extra=int(j), pull=True):
                    self.moves["swap"] += 1
                    done = True
                    break
        return done

    def _move_to(self, r: int, j: int) -> float:
        """Move class r to facility j with its best data version there; returns the exact delta [$]."""
        only = np.zeros(self.nI, dtype=bool)
        only[j] = True
        dr = self._remove_delta(r)
        self._apply_remove(r)
        add = self._add_deltas(r, only)[j]
        e = int(np.argmin(add))
        self._apply_add(r, j, e)
        return dr + float(add[e])

    def _fc(self, i: int, x: float, c: int) -> float:
        """Scalar :meth:`fac_cost` (hot path of the pull and open moves)."""
        if c <= 0:
            return 0.0
        need = x / self.rho
        n = max(1.0, math.ceil(need - TOL * max(1.0, need)))
        return float(self.P_l[i] * n + self.g_l[i])

    def _pull(self, j: int, cands: np.ndarray) -> float:
        """Move each candidate class to (open) facility j when that strictly lowers the cost; total delta.

        A vectorised pass against the current state keeps only candidates that gain on their own; each
        survivor is then re-checked exactly, in order, against the state its predecessors left.
        """
        total = 0.0
        kj, mhj = int(self.kf[j]), int(self.mh[j])
        ok_j = self.ok[:, j, :]
        cands = cands[self.fac[cands] != j]
        if cands.size:
            i0 = self.fac[cands]
            rem = (self.fac_cost(self.x[i0] - self.b[cands], self.c[i0] - 1, i0)
                   - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w[cands]
            add = self.fac_cost(self.x[j] + self.bz[cands, mhj, :], np.full((len(cands), 1), self.c[j] + 1),
                                np.full((len(cands), 1), j)) - self.fac_cost(self.x[j], self.c[j], j)
            add = np.where(ok_j[cands], add + self.bw[cands, kj, :], np.inf).min(axis=1)
            cands = cands[rem + add < 0]
        for r in cands.tolist():
            i0 = int(self.fac[r])
            if i0 == j:
                continue
            ds = np.flatnonzero(ok_j[r])
            if ds.size == 0:
                continue
            b0 = float(self.b[r])
            x0, c0 = float(self.x[i0]), int(self.c[i0])
            rem = self._fc(i0, x0 - b0, c0 - 1) - self._fc(i0, x0, c0) - float(self.w[r])
            xj, cj = float(self.x[j]), int(self.c[j])
            base = self._fc(j, xj, cj)
            best, best_d = math.inf, -1
            for d in ds.tolist():
                v = self._fc(j, xj + float(self.bz[r, mhj, d]), cj + 1) - base + float(self.bw[r, kj, d])
                if v < best:
                    best, best_d = v, d
            delta = rem + best
            if delta < -1e-12:
                self._apply_remove(r)
                self._apply_add(r, j, best_d)
                total += delta
        return total

    def _add_deltas_in_place(self, r: int, allowed: np.ndarray) -> np.ndarray:
        """Like :meth:`_add_deltas` for a class still assigned (its own facility's load excluded)."""
        i0 = self.fac[r]
        self.x[i0] -= self.b[r]
        self.c[i0] -= 1
        try:
            return self._add_deltas(r, allowed)
        finally:
            self.x[i0] += self.b[r]
            self.c[i0] += 1

    def _pull_candidates(self, j: int) -> np.ndarray:
        """Classes that can use facility j, best approximate saving first."""
        rows = np.flatnonzero(self.ok[:, j, :].any(axis=1) & (self.fac != j))
        if rows.size == 0:
            return rows
        i0 = self.fac[rows]
        rem = (self.fac_cost(self.x[i0] - self.b[rows], self.c[i0] - 1, i0)
               - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w[rows]
        bz, bw = self.bz[rows][:, self.mh[j], :], self.bw[rows][:, self.kf[j], :]
        approx = np.where(self.ok[rows, j, :], bw + self.P[j] / self.rho * bz, np.inf).min(axis=1)
        return rows[np.argsort(rem + approx, kind="stable")]

    def _snapshot(self):
        return (self.fac.copy(), self.dat.copy(), self.b.copy(), self.w.copy(), self.x.copy(), self.c.copy())

    def open_pass(self, candidates: int = 20, seeds: int = 3) -> bool:
        """Open a closed facility: move one seed class there, then pull every class that gains; accept
        if the whole composite lowers the cost.  True if a facility was opened."""
        closed = np.flatnonzero((self.c == 0) & self.ok_any.any(axis=0))
        if closed.size == 0:
            return False
        i0 = self.fac
        rem = (self.fac_cost(self.x[i0] - self.b, self.c[i0] - 1, i0)
               - self.fac_cost(self.x[i0], self.c[i0], i0)) - self.w
        per_use = self.P[closed] / self.rho
        bz = self.bz[:, self.mh[closed], :]  # [R, J, D]
        bw = self.bw[:, self.kf[closed], :]
        approx = np.where(self.ok[:, closed, :], bw + per_use[None, :, None] * bz, np.inf).min(axis=2)
        gain = rem[:, None] + approx  # [R, J]
        score = np.where(gain < 0, gain, 0.0).sum(axis=0) + self.g[closed] + np.min(gain, axis=0)
        eps = self._eps()
        for jj in np.argsort(score, kind="stable")[:candidates]:
            if not np.isfinite(score[jj]):
                break
            j = int(closed[jj])
            cands = self._pull_candidates(j)
            for seed in cands[:seeds]:
                saved = self._snapshot()
                total = self._move_to(int(seed), j)
                total += self._pull(j, cands)
                if total < -eps:
                    self.moves["open"] += 1
                    return True
                self.fac, self.dat, self.b, self.w, self.x, self.c = saved
        return False

    def shed_pass(self) -> bool:
        """Free one instance of a facility: move its classes (cheapest exact relocation first, each to its
        best other open option) until it needs one instance fewer; accept if the composite gains."""
        eps = self._eps()
        for a in np.flatnonzero(self.c > 1):
            members = np.flatnonzero(self.fac == a)
            n_now = self._n(np.array(self.x[a]))
            allowed = self.c > 0
            allowed[a] = False
            costs = []
            for r in members:
                add = self._add_deltas_in_place(r, allowed)
                costs.append(float(add.min()) - float(self.w[r]))
            order = members[np.argsort(costs, kind="stable")]
            saved = self._snapshot()
            total = 0.0
            for r in order:
                if not np.isfinite(costs[int(np.flatnonzero(members == r)[0])]):
                    continue
                dr = self._remove_delta(r)
                self._apply_remove(r)
                add = self._add_deltas(r, allowed)
                j = int(np.argmin(add))
                self._apply_add(r, j // self.D, j % self.D)
                total += dr + float(add.flat[j])
                if self.c[a] == 0 or self._n(np.array(self.x[a])) < n_now:
                    break
            if total < -eps:
                self.moves["shed"] += 1
                return True
            self.fac, self.dat, self.b, self.w, self.x, self.c = saved
        return False

    def force_close(self, i: int) -> bool:
        """Close facility i whatever it costs (a kick); False if some class has nowhere else to go."""
        members = np.flatnonzero(self.fac == i)
        saved = self._snapshot()
        for r in members:
            self._apply_remove(r)
        allowed = self.c > 0
        allowed[i] = False
        for r in members[np.argsort(-self.b[members], kind="stable")]:
            add = self._add_deltas(r, allowed)
            j = int(np.argmin(add))
            if not np.isfinite(add.flat[j]):
                self.fac, self.dat, self.b, self.w, self.x, self.c = saved
                return False
            self._apply_add(r, j // self.D, j % self.D)
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
            for i in np.flatnonzero(best_state[5] > 0):
                if kicks >= max_kicks or self._late():
                    break
                kicks += 1
                self.fac, self.dat, self.b, self.w, self.x, self.c = (a.copy() for a in best_state)
                if not self.force_close(int(i)):
                    continue
                self.run()
                if self.total() < best - self._eps():
                    best, best_state = self.total(), self._snapshot()
                    self.moves["kick"] += 1
                    improved = True
                    break
        self.fac, self.dat, self.b, self.w, self.x, self.c = best_state

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

