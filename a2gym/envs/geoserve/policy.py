"""GeoServe-v0's reference (A2-Greedy re-solved per slot: myopic or oracle) and its target-to-action adaptor
(deploy the target's facilities every slot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.envs.geoserve.env import deploy_bits, greedy_slot_plan
from a2gym.scenario import Scenario

MODES = ("myopic", "oracle")
"""The reference's modes, the default first: A2-Greedy on the last slot's observed demand, or on the true
demand of the slot being decided (privileged)."""


def reference_policy(env: Any, mode: str | None = None) -> Callable[[Any, dict], np.ndarray]:
    """The reference of ``env`` (unwrapped): each slot, deploy A2-Greedy's open set for the last slot's
    observed demand (``mode="myopic"``, the default) or for the true demand of the slot being decided
    (``"oracle"``)."""
    mode = mode or MODES[0]
    if mode not in MODES:
        raise ValueError(f"unknown GeoServe reference mode {mode!r} (known: 'myopic', 'oracle')")

    def policy(obs: Any, info: dict) -> np.ndarray:
        rates = info["observed_rates"] if mode == "myopic" else env.demand_of_next_slot()
        plan = greedy_slot_plan(env.scenario, env.slot_hours, rates, env.reference_local_search)
        return env.target_action(plan)

    return policy


def is_bits(space: spaces.Space) -> bool:
    """Whether ``space`` is one 0/1 decision per facility (MultiBinary, or MultiDiscrete of 2s)."""
    return isinstance(space, spaces.MultiBinary) or (isinstance(space, spaces.MultiDiscrete)
                                                     and bool(np.all(space.nvec == 2)))


def target_adaptor(action_space: spaces.Space, scenario: Scenario,
                   target: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Callable[[Any, dict], np.ndarray]:
    """The policy deploying the target's facilities every slot (:func:`~a2gym.envs.geoserve.env.deploy_bits`,
    the rule of ``GeoServeEnv.target_action``); ``target()`` gives (facility per class, data version per
    class) and is called on each step."""
    del scenario
    if not is_bits(action_space):
        raise ValueError(f"the target heuristics deploy a set of facilities; the action space {action_space} "
                         "is not one bit per facility")
    n_fac = int(np.prod(action_space.shape))

    def geoserve(obs: Any, info: dict) -> np.ndarray:
        return deploy_bits(target()[0], n_fac, action_space.dtype)

    return geoserve
