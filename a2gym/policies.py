"""Policies that act through ``env.step``: the reference solver (A2-Greedy) replayed as actions.

A policy is a callable ``policy(obs, info) -> action``; it reads ``info["action_mask"]`` and the env it
was made for (``env.unwrapped``: scenario, current class, next slot's demand for the GeoServe oracle).

>>> import gymnasium, a2gym
>>> from a2gym.policies import reference_policy
>>> env = gymnasium.make("a2gym/Placement-v0", scenario="generator://synth-v0/1?classes=8&regions=3")
>>> policy = reference_policy(env)
>>> obs, info = env.reset(seed=0)
>>> done, ret = False, 0.0
>>> while not done:
...     obs, r, done, _, info = env.step(policy(obs, info)); ret += r
>>> round(ret, 9)
-1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from a2gym.envs.reward import greedy_plan

Policy = Callable[[Any, dict], Any]


def reference_policy(env: gym.Env, mode: str | None = None) -> Policy:
    """The reference solver as a policy for ``env``: A2-Greedy's integral plan turned into actions by the
    env's one target-to-action adaptor, ``env.unwrapped.target_action(plan)``.

    Placement-v0: open A2-Greedy's open facilities in index order (skipping masked ones), then STOP.
    Scheduling-v0: each class gets the (k, m, d, h) of the greedy plan.
    GeoServe-v0: ``mode="myopic"`` (default) deploys A2-Greedy's open set for the last slot's observed
    demand; ``mode="oracle"`` for the true demand of the slot being decided.
    GeoServeCapacity-v0: ``mode="target-tracking"`` (default; the env's normaliser), ``"reactive"``,
    ``"forecast"``, ``"oracle"`` or ``"hindsight"`` (:func:`a2gym.envs.geoserve_v1.policy.make_policy`).
    """
    from a2gym.envs.geoserve import GeoServeEnv
    from a2gym.envs.geoserve_v1 import GeoServeCapacityEnv
    from a2gym.envs.placement import PlacementEnv
    from a2gym.envs.scheduling import SchedulingEnv

    base = env.unwrapped
    if isinstance(base, PlacementEnv | SchedulingEnv):
        if mode is not None:
            raise ValueError(f"{type(base).__name__} has one reference; mode={mode!r} is not allowed")
        return lambda obs, info: base.target_action(greedy_plan(base.scenario))
    if isinstance(base, GeoServeCapacityEnv):
        from a2gym.envs.geoserve_v1.policy import make_policy

        return make_policy(base, mode)
    if isinstance(base, GeoServeEnv):
        mode = mode or "myopic"
        if mode not in ("myopic", "oracle"):
            raise ValueError(f"unknown GeoServe reference mode {mode!r} (known: 'myopic', 'oracle')")
        return _geoserve_reference(base, mode)
    raise TypeError(f"no reference policy for {type(base).__name__}")


def _geoserve_reference(env: Any, mode: str) -> Policy:
    from a2gym.envs.geoserve import greedy_slot_plan

    def policy(obs: Any, info: dict) -> np.ndarray:
        rates = info["observed_rates"] if mode == "myopic" else env.demand_of_next_slot()
        plan = greedy_slot_plan(env.scenario, env.slot_hours, rates, env.reference_local_search)
        return env.target_action(plan)

    return policy


def geoserve_lower_bound(env: gym.Env, time_limit: float | None = None) -> float:
    """Σ over the episode's slots of ``a2gym.lower_bound`` on that slot's true demand [$ per day].

    Each slot is bounded on the slot-scaled scenario with deployment cost g = 0 (GeoServe pays g only when
    a facility is newly deployed), so the sum is a floor for any policy that serves all demand; it ignores
    cold starts and SLO penalties.  Call after ``reset`` (it uses that episode's demand).
    """
    from a2gym.envs.geoserve import slot_lower_bound

    base = env.unwrapped
    return float(sum(slot_lower_bound(base.scenario, base.slot_hours, base.rates[t + 1], time_limit)
                     for t in range(base.n_slots)))


__all__ = ["Policy", "geoserve_lower_bound", "reference_policy"]
