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

from a2gym.costmodel import CostModel


def option_arrays(cm: CostModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bandwidth [$ per epoch] and busy [instances] views [R, I, D], plus the feasible mask [R, I, D]."""
    R, K, M, D, H = cm.shape
    bw = np.broadcast_to(cm.bw_cost[:, :, None, :], (R, K, M * H, D)).reshape(R, K * M * H, D)
    bz = cm.busy.transpose(0, 1, 3, 2).reshape(R, 1, M * H, D)
    bz = np.broadcast_to(bz, (R, K, M * H, D)).reshape(R, K * M * H, D)
    feas = cm.feasible.transpose(0, 1, 2, 4, 3).reshape(R, K * M * H, D)
    return bw, bz, feas


def pareto_mask(cm: CostModel, chunk_elems: int = 2_000_000) -> np.ndarray:
    """[R, I, D] bool: feasible and not dominated at the same facility (computed in class chunks, cached on
    the cost model and keyed by its ``feasible`` array, so a restricted view never reuses its parent's)."""
    cached = cm.__dict__.get("_pareto")
    if cached is not None and cached[0] is cm.feasible:
        return cached[1]
    bw, bz, feas = option_arrays(cm)
    R, nI, D = feas.shape
    out = np.zeros((R, nI, D), dtype=bool)
    step = max(1, chunk_elems // max(1, nI * D))
    for s0 in range(0, R, step):
        sl = slice(s0, min(R, s0 + step))
        f, w, b = feas[sl], np.asarray(bw[sl]), np.asarray(bz[sl])
        keep = f.copy()
        for d in range(D):
            for e in range(D):
                if e == d:
                    continue
                dom = f[:, :, e] & (w[:, :, e] <= w[:, :, d]) & (b[:, :, e] <= b[:, :, d])
                strict = (w[:, :, e] < w[:, :, d]) | (b[:, :, e] < b[:, :, d]) | (e < d)
                keep[:, :, d] &= ~(dom & strict)
        out[sl] = keep
    out.setflags(write=False)
    cm.__dict__["_pareto"] = (cm.feasible, out)
    return out


@dataclasses.dataclass(frozen=True)
class Options:
    """Flat list of allowed options: class r, facility i, data d, bandwidth w [$/epoch], busy b [instances]."""

    r: np.ndarray
    i: np.ndarray
    d: np.ndarray
    w: np.ndarray
    b: np.ndarray

    @classmethod
    def of(cls, cm: CostModel) -> Options:
        mask = pareto_mask(cm)
        r, i, d = np.nonzero(mask)
        mh = cm.fac_model * cm.shape[4] + cm.fac_type
        R, K, M, D, H = cm.shape
        bz = cm.busy.transpose(0, 1, 3, 2).reshape(R, M * H, D)
        return cls(r=r, i=i, d=d, w=cm.bw_cost[r, cm.fac_region[i], d], b=bz[r, mh[i], d])

    def __len__(self) -> int:
        return len(self.r)
