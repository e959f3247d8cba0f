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
from a2gym.envs.placement.env import PlacementEnv
from a2gym.envs.scheduling.env import SchedulingEnv

OBSERVATIONS = ("plain", "sets")


def _check_observation(observation: Any) -> None:
    if observation not in OBSERVATIONS:
        raise ValueError(f"observation = {observation!r} must be one of {list(OBSERVATIONS)}")


def make_placement(observation: str = "plain", **kwargs: Any) -> PlacementEnv:
    """``a2gym/Placement-v0``: :class:`PlacementEnv`, or :class:`PlacementSetsEnv` for
    ``observation="sets"``."""
    _check_observation(observation)
    return PlacementSetsEnv(**kwargs) if observation == "sets" else PlacementEnv(**kwargs)


def make_scheduling(observation: str = "plain", **kwargs: Any) -> SchedulingEnv:
    """``a2gym/Scheduling-v0``: :class:`SchedulingEnv`, or :class:`SchedulingSetsEnv` for
    ``observation="sets"``."""
    _check_observation(observation)
    return SchedulingSetsEnv(**kwargs) if observation == "sets" else SchedulingEnv(**kwargs)


def _sets_source_check(args: tuple, kwargs: dict) -> Any:
    """The scenario argument of a sets env, after checking it fits the maxima (and no ``max_classes``)."""
    from a2gym.costmodel import load_scenario
    from a2gym.envs.base import DEFAULT_SCENARIO

    if kwargs.get("max_classes") is not None:
        raise ValueError("max_classes is fixed by observation='sets' (a2gym.envs.sets.MAX_CLASSES)")
    if kwargs.get("action_mask_in_obs"):
        raise ValueError("observation='sets' cannot be combined with action_mask_in_obs=True (use "
                         "action_masks() or info['action_mask'])")
    scenario = args[0] if args else kwargs.get("scenario", DEFAULT_SCENARIO)
    sets.check_sizes(load_scenario(scenario))
    return scenario


class _SetsMixin:
    """What both sets envs share: the make-kwarg record and the step of a padding action."""

    def _sets_finish(self: Any) -> None:
        self._make_kwargs["observation"] = "sets"
        self._make_kwargs.pop("max_classes", None)

    def _padding_step(self: Any, why: Any) -> tuple:
        if self._needs_reset is not None:
            raise self._reset_needed()
        return self._masked_step(why)


class PlacementSetsEnv(_SetsMixin, PlacementEnv):
    """:class:`PlacementEnv` with the sets observation and ``Discrete(MAX_FACILITIES + 1)`` actions (STOP
    last)."""

    observation_mode = "sets"

    def __init__(self, *args: Any, **kwargs: Any):
        scenario = _sets_source_check(args, kwargs)
        super().__init__(*args, **kwargs)
        self.source = sets.AnySizeSource(scenario, resample=self.source.resample)
        self.action_space = spaces.Discrete(sets.MAX_FACILITIES + 1)
        self.observation_space = sets.observation_space(scheduling=False)
        self._sets_finish()

    def _setup(self, scenario: Any) -> None:
        super()._setup(scenario)
        self.n_facilities = self.tables.n_facilities

    @property
    def stop_action(self) -> int:
        return sets.MAX_FACILITIES

    def step(self, action: Any):
        plain = sets.placement_action(action, self.n_facilities)
        if plain < 0:
            return self._padding_step(lambda: sets.padding_message(int(action), self.n_facilities))
        obs, reward, terminated, truncated, info = super().step(plain)
        info["action_mask"] = sets.placement_mask(info["action_mask"], self.n_facilities)
        return obs, reward, terminated, truncated, info

    def target_action(self, target: Any, data: Any = None) -> int:
        return self.padded_action(super().target_action(target, data))

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


class SchedulingSetsEnv(_SetsMixin, SchedulingEnv):
    """:class:`SchedulingEnv` with the sets observation and the pointer action a = i·MAX_DATA_VERSIONS + d."""

    observation_mode = "sets"

    def __init__(self, *args: Any, **kwargs: Any):
        scenario = _sets_source_check(args, kwargs)
        super().__init__(*args, **kwargs)
        self.source = sets.AnySizeSource(scenario, resample=self.source.resample)
        self.action_space = spaces.Discrete(sets.MAX_FACILITIES * sets.MAX_DATA_VERSIONS)
        self.observation_space = sets.observation_space(scheduling=True)
        self._sets_finish()

    def step(self, action: Any):
        plain = sets.scheduling_action(self, action)
        if plain < 0:
            return self._padding_step(lambda: sets.scheduling_padding_message(self, int(action)))
        obs, reward, terminated, truncated, info = super().step(plain)
        info["action_mask"] = sets.scheduling_mask(self, info["action_mask"])
        return obs, reward, terminated, truncated, info

    def target_action(self, target: Any, data: Any = None) -> int:
        return self.padded_action(super().target_action(target, data))

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
