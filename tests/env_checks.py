"""The reusable "does not smoke" checker every env test calls, and small episode helpers."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import a2gym  # noqa: F401  (registers the envs)

# Small generated scenarios keep the env tests fast (sizes: classes, regions, models, data versions, types).
SMALL = "generator://synth-v0/3?classes=12&regions=3&models=3&datas=4&types=2"
SMALL_RESAMPLE = "generator://synth-v0/0?classes=10&regions=3&models=3&datas=4&types=2"
ENV_IDS = ("a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServe-v0")
GEO_KW = {"n_slots": 6, "slot_minutes": 60.0}


def make(env_id: str, scenario: str = SMALL, **kw: Any) -> gym.Env:
    """gymnasium.make with the small scenario (and a short GeoServe day)."""
    if env_id.endswith("GeoServe-v0"):
        kw = {**GEO_KW, **kw}
    return gym.make(env_id, scenario=scenario, **kw)


def random_action(env: gym.Env, info: dict, rng: np.random.Generator) -> Any:
    """A uniformly random valid action from ``info["action_mask"]``."""
    mask = info["action_mask"]
    if is_bits(env.action_space):
        can = mask.reshape(-1, 2)[:, 1]
        return (can & (rng.random(can.size) < 0.5)).astype(env.action_space.dtype)
    return int(rng.choice(np.flatnonzero(mask)))


def is_bits(space: gym.Space) -> bool:
    """GeoServe's action spaces: one 0/1 decision per facility (MultiDiscrete([2]*I) or MultiBinary(I))."""
    return isinstance(space, gym.spaces.MultiBinary | gym.spaces.MultiDiscrete)


def check_info(env: gym.Env, info: dict) -> None:
    """``info`` has finite dollars and a valid, non-empty mask that equals ``action_masks()``."""
    assert np.isfinite(info["cost"]) and info["cost"] >= 0
    mask = info["action_mask"]
    assert mask.dtype == bool and mask.any()
    space = env.action_space
    n = 2 * int(np.prod(space.shape)) if is_bits(space) else space.n
    assert mask.shape == (n,)
    assert np.array_equal(mask, env.unwrapped.action_masks())


def check_no_smoke(env: gym.Env, seed: int = 0, policy: Any = None, max_steps: int = 10_000) -> float:
    """One episode (random masked actions unless ``policy``): observations in the space, finite rewards,
    valid masks and ``info["cost"]`` every step, return = -final cost / reference cost.  Returns the
    return."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    assert env.observation_space.contains(obs), obs
    check_info(env, info)
    ret = 0.0
    for _ in range(max_steps):
        action = policy(obs, info) if policy is not None else random_action(env, info, rng)
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs), obs
        assert np.isfinite(reward)
        assert np.isfinite(info["cost"])
        ret += reward
        if terminated or truncated:
            break
        check_info(env, info)
    else:
        raise AssertionError(f"episode did not end within {max_steps} steps")
    assert terminated and not truncated
    assert not info.get("violations") or env.spec.id.endswith("GeoServe-v0")
    np.testing.assert_allclose(ret, -info["cost"] / info["reference_cost"], rtol=1e-9)
    return ret


def trajectory(env: gym.Env, seed: int, n_steps: int = 10_000) -> list[tuple]:
    """(action, obs bytes, reward, cost) of a seeded random masked episode."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out: list[tuple] = [(None, obs.tobytes(), 0.0, info["cost"])]
    for _ in range(n_steps):
        a = random_action(env, info, rng)
        obs, r, term, trunc, info = env.step(a)
        out.append((np.asarray(a).tobytes(), obs.tobytes(), r, info["cost"]))
        if term or trunc:
            break
    return out
