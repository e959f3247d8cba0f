"""Placement-v0's target-to-action adaptor: a target (facility per class) played by opening its facilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.envs.placement.env import open_next
from a2gym.scenario import Scenario


def target_adaptor(action_space: spaces.Space, scenario: Scenario,
                   target: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Callable[[Any, dict], int]:
    """The policy opening the first target facility that ``info["action_mask"]`` allows, then STOP
    (:func:`~a2gym.envs.placement.env.open_next`, the rule of ``PlacementEnv.target_action``); ``target()``
    gives (facility per class, data version per class) and is called on each step."""
    del scenario
    stop = int(action_space.n) - 1  # the last action is STOP

    def placement(obs: Any, info: dict) -> int:
        return open_next(np.unique(target()[0]), info["action_mask"], stop)

    return placement
