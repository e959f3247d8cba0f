"""The relocate move of the local search: one class to its best other (facility, data version)."""

from __future__ import annotations

import numpy as np

from a2gym.solvers.localsearch.state import INF, AssignmentState


class RelocateMoves(AssignmentState):
    """Relocation: all classes' exact deltas in one vectorised pass, applied best-first and re-checked."""

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

