"""Serving options of each class: feasible, Pareto-optimal (facility, data version) pairs.

An option (r, i, d) is *dominated* when another feasible data version e at the same facility needs no
more bandwidth dollars and no more busy time (and is strictly better in one, or equal with a lower
index).  Replacing a dominated option by its dominator never raises the cost nor breaks a capacity,
latency or accuracy constraint, so dropping dominated options is exact for the MILP, the LP bounds and
the local search, and it shrinks the models several-fold.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import CostModel


def pareto_mask(cm: CostModel, chunk_elems: int = 4_000_000) -> np.ndarray:
    """[R, I, D] bool: feasible and not dominated at the same facility (computed in class chunks, cached on
    the cost model and keyed by its ``feasible`` array, so a restricted view never reuses its parent's).

    Version e dominates d at facility i = (k, m, h) when e is feasible there, needs no more bandwidth $
    (a function of (r, k)) and no more busy time (a function of (r, m, h)), and is strictly better in
    one of them or equal with a lower index.  The pairwise comparisons are made once per (r, k) and per
    (r, m, h) and combined by broadcasting over [B, K, M·H, E, D].
    """
    return cached_on(cm, "pareto_mask", lambda: _pareto_mask(cm, chunk_elems),
                     depends_on=cm.feasible)


def _pareto_mask(cm: CostModel, chunk_elems: int) -> np.ndarray:
    R, K, M, D, H = cm.shape
    MH = M * H
    feas = cm.feasible.transpose(0, 1, 2, 4, 3).reshape(R, K, MH, D)  # [R, K, M·H, D]
    bw = cm.bw_cost  # [R, K, D]
    bz = cm.busy.transpose(0, 1, 3, 2).reshape(R, MH, D)  # [R, M·H, D]
    lower = np.arange(D)[:, None] < np.arange(D)[None, :]  # [E, D]: e < d
    out = np.zeros((R, K, MH, D), dtype=bool)
    step = max(1, chunk_elems // max(1, K * MH * D * D))
    for s0 in range(0, R, step):
        sl = slice(s0, min(R, s0 + step))
        w, b, f = bw[sl], bz[sl], feas[sl]
        w_le = w[:, :, :, None] <= w[:, :, None, :]  # [B, K, E, D]: w_e <= w_d
        w_st = (w[:, :, :, None] < w[:, :, None, :]) | lower
        b_le = b[:, :, :, None] <= b[:, :, None, :]  # [B, M·H, E, D]
        b_lt = b[:, :, :, None] < b[:, :, None, :]
        dom = (f[:, :, :, :, None] & w_le[:, :, None] & b_le[:, None]
               & (w_st[:, :, None] | b_lt[:, None]))  # [B, K, M·H, E, D]: e dominates d
        out[sl] = f & ~dom.any(axis=3)
    out = out.reshape(R, K * MH, D)
    out.setflags(write=False)
    return out


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """Flat list of allowed options: class r, facility i, data d, bandwidth w [$/epoch], busy b [instances]."""

    r: np.ndarray
    i: np.ndarray
    d: np.ndarray
    w: np.ndarray
    b: np.ndarray

    @classmethod
    def of(cls, cm: CostModel) -> ServingOptions:
        mask = pareto_mask(cm)
        r, i, d = np.nonzero(mask)
        mh = cm.fac_model * cm.shape[4] + cm.fac_type
        R, K, M, D, H = cm.shape
        bz = cm.busy.transpose(0, 1, 3, 2).reshape(R, M * H, D)
        return cls(r=r, i=i, d=d, w=cm.bw_cost[r, cm.fac_region[i], d], b=bz[r, mh[i], d])

    def __len__(self) -> int:
        return len(self.r)
