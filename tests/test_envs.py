"""Every a2gym env: API checkers, determinism (also across processes), pickling, vector wrappers, errors."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import a2gym
from a2gym.policies import reference_policy
from tests.env_checks import (
    ENV_IDS,
    GEO_KW,
    SMALL,
    SMALL_RESAMPLE,
    check_no_smoke,
    make,
    random_action,
    sample_valid_actions,
    trajectory,
)
from tests.toy import two_region_toy


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gym_check_env(sample_valid_actions(make(env_id)).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(sample_valid_actions(make(env_id)), warn=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_random_episodes_do_not_smoke(env_id):
    env = make(env_id)
    for seed in range(2):
        check_no_smoke(env, seed=seed)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_resampled_generated_scenarios(env_id):
    env = make(env_id, scenario=SMALL_RESAMPLE, resample=True, max_classes=10)
    names = set()
    for seed in range(3):
        check_no_smoke(env, seed=seed)
        names.add(env.unwrapped.scenario.name)
    assert len(names) == 3  # a fresh scenario per reset ...
    env.reset(seed=1)
    a = env.unwrapped.scenario.name
    env.reset(seed=1)
    assert env.unwrapped.scenario.name == a  # ... drawn from the reset's seed


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id):
    assert trajectory(make(env_id), seed=5) == trajectory(make(env_id), seed=5)


_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {root!r})
from tests.env_checks import make, trajectory
print(hashlib.sha256(repr(trajectory(make({env_id!r}), seed=7)).encode()).hexdigest())
"""


def test_same_seed_same_trajectory_across_processes():
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parents[1])
    for env_id in ENV_IDS:
        here = hashlib.sha256(repr(trajectory(make(env_id), seed=7)).encode()).hexdigest()
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", _SCRIPT.format(root=root, env_id=env_id)],
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == here, env_id


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_mid_episode_continues_identically(env_id):
    env = make(env_id)
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=3)
    for _ in range(2):
        obs, _, _, _, info = env.step(random_action(env, info, rng))
    twin = pickle.loads(pickle.dumps(env))
    rng_twin = np.random.default_rng(rng.bit_generator.state["state"]["state"])
    rng = np.random.default_rng(rng.bit_generator.state["state"]["state"])
    info_twin = info
    while True:
        a, a2 = random_action(env, info, rng), random_action(twin, info_twin, rng_twin)
        obs, r, term, trunc, info = env.step(a)
        obs2, r2, term2, trunc2, info_twin = twin.step(a2)
        assert np.array_equal(obs, obs2) and r == r2 and term == term2 and info["cost"] == info_twin["cost"]
        if term or trunc:
            break


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_vector_wrappers(env_id):
    kw = {"scenario": SMALL, **(GEO_KW if "GeoServe" in env_id else {})}
    for mode in ("sync", "async"):
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, **kw)
        try:
            obs, _ = venv.reset(seed=0)
            assert venv.observation_space.contains(obs)
            for _ in range(3):
                masks = venv.call("action_masks")
                acts = [random_action(venv.envs[0] if mode == "sync" else make(env_id),
                                      {"action_mask": m}, np.random.default_rng(i)) for i, m in enumerate(masks)]
                obs, r, *_ = venv.step(np.stack(acts))
                assert np.all(np.isfinite(r))
        finally:
            venv.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_vec_envs(env_id):
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    for cls in (DummyVecEnv, SubprocVecEnv):
        venv = cls([lambda: make(env_id) for _ in range(2)])
        try:
            venv.reset()
            for _ in range(3):
                masks = venv.env_method("action_masks")
                acts = [random_action(make(env_id), {"action_mask": m}, np.random.default_rng(i))
                        for i, m in enumerate(masks)]
                _, r, _, _ = venv.step(np.stack(acts))
                assert np.all(np.isfinite(r))
        finally:
            venv.close()


