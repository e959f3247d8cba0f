"""A leaderboard policy to copy: the README's walkthrough evaluates it as it stands.

    a2gym eval --policy examples/leaderboard_policy.py:make --suite a2-val-v1 --env a2gym/Placement-v0 \\
        --name my-policy --not-trained-on-test --out runs/val.jsonl

The contract (``leaderboard/SUBMISSION.md``): ``make(ctx)`` is called once per episode with an
:class:`a2gym.heuristics.PolicyContext` (the env id and kwargs, the spaces, a copy of the scenario, the
episode's seed as the only randomness) and returns ``policy(obs, info) -> action``. The policy never gets
the env; it runs in a worker process of its own, and every action it returns must be one the env's
``info["action_mask"]`` allows (the suites refuse masked actions).

This one consolidates: each request class goes to the facility (region, model, instance type) that minimises
its assignment cost plus the facility's fixed cost shared among the classes for which that facility is
within 10% of their cheapest, so that classes gather on fewer facilities. It plays Placement-v0 and
Scheduling-v0 through the library's target-to-action adaptor (:func:`a2gym.heuristics.target_policy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2gym.costmodel import CostModel
from a2gym.heuristics import PolicyContext, target_policy
from a2gym.scenario import Scenario

NEAR = 1.10
"""A facility counts as a near-cheapest option of a class within this factor of the class's cheapest."""


def consolidated_target(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(facility per class, data version per class): argmin_i C[r, i] + F[i] / (classes near-cheapest
    at i)."""
    cm = CostModel.of(scenario)
    best = cm.C.min(axis=1, keepdims=True)
    near = np.isfinite(cm.C) & (best * NEAR >= cm.C)
    sharers = np.maximum(near.sum(axis=0), 1)
    fac = np.argmin(cm.C + cm.F / sharers, axis=1)
    return fac, cm.dstar[np.arange(scenario.n_classes), fac]


def make(ctx: PolicyContext) -> Any:
    """The policy of one episode (Placement-v0 and Scheduling-v0)."""
    if ctx.kind not in ("placement", "scheduling"):
        raise ValueError(f"this example plays Placement-v0 and Scheduling-v0, not {ctx.env_id}")
    return target_policy(ctx, consolidated_target)
