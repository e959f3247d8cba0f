"""The skeleton the two GeoServe envs share: an episode is a day of demand slots, drawn at reset."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from a2gym.envs.base import A2Env
from a2gym.envs.demand import DemandModel


class SlottedEnv(A2Env):
    """An :class:`A2Env` whose episode is ``n_slots`` decisions over one day of demand.

    ``reset`` sets the scenario up, draws the day's request rates ``rates`` [req/s, slots + 1, R] from the
    env's :class:`~a2gym.envs.demand.DemandModel` with the env's seeded RNG, then starts the episode
    (:meth:`_start_episode`, the env's own per-episode state) and A2Env's bookkeeping. GeoServe-v0 and
    GeoServeCapacity-v0 differ in that state and in how ``step`` runs a slot, not in this skeleton nor in
    the step's result (:meth:`_slot_result`).
    """

    demand: DemandModel
    rates: np.ndarray
    slot_no: int
    n_slots: int
    _cleared: int

    @abc.abstractmethod
    def _start_episode(self) -> None:
        """Reset the env's per-episode state (slot counter, deployments or fleet, running totals)."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._setup(self._choose_scenario(options))
        self.rates = self.demand.episode(self.scenario, self.np_random)
        self._start_episode()
        self._begin_episode()
        return self._observation(), self._info()

    def demand_of_next_slot(self) -> np.ndarray:
        """True rates [req/s, R] of the slot the next action is for (the oracle reference's input)."""
        return self.rates[min(self.slot_no, self.n_slots - 1) + 1].copy()

    def _slot_result(self, slot_cost: float) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``step``'s return once a slot has run and ``slot_no`` moved on: the reward of the slot's cost
        ``slot_cost`` [$] (minus the invalid-action penalty if a masked part of the action was cleared), and
        the end of the day after ``n_slots`` slots (then a reset is needed)."""
        reward = float(self.reward_fn(0.0, slot_cost, self.reference_cost))
        if self._cleared and self.invalid_rule.penalty:
            reward -= self.invalid_rule.penalty
        done = self.slot_no >= self.n_slots
        if done:
            self._needs_reset = "the day is over"
        return self._observation(), reward, done, False, self._info()
