"""Heuristic policies for the a2gym envs; each is a callable ``policy(obs, info) -> action``.

A heuristic picks a *target facility* per class (then data version d*), and acts through the env's one
target-to-action adaptor, ``env.unwrapped.target_action(targets, data)`` (the reference policy uses it too):

* Placement-v0: open the next target facility that is not masked, then STOP.
* Scheduling-v0: serve the current class (``info["class"]``) at its target with d*.
* GeoServe-v0: deploy the target set in every slot.

``random`` draws uniformly among the valid actions (GeoServe: each deployable facility with probability
½) from ``np.random.default_rng(seed)``.

The paper's baselines (formulation §9) are A2-Greedy on a restricted instance, so each isolates one
adaptation dimension: ``no-adaptation`` (one model, highest-fidelity data), ``model-only`` (data fixed),
``data-only`` (one model) and ``local-greedy`` (every class in its origin region, facilities shared).
Their target is the restricted plan's facility and data version of each class (Scheduling plays both;
Placement opens the restricted plan's facilities and the env routes; GeoServe deploys them every slot).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from a2gym.costmodel import CostModel
from a2gym.envs.reward import cached_on
from a2gym.scenario import Scenario
from a2gym.solvers.baselines import per_request_cheapest

Policy = Callable[[Any, dict], Any]
Target = tuple[np.ndarray, np.ndarray | None]
"""Each class's target facility [R] and data version [R] (None: d*, the env's own choice)."""


def local_targets(scenario: Scenario) -> np.ndarray:
    """Per class: cheapest (by C) facility in the nearest region (by RTT from its origin) able to serve it."""

    def compute() -> np.ndarray:
        cm = CostModel.of(scenario)
        out = np.empty(scenario.n_classes, dtype=np.int64)
        for r in range(scenario.n_classes):
            o = scenario.class_origin[r]
            by_distance = np.lexsort((np.arange(scenario.n_regions) != o, scenario.rtt_ms[o]))
            for k in by_distance:
                c = np.where(cm.fac_region == k, cm.C[r], np.inf)
                if np.isfinite(c).any():
                    out[r] = int(np.argmin(c))
                    break
        return out

    return cached_on(scenario, "baseline_local_targets", compute)


def cheapest_targets(scenario: Scenario) -> np.ndarray:
    """Per class: argmin_i C[r, i], the per-request cheapest facility (opening cost ignored): the solvers'
    :func:`~a2gym.solvers.baselines.per_request_cheapest`."""
    return cached_on(scenario, "baseline_cheapest_targets",
                     lambda: per_request_cheapest(CostModel.of(scenario)))


def restricted_assignment(scenario: Scenario, restrict: str) -> tuple[np.ndarray, np.ndarray]:
    """(facility, data version) per class of ``a2gym.solve(scenario, "greedy", restrict=…, split=False)``."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        from a2gym.solvers import solve

        return solve(scenario, "greedy", restrict=restrict, split=False).plan.assignment(scenario.n_classes)

    return cached_on(scenario, f"baseline_restricted_{restrict}", compute)


PAPER_BASELINES = {"no-adaptation": "no-adaptation", "model-only": "model-only", "data-only": "data-only",
                   "local-greedy": "local"}
"""Policy name -> ``restrict`` argument of :func:`a2gym.solve`."""

TARGETS: dict[str, Callable[[Scenario], Target]] = {
    "local": lambda scn: (local_targets(scn), None),
    "cheapest": lambda scn: (cheapest_targets(scn), None),
    **{name: (lambda scn, r=r: restricted_assignment(scn, r)) for name, r in PAPER_BASELINES.items()},
}
"""Policy name -> each class's target (facility, data version or None) on a scenario."""


def _target_policy(env: Any, targets: Callable[[Scenario], Target]) -> Policy:
    """Act toward the targets through the env's target-to-action adaptor (``env.target_action``)."""

    def policy(obs: Any, info: dict) -> Any:
        return env.target_action(*targets(env.scenario))

    return policy


def _random_policy(env: Any, seed: int | None) -> Policy:
    rng = np.random.default_rng(seed)
    space = env.action_space
    if isinstance(space, gym.spaces.MultiBinary) or (isinstance(space, gym.spaces.MultiDiscrete)
                                                     and np.all(space.nvec == 2)):
        def bits(obs: Any, info: dict) -> np.ndarray:  # GeoServe-v0: (may be 0, may be 1) per facility
            can = info["action_mask"].reshape(-1, 2)[:, 1]
            return (can & (rng.random(can.size) < 0.5)).astype(space.dtype)
        return bits
    if isinstance(space, gym.spaces.MultiDiscrete):
        ends = np.cumsum(space.nvec.reshape(-1))

        def components(obs: Any, info: dict) -> np.ndarray:  # each component: uniform among its valid values
            blocks = np.split(np.asarray(info["action_mask"], dtype=bool), ends[:-1])
            return np.array([int(rng.choice(np.flatnonzero(m))) for m in blocks], dtype=space.dtype)
        return components

    def discrete(obs: Any, info: dict) -> int:
        return int(rng.choice(np.flatnonzero(info["action_mask"])))
    return discrete


POLICIES = ("local", "nearest", "cheapest", "random", *PAPER_BASELINES)


def make_policy(name: str, env: gym.Env, seed: int | None = None) -> Policy:
    """The heuristic ``name`` (one of ``POLICIES``) for ``env`` (any wrapper around an a2gym env)."""
    base = env.unwrapped
    if name == "random":
        return _random_policy(base, seed)
    key = "local" if name == "nearest" else name
    if key not in TARGETS:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICIES)})")
    return _target_policy(base, TARGETS[key])
