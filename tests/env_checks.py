"""The reusable "does not smoke" checker every env test calls, and small episode helpers."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

import a2gym  # noqa: F401  (registers the envs)
from a2gym.envs.registration import SPECS, spec_of

# Small generated scenarios keep the env tests fast (sizes: classes, regions, models, data versions, types).
SMALL = "generator://synth-v0/3?classes=12&regions=3&models=3&datas=4&types=2"
SMALL_RESAMPLE = "generator://synth-v0/0?classes=10&regions=3&models=3&datas=4&types=2"
if os.environ.get("A2GYM_TEST_TINY_ENV") == "1":  # tests/test_env_spec.py: a fifth env, one spec
    from a2gym.envs.registration import register_spec
    from tests.tiny_env import SPEC as _TINY

    register_spec(_TINY)
ENV_IDS = tuple(SPECS)
"""Every registered env (its spec): the generic tests run on each."""
GEO_KW = {"n_slots": 6, "slot_minutes": 60.0}


def make(env_id: str, scenario: str = SMALL, **kw: Any) -> gym.Env:
    """gymnasium.make with the small scenario and the spec's ``short_kwargs`` (a short GeoServe day)."""
    return gym.make(env_id, scenario=scenario, **{**spec_of(env_id).short_kwargs, **kw})


def random_action(env: gym.Env, info: dict, rng: np.random.Generator) -> Any:
    """A uniformly random valid action from ``info["action_mask"]`` (a MultiDiscrete space's mask is its
    components' masks one after the other)."""
    mask = info["action_mask"]
    space = env.action_space
    if is_bits(space):
        can = mask.reshape(-1, 2)[:, 1]
        return (can & (rng.random(can.size) < 0.5)).astype(space.dtype)
    if isinstance(space, gym.spaces.MultiDiscrete):
        blocks = np.split(np.asarray(mask, dtype=bool), np.cumsum(space.nvec.reshape(-1))[:-1])
        return np.array([int(rng.choice(np.flatnonzero(m))) for m in blocks], dtype=space.dtype)
    return int(rng.choice(np.flatnonzero(mask)))


def is_bits(space: gym.Space) -> bool:
    """GeoServe's action spaces: one 0/1 decision per facility (MultiDiscrete([2]*I) or MultiBinary(I))."""
    return isinstance(space, gym.spaces.MultiBinary) or (
        isinstance(space, gym.spaces.MultiDiscrete) and bool(np.all(space.nvec == 2)))


def mask_size(space: gym.Space) -> int:
    """Length of an action mask of ``space``: one entry per action, or per value of each component."""
    if isinstance(space, gym.spaces.MultiBinary):
        return 2 * int(np.prod(space.shape))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return int(space.nvec.sum())
    return int(space.n)


def check_info(env: gym.Env, info: dict) -> None:
    """``info`` has finite dollars and a valid, non-empty mask that equals ``action_masks()``."""
    assert np.isfinite(info["cost"]) and info["cost"] >= 0
    mask = info["action_mask"]
    assert mask.dtype == bool and mask.any()
    assert mask.shape == (mask_size(env.action_space),)
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
    assert not info.get("violations") or spec_of(env.spec.id).violations
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
