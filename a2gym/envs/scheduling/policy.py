"""Scheduling-v0's target-to-action adaptor: each class served at its target (facility, data version)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.envs.scheduling.env import SchedulingTables
from a2gym.scenario import Scenario


def target_adaptor(action_space: spaces.Space, scenario: Scenario,
                   target: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Callable[[Any, dict], int]:
    """The policy serving the current class (``info["class"]``) at its target facility and data version
    (``SchedulingTables.action_of``, the rule of ``SchedulingEnv.target_action``); ``target()`` gives
    (facility per class, data version per class) and is called on each step."""
    del action_space
    tables = SchedulingTables.of(scenario)

    def scheduling(obs: Any, info: dict) -> int:
        fac, data = target()
        r = int(info["class"])
        return tables.action_of(int(fac[r]), int(data[r]))

    return scheduling
