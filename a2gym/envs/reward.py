"""Rewards: the negative cost increment of a step, normalised by the scenario's reference cost.

Each env reports its cost so far in dollars (``info["cost"]``); a reward object turns the change of that
cost into a reward. The normaliser (``ref``) is the cost the reference solver's own actions reach in the
env, computed once per scenario by the env (:func:`a2gym.cache.cached_on`, re-exported here), so an episode's
return is
``-final_cost / ref`` and a perfect copy of the reference returns -1.0.
"""

from __future__ import annotations

from typing import Any

from a2gym.cache import cached_on
from a2gym.scenario import Scenario

__all__ = ["REWARDS", "DollarReward", "NormalisedCostReward", "cached_on", "greedy_plan", "make_reward",
           "plan_reference"]


class NormalisedCostReward:
    """r_t = -(cost_t - cost_{t-1}) / ref  (dimensionless; default of every env)."""

    name = "normalised"

    def __call__(self, cost_before: Any, cost_after: Any, ref: Any) -> Any:
        return -(cost_after - cost_before) / ref


class DollarReward:
    """r_t = -(cost_t - cost_{t-1})  [$]; the normaliser is ignored (raw-cost experiments)."""

    name = "dollars"

    def __call__(self, cost_before: Any, cost_after: Any, ref: Any) -> Any:
        del ref
        return -(cost_after - cost_before)


REWARDS: dict[str, type] = {"normalised": NormalisedCostReward, "dollars": DollarReward}


def make_reward(reward: str | Any) -> Any:
    """A reward object from its name (``"normalised"``, ``"dollars"``) or a callable passed through."""
    if isinstance(reward, str):
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r} (known: {', '.join(REWARDS)})")
        return REWARDS[reward]()
    if not callable(reward):
        raise ValueError(
            f"reward must be a name or a callable (cost_before, cost_after, ref), got {reward!r}"
        )
    return reward


def greedy_plan(scenario: Scenario):
    """A2-Greedy's integral plan (the reference solver, ``split=False``), computed once per scenario.

    The envs serve every class whole, so their reference is A2-Greedy without the final split polish
    (which may divide a class between facilities, something no env action can express).
    """
    from a2gym.solvers import solve  # deferred: importing the envs must not load the solvers (PuLP)

    return cached_on(scenario, "greedy_plan", lambda: solve(scenario, "greedy", split=False).plan)


def plan_reference(env: Any, mode: str | None = None) -> Any:
    """The reference of an env with one plan per epoch (Placement-v0, Scheduling-v0; ``env`` unwrapped):
    A2-Greedy's integral plan (:func:`greedy_plan`) turned into actions by ``env.target_action``."""
    if mode is not None:
        raise ValueError(f"{type(env).__name__} has one reference; mode={mode!r} is not allowed")
    return lambda obs, info: env.target_action(greedy_plan(env.scenario))
