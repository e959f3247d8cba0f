"""The one policy signature and the one episode loop.

A policy is any callable ``policy(obs, info) -> action`` (:class:`Policy`): the reference
(:func:`a2gym.policies.reference_policy`), the heuristics (:mod:`a2gym.heuristics`), a leaderboard entry's
policy, a trained agent wrapped by the scripts. :func:`rollout` plays one episode of a made env with it.

>>> import gymnasium, a2gym
>>> from a2gym.policies import reference_policy
>>> env = gymnasium.make("a2gym/Placement-v0", scenario="generator://synth-v0/1?classes=8&regions=3")
>>> out = rollout(env, seed=0, make=lambda: reference_policy(env))
>>> round(out.return_, 9), out.violations
(-1.0, 0)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Policy(Protocol):
    """``policy(obs, info) -> action``: sees the observation and the step's ``info`` (``action_mask``)."""

    def __call__(self, obs: Any, info: dict) -> Any: ...


@dataclasses.dataclass
class Rollout:
    """One played episode.

    Attributes:
        actions: the policy's actions, in order (as it returned them).
        return_: the sum of the rewards (dimensionless: -cost / reference cost for the default reward).
        info: the last step's ``info`` (``cost`` [$], ``reference_cost`` [$], ``failed``, ...).
        violations: the sum over the steps of :func:`violation_count` of each ``info``.
        policy_s: seconds spent making the policy (``make``) and in its calls [s].
    """

    actions: list[Any]
    return_: float
    info: dict
    violations: int
    policy_s: float

    @property
    def cost(self) -> float:
        """The episode's final cost [$] (``info["cost"]``)."""
        return float(self.info["cost"])


def violation_count(info: Mapping[str, Any]) -> int:
    """SLO violations the env reports in one step's ``info["violations"]`` (a list of them, or a count).

    Placement and Scheduling report the plan's violations once, at the end; GeoServe reports the classes
    left unserved in each slot. A record's ``violations`` is the sum over the episode's steps.
    """
    v = info.get("violations", 0)
    return len(v) if isinstance(v, list | tuple) else int(v)


def rollout(env: Any, policy: Policy | None = None, seed: int | None = None, *,
            make: Callable[[], Policy] | None = None,
            observe: Callable[[Any, dict, Any], None] | None = None) -> Rollout:
    """Reset ``env`` with ``seed`` and step ``policy`` to the end of the episode (terminated or truncated).

    ``make`` (instead of ``policy``) makes the policy right after the reset, timed with its calls (for
    policies that read the episode's state, as the reference does). ``observe(obs, info, action)`` is called
    before each step (what behaviour cloning collects).
    """
    if (policy is None) == (make is None):
        raise ValueError("rollout takes a policy or make, not both or neither")
    obs, info = env.reset(seed=seed)
    t0 = time.perf_counter()
    if make is not None:
        policy = make()
    wall = time.perf_counter() - t0
    actions: list[Any] = []
    ret, violations = 0.0, 0
    while True:
        t0 = time.perf_counter()
        action = policy(obs, info)
        wall += time.perf_counter() - t0
        actions.append(action)
        if observe is not None:
            observe(obs, info, action)
        obs, reward, terminated, truncated, info = env.step(action)
        ret += float(reward)
        violations += violation_count(info)
        if terminated or truncated:
            return Rollout(actions, ret, info, violations, wall)


__all__ = ["Policy", "Rollout", "rollout", "violation_count"]
