"""Registers the a2gym envs in Gymnasium's ``a2gym`` namespace (idempotent)."""

from __future__ import annotations

import gymnasium as gym

from a2gym.envs.base import DEFAULT_SCENARIO, MAX_EPISODE_STEPS

ENVS = {
    "a2gym/Placement-v0": ("a2gym.envs.sets_envs:make_placement", "a2gym.envs.placement:PlacementVectorEnv"),
    "a2gym/Scheduling-v0": ("a2gym.envs.sets_envs:make_scheduling",
                            "a2gym.envs.scheduling:SchedulingVectorEnv"),
    "a2gym/GeoServe-v0": ("a2gym.envs.geoserve:GeoServeEnv", None),
    "a2gym/GeoServeCapacity-v0": ("a2gym.envs.geoserve_v1.env:GeoServeCapacityEnv", None),
}

LEGACY_IDS: dict[str, tuple[str, dict[str, str]]] = {
    "a2gym/GeoServe-v1": ("a2gym/GeoServeCapacity-v0", {"normaliser": "reactive"}),
}
"""Ids that were registered once and are no longer (so Gymnasium does not call their namesakes out of date):
old id -> (the id and the kwargs that make the same env). ``a2gym/GeoServe-v1`` was the capacity problem
with the reactive re-solve as its normaliser; it is not a newer GeoServe-v0, so it moved to its own name
(0.2.0). The leaderboard maps these ids when it replays or re-executes a record
(:func:`resolve_env_id`); ``gymnasium.make`` does not know them."""


def resolve_env_id(env_id: str, kwargs: dict | None = None) -> tuple[str, dict]:
    """(registered id, make kwargs) for ``env_id``, mapping a :data:`LEGACY_IDS` id to its successor
    (its kwargs first, so a record's own kwargs still win)."""
    kwargs = dict(kwargs or {})
    if env_id in LEGACY_IDS:
        new_id, extra = LEGACY_IDS[env_id]
        return new_id, {**extra, **kwargs}
    return env_id, kwargs


def register_envs() -> None:
    """Register every a2gym env id once; calling it again changes nothing."""
    for env_id, (entry, vector_entry) in ENVS.items():
        if env_id in gym.registry:
            continue
        gym.register(id=env_id, entry_point=entry, vector_entry_point=vector_entry,
                     max_episode_steps=MAX_EPISODE_STEPS, kwargs={"scenario": DEFAULT_SCENARIO})
