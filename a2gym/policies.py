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

import gymnasium as gym

from a2gym.rollout import Policy


def reference_policy(env: gym.Env, mode: str | None = None) -> Policy:
    """The reference solver as a policy for ``env``: the ``reference`` of the env's
    :class:`~a2gym.envs.spec.EnvSpec` (found from ``env.unwrapped``'s class), A2-Greedy's plan turned into
    actions by the env's one target-to-action adaptor, ``env.unwrapped.target_action(plan)``.

    Placement-v0: open A2-Greedy's open facilities in index order (skipping masked ones), then STOP.
    Scheduling-v0: each class gets the (k, m, d, h) of the greedy plan.
    GeoServe-v0: ``mode="myopic"`` (default) deploys A2-Greedy's open set for the last slot's observed
    demand; ``mode="oracle"`` for the true demand of the slot being decided.
    GeoServeCapacity-v0: ``mode="target-tracking"`` (default; the env's normaliser), ``"reactive"``,
    ``"forecast"``, ``"oracle"`` or ``"hindsight"`` (:func:`a2gym.envs.geoserve_capacity.policy.make_policy`).
    """
    from a2gym.envs.registration import spec_of_env

    base = env.unwrapped
    spec = spec_of_env(base)
    if spec is None:
        raise TypeError(f"no reference policy for {type(base).__name__}")
    return spec.reference_policy(base, mode)


def geoserve_lower_bound(env: gym.Env, time_limit: float | None = None) -> float:
    """Σ over the episode's slots of ``a2gym.lower_bound`` on that slot's true demand [$ per day].

    Each slot is bounded on the slot-scaled scenario with deployment cost g = 0 (GeoServe pays g only when
    a facility is newly deployed), so the sum is a floor for any policy that serves all demand; it ignores
    cold starts and SLO penalties.  Call after ``reset`` (it uses that episode's demand).
    """
    from a2gym.envs.geoserve.env import slot_lower_bound

    base = env.unwrapped
    return float(sum(slot_lower_bound(base.scenario, base.slot_hours, base.rates[t + 1], time_limit)
                     for t in range(base.n_slots)))


__all__ = ["Policy", "geoserve_lower_bound", "reference_policy"]
