"""Capacity-env references as policies ``(obs, info) -> action``: the target-tracking autoscaler, the
reactive, forecast and oracle re-solves of :mod:`.reference` and the hindsight MILP of :mod:`.hindsight`.
It sits above both, so neither of them imports the other back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from a2gym.envs.geoserve_capacity.hindsight import solve_hindsight
from a2gym.envs.geoserve_capacity.reference import TargetTracker, forecast_counts, greedy_counts

MODES = ("target-tracking", "reactive", "forecast", "oracle", "hindsight")


def make_policy(env: Any, mode: str | None = None, **hindsight_kw: Any) -> Callable[[Any, dict], np.ndarray]:
    """The capacity-env reference ``mode`` as a policy ``(obs, info) -> action`` for ``env`` (unwrapped):
    ``"target-tracking"`` (:class:`~.reference.TargetTracker`, restarted at slot 0), ``"reactive"``,
    ``"forecast"``, ``"oracle"`` or ``"hindsight"`` (solves the MILP of :mod:`.hindsight` at the first step
    of each episode; ``hindsight_kw`` go to ``solve_hindsight``). The default is the env's normaliser
    (``env.normaliser``: target-tracking on GeoServeCapacity-v0, reactive for GeoServe-v1 records).

    Counts are capped at ``env.max_instances``, the action space's limit (as the hindsight MILP's are): on a
    day whose bursts would need more, the reference keeps the limit and the rest of the demand is unserved
    and penalised, rather than choosing an action outside the space."""
    mode = mode or getattr(env, "normaliser", "reactive")
    if mode not in MODES:
        raise ValueError(
            f"unknown capacity-env reference mode {mode!r} (known: {', '.join(map(repr, MODES))})"
        )
    if hindsight_kw and mode != "hindsight":
        raise ValueError(f"options {sorted(hindsight_kw)} only apply to mode='hindsight'")
    if mode == "hindsight":
        return _hindsight_policy(env, hindsight_kw)
    if mode == "target-tracking":
        held: dict[str, TargetTracker] = {}

        def tracking(obs: Any, info: dict) -> np.ndarray:
            tracker = held.get("t")
            if tracker is None or tracker.scenario is not env.scenario:  # first call, or resampled
                tracker = held["t"] = TargetTracker(env.scenario, env.slot_hours, env.max_instances)
            if int(info["slot"]) == 0:
                tracker.reset()
            return tracker.counts(info["observed_rates"])

        return tracking

    def policy(obs: Any, info: dict) -> np.ndarray:
        if mode == "reactive":
            counts = greedy_counts(env.scenario, env.slot_hours, info["observed_rates"])
        elif mode == "forecast":
            counts = forecast_counts(env, info["observed_rates"])
        else:
            counts = greedy_counts(env.scenario, env.slot_hours, env.demand_of_next_slot())
        return np.minimum(counts, env.max_instances)  # the space's limit, as the hindsight plan's

    return policy


def _hindsight_policy(env: Any, kw: dict) -> Callable[[Any, dict], np.ndarray]:
    state: dict[str, Any] = {"rates": None, "plan": None}

    def policy(obs: Any, info: dict) -> np.ndarray:
        if state["rates"] is not env.rates:  # a new episode: solve its day once
            state["plan"] = solve_hindsight(env, **kw)
            state["rates"] = env.rates
        policy.plan = state["plan"]
        return state["plan"].counts[info["slot"]].copy()

    policy.plan = None
    return policy
