"""Registers the a2gym envs in Gymnasium's ``a2gym`` namespace (idempotent)."""

from __future__ import annotations

import gymnasium as gym

from a2gym.envs.base import DEFAULT_SCENARIO, MAX_EPISODE_STEPS

ENVS = {
    "a2gym/Placement-v0": ("a2gym.envs.sets_envs:make_placement", "a2gym.envs.placement:PlacementVectorEnv"),
    "a2gym/Scheduling-v0": ("a2gym.envs.sets_envs:make_scheduling",
                            "a2gym.envs.scheduling:SchedulingVectorEnv"),
    "a2gym/GeoServe-v0": ("a2gym.envs.geoserve:GeoServeEnv", None),
    "a2gym/GeoServe-v1": ("a2gym.envs.geoserve_v1.env:GeoServeV1Env", None),
}


def register_envs() -> None:
    """Register every a2gym env id once; calling it again changes nothing."""
    for env_id, (entry, vector_entry) in ENVS.items():
        if env_id in gym.registry:
            continue
        gym.register(id=env_id, entry_point=entry, vector_entry_point=vector_entry,
                     max_episode_steps=MAX_EPISODE_STEPS, kwargs={"scenario": DEFAULT_SCENARIO})
