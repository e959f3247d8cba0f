"""The facility moves of the local search: close, swap, pull/open, shed and the kick's force-close."""

from __future__ import annotations

import math

import numpy as np

from a2gym.costmodel import TOL
from a2gym.solvers.localsearch.relocate import RelocateMoves
from a2gym.solvers.localsearch.state import INF, PULL_SCALAR_MAX


class FacilityMoves(RelocateMoves):
    """Moves that change which facilities are open (each accepted only on a strict cost decrease)."""

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

