"""Placement-v0 and Scheduling-v0 with ``observation="sets"`` (see :mod:`a2gym.envs.sets`).

Each is the plain env (same scenario handling, dollars, rewards and masks) with the padded Dict
observation and the pointer action of :mod:`a2gym.envs.sets`; ``make_placement`` / ``make_scheduling``
are the registered entry points and pick the class from the ``observation`` kwarg.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.envs import sets
from a2gym.envs.placement import PlacementEnv
from a2gym.envs.scheduling import SchedulingEnv

OBSERVATIONS = ("plain", "sets")


def _check_observation(observation: Any) -> None:
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation = {observation!r} must be one of {list(OBSERVATIONS)}")


def make_placement(observation: str = "plain", **kwargs: Any) -> PlacementEnv:
    """``a2gym/Placement-v0``: :class:`PlacementEnv`, or :class:`PlacementSetsEnv` for ``observation="sets"``."""
    _check_observation(observation)
    return PlacementSetsEnv(**kwargs) if observation == "sets" else PlacementEnv(**kwargs)


def make_scheduling(observation: str = "plain", **kwargs: Any) -> SchedulingEnv:
    """``a2gym/Scheduling-v0``: :class:`SchedulingEnv`, or :class:`SchedulingSetsEnv` for ``observation="sets"``."""
    _check_observation(observation)
    return SchedulingSetsEnv(**kwargs) if observation == "sets" else SchedulingEnv(**kwargs)


def _sets_source_check(args: tuple, kwargs: dict) -> Any:
    """The scenario argument of a sets env, after checking it fits the maxima (and no ``max_classes``)."""
    from a2gym.costmodel import load_scenario
    from a2gym.envs.base import DEFAULT_SCENARIO

    if kwargs.get("max_classes") is not None:
        raise ValueError("max_classes is fixed by observation='sets' (a2gym.envs.sets.MAX_CLASSES)")
    scenario = args[0] if args else kwargs.get("scenario", DEFAULT_SCENARIO)
    sets.check_sizes(load_scenario(scenario))
    return scenario


class PlacementSetsEnv(PlacementEnv):
    """:class:`PlacementEnv` with the sets observation and ``Discrete(MAX_FACILITIES + 1)`` actions (STOP last)."""

    observation_mode = "sets"

    def __init__(self, *args: Any, **kwargs: Any):
        scenario = _sets_source_check(args, kwargs)
        super().__init__(*args, **kwargs)
        self.source = sets.AnySizeSource(scenario, resample=self.source.resample)
        self.action_space = spaces.Discrete(sets.MAX_FACILITIES + 1)
        self.observation_space = sets.observation_space(scheduling=False)

    def _setup(self, scenario: Any) -> None:
        super()._setup(scenario)
        self.n_facilities = self.tables.n_facilities

    @property
    def stop_action(self) -> int:
        return sets.MAX_FACILITIES

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = super().step(sets.placement_action(action, self.n_facilities))
        info["action_mask"] = sets.placement_mask(info["action_mask"], self.n_facilities)
        return obs, reward, terminated, truncated, info

    def _info(self) -> dict[str, Any]:
        info = super()._info()
        info["action_mask"] = sets.placement_mask(info["action_mask"], self.n_facilities)
        return info

    def _mask(self) -> np.ndarray:
        return sets.placement_mask(super()._mask(), self.n_facilities)

    def _obs(self) -> dict[str, np.ndarray]:
        return sets.placement_observe(self, super()._obs())

    def padded_action(self, plain_action: int) -> int:
        """The action of this env for a plain Placement action."""
        return sets.placement_padded(plain_action, self.n_facilities)


class SchedulingSetsEnv(SchedulingEnv):
    """:class:`SchedulingEnv` with the sets observation and the pointer action a = i·MAX_DATA_VERSIONS + d."""

    observation_mode = "sets"

    def __init__(self, *args: Any, **kwargs: Any):
        scenario = _sets_source_check(args, kwargs)
        super().__init__(*args, **kwargs)
        self.source = sets.AnySizeSource(scenario, resample=self.source.resample)
        self.action_space = spaces.Discrete(sets.MAX_FACILITIES * sets.MAX_DATA_VERSIONS)
        self.observation_space = sets.observation_space(scheduling=True)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = super().step(sets.scheduling_action(self, action))
        info["action_mask"] = sets.scheduling_mask(self, info["action_mask"])
        return obs, reward, terminated, truncated, info

    def _info(self) -> dict[str, Any]:
        info = super()._info()
        info["action_mask"] = sets.scheduling_mask(self, info["action_mask"])
        return info

    def _mask(self) -> np.ndarray:
        return sets.scheduling_mask(self, super()._mask())

    def _obs(self) -> dict[str, np.ndarray]:
        return sets.scheduling_observe(self, super()._obs())

    def padded_action(self, plain_action: int) -> int:
        """The action of this env for a plain Scheduling action."""
        return sets.scheduling_padded(self, plain_action)
