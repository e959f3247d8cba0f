"""Restricted instances for the paper's baselines (formulation §9, §11.9).

Each restriction is a mask over (r, k, m, d, h) applied to the same cost model
(:meth:`CostModel.restricted`), so one solver runs on the original and the restricted instance and the
cost difference isolates one adaptation dimension.  Plans keep the original indices and are evaluated
on the original scenario.

* ``no-adaptation``: one data version, the highest-fidelity one (largest resolution, then JPEG quality,
  then bytes), and one model, the most accurate on it *among the models that can serve every class with
  that data version somewhere*; placement and instance types are still optimised.  (Insisting on the
  single most accurate model can make tight-SLO classes infeasible; the rule above is the strongest
  no-adaptation system that serves everyone.  When no model qualifies an InfeasibleError names the
  classes that the most accurate model cannot serve.)
* ``model-only``: data fixed at the highest-fidelity version; models, placement and types free.
* ``data-only``: one model (the most accurate that can serve every class with some data version);
  data versions, placement and types free.
* ``local`` (nearest-DC): every class served in its origin region, or, where the origin can host none of
  its feasible options (e.g. a region without instance prices), in the nearest region by RTT that can;
  model, data version and type free.

A class that becomes infeasible under a restriction raises :class:`InfeasibleError` naming it; it is
never dropped.
"""

from __future__ import annotations

import numpy as np

from a2gym.costmodel import CostModel
from a2gym.errors import InfeasibleError

RESTRICTIONS = ("no-adaptation", "model-only", "data-only", "local")


def highest_fidelity_data(cm: CostModel) -> int:
    """Index of the highest-fidelity data version (resolution, then JPEG quality, then bytes)."""
    s = cm.scenario
    return int(np.lexsort((s.data_bytes, s.data_jpeg_quality, s.data_resolution_px))[-1])


def _most_accurate_serving_all(cm: CostModel, data_mask: np.ndarray, what: str) -> int:
    s = cm.scenario
    R, K, M, D, H = cm.shape
    acc = np.where(data_mask[None, :], s.accuracy, -np.inf).max(axis=1)  # [M]
    serves = (cm.feasible & data_mask[None, None, None, :, None]).any(axis=(1, 3, 4))  # [R, M]
    for m in np.argsort(-acc, kind="stable"):
        if serves[:, m].all():
            return int(m)
    best = int(np.argmax(acc))
    bad = tuple(s.classes[r] for r in np.flatnonzero(~serves[:, best]))
    raise InfeasibleError(
        f"restriction {what!r}: no single model can serve every class; the most accurate, "
        f"{s.models[best]}, cannot serve {len(bad)} class(es): {', '.join(bad[:10])}", bad)


def nearest_serving_region(cm: CostModel) -> np.ndarray:
    """Per class: its origin if some feasible option lies there, else the nearest such region by RTT."""
    s = cm.scenario
    K = s.n_regions
    o = s.class_origin
    can = cm.feasible.any(axis=(2, 3, 4))  # [R, K]
    # Rank regions per class by (RTT from the origin, not-the-origin, index): the origin comes first.
    key = s.rtt_ms[o] + np.where(np.arange(K)[None, :] == o[:, None], -np.inf, 0.0)
    rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1)
    return np.argmin(np.where(can, rank, K), axis=1)


def restriction_mask(cm: CostModel, restrict: str) -> tuple[np.ndarray, dict[str, str]]:
    """Mask broadcastable to [R, K, M, D, H] and a description of the fixed choices."""
    s = cm.scenario
    R, K, M, D, H = cm.shape
    if restrict == "local":
        mask = np.zeros((R, K, 1, 1, 1), dtype=bool)
        mask[np.arange(R), nearest_serving_region(cm)] = True
        return mask, {"region": "origin, else the nearest that can serve"}
    dmax = highest_fidelity_data(cm)
    one_d = np.zeros(D, dtype=bool)
    one_d[dmax] = True
    if restrict == "model-only":
        return one_d[None, None, None, :, None], {"data": s.data_versions[dmax]}
    if restrict == "no-adaptation":
        m = _most_accurate_serving_all(cm, one_d, restrict)
        mask = np.zeros((1, 1, M, D, 1), dtype=bool)
        mask[0, 0, m, dmax, 0] = True
        return mask, {"model": s.models[m], "data": s.data_versions[dmax]}
    if restrict == "data-only":
        m = _most_accurate_serving_all(cm, np.ones(D, dtype=bool), restrict)
        mask = np.zeros((1, 1, M, 1, 1), dtype=bool)
        mask[0, 0, m] = True
        return mask, {"model": s.models[m]}
    raise ValueError(restrict)


def restricted_costmodel(cm: CostModel, restrict: str) -> tuple[CostModel, dict[str, str]]:
    """The cost model restricted per ``restrict``; raises InfeasibleError naming classes it cannot serve."""
    mask, info = restriction_mask(cm, restrict)
    view = cm.restricted(mask)
    try:
        view.check_feasible()
    except InfeasibleError as e:
        raise InfeasibleError(f"restriction {restrict!r} ({info}): {e}", e.classes) from None
    return view, info
