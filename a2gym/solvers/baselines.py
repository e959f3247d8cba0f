"""Simple baselines (formulation §9): per-request cheapest and a seeded random feasible plan."""

from __future__ import annotations

import numpy as np

from a2gym.costmodel import CostModel


def per_request_cheapest(cm: CostModel) -> np.ndarray:
    """PRC: each class its cheapest feasible (facility, d*) by C_{r,i} (bandwidth + pay-per-use compute
    [$ per epoch]), ignoring the fixed instance cost; whatever is used is opened.  Ties: lower index."""
    return np.argmin(cm.C, axis=1)


def random_plan(cm: CostModel, rng: np.random.Generator) -> np.ndarray:
    """Each class a uniformly random feasible facility (served with d*)."""
    feas = cm.fac_feasible
    u = rng.random(feas.shape)
    return np.argmax(np.where(feas, u, -1.0), axis=1)