def test_out_of_space_and_masked_actions_raise():
    env = make("a2gym/Placement-v0")
    _, info = env.reset(seed=0)
    n = env.action_space.n
    for bad in (n, -1, 1.0, "3", np.array([1, 2])):
        with pytest.raises(a2gym.ActionError, match="action"):
            env.step(bad)
    with pytest.raises(a2gym.ActionError, match="STOP"):
        env.step(n - 1)  # STOP while every class is unserved
    env = make("a2gym/Scheduling-v0", scenario=two_region_toy())
    _, info = env.reset(seed=0)
    assert info["class"] == 0 and not info["action_mask"][0]  # c0 needs accuracy 0.75; "small" has 0.7
    with pytest.raises(a2gym.ActionError, match=r"action 0 \(A/m/cpu with small\) for class c0 is masked off: "
                                                r"accuracy 0.7000 < floor 0.75"):
        env.step(0)
    env = make("a2gym/GeoServe-v0")
    _, info = env.reset(seed=0)
    n = env.action_space.n
    with pytest.raises(a2gym.ActionError, match="not in MultiBinary"):
        env.step(np.zeros(n + 1, dtype=np.int8))
    with pytest.raises(a2gym.ActionError, match="not 0 or 1"):
        env.step(np.full(n, 2, dtype=np.int8))
    env = make("a2gym/GeoServe-v0", scenario=two_region_toy(price_per_hour=np.array([[1.0], [np.nan]])))
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, True, False]  # region B offers no instance
    with pytest.raises(a2gym.ActionError, match=r"action\[1\] = 1 \(deploy B/m/cpu\) is masked off"):
        env.step(np.array([1, 1], dtype=np.int8))


def test_unknown_kwargs_uris_and_options_fail_with_their_name():
    with pytest.raises(TypeError, match="bogus"):
        gym.make("a2gym/Placement-v0", scenario=SMALL, bogus=1)
    with pytest.raises(a2gym.ScenarioError, match="nope"):
        gym.make("a2gym/Scheduling-v0", scenario="scenario://nope")
    with pytest.raises(a2gym.ScenarioError, match="resample"):
        gym.make("a2gym/Placement-v0", scenario=SMALL.replace("generator://synth-v0/3", "scenario://x"),
                 resample=True)
    env = make("a2gym/Placement-v0")
    with pytest.raises(ValueError, match="colour"):
        env.reset(options={"colour": "red"})
    with pytest.raises(a2gym.ScenarioError, match="regions"):  # spaces are fixed: sizes must match
        env.reset(options={"scenario": "generator://synth-v0/3?classes=12&regions=4&models=3&datas=4&types=2"})


def test_reset_option_scenario_switches_scenario():
    env = make("a2gym/Placement-v0")
    other = "generator://synth-v0/9?classes=12&regions=3&models=3&datas=4&types=2"
    env.reset(options={"scenario": other})
    assert env.unwrapped.scenario.uri == other
    check_no_smoke(env)


def test_registration_is_idempotent():
    from a2gym.envs import register_envs

    before = {k: gym.registry[k] for k in ENV_IDS}
    register_envs()
    assert all(gym.registry[k] is before[k] for k in ENV_IDS)
    assert all(gym.registry[k].max_episode_steps for k in ENV_IDS)


@pytest.mark.parametrize("kwargs, name", [
    ({"max_classes": 12.5}, "max_classes"),   # was truncated to 12 by int() (and "12" was accepted)
    ({"max_classes": "12"}, "max_classes"),
    ({"resample": "no"}, "resample"),         # was bool("no") = True: resampling silently on
])
def test_non_integer_max_classes_and_non_bool_resample_are_refused(kwargs, name):
    with pytest.raises(a2gym.ScenarioError, match=name):
        make("a2gym/Placement-v0", **kwargs)


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
@pytest.mark.parametrize("uri", [SMALL, "generator://synth-v0/11?classes=20&regions=4&models=3&datas=4&types=2"])
def test_reference_policy_returns_minus_one(env_id, uri):
    """A perfect copy of the reference returns exactly -1 (the normaliser is what its actions reach)."""
    env = make(env_id, scenario=uri)
    ret = check_no_smoke(env, policy=reference_policy(env))
    assert ret == pytest.approx(-1.0, abs=1e-9)
