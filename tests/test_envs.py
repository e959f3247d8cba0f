"""Every a2gym env: API checkers, determinism (also across processes), pickling, vector wrappers, errors."""

from __future__ import annotations

import hashlib
import pickle
import re
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import a2gym
from a2gym.envs.registration import spec_of
from a2gym.policies import reference_policy
from tests.env_checks import (
    ENV_IDS,
    GEO_KW,
    SMALL,
    SMALL_RESAMPLE,
    check_no_smoke,
    make,
    random_action,
    trajectory,
)
from tests.toy import two_region_toy

DEFAULT = "scenario://paper-default-v0"
CHECK_SCENARIOS = (DEFAULT, SMALL, "generator://synth-v0/11?classes=20&regions=4")


def _checked(env_id: str, scenario: str, seed: int, **kw) -> gym.Env:
    """``gymnasium.make`` with default kwargs (GeoServe: its full 96-slot day) and a seeded action space:
    the checkers step with ``action_space.sample()``, so masked actions come up."""
    env = gym.make(env_id, scenario=scenario, **kw)
    env.action_space.seed(seed)
    return env


@pytest.mark.parametrize("scenario", CHECK_SCENARIOS)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env_with_default_kwargs(env_id, scenario):
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gym_check_env(_checked(env_id, scenario, seed).unwrapped, skip_render_check=True)


@pytest.mark.parametrize("scenario", CHECK_SCENARIOS)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_with_default_kwargs(env_id, scenario):
    from stable_baselines3.common.env_checker import check_env

    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(_checked(env_id, scenario, seed), warn=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_action_mask_in_obs_passes_both_checkers_and_holds_the_mask(env_id):
    from stable_baselines3.common.env_checker import check_env

    env = make(env_id, action_mask_in_obs=True)
    env.action_space.seed(0)
    assert isinstance(env.observation_space, gym.spaces.Dict)
    assert set(env.observation_space.spaces) == {"observations", "action_mask"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gym_check_env(env.unwrapped, skip_render_check=True)
        check_env(env, warn=False)
    plain = make(env_id)
    obs, info = env.reset(seed=4)
    ref_obs, _ = plain.reset(seed=4)
    rng = np.random.default_rng(4)
    for _ in range(200):
        assert env.observation_space.contains(obs)
        assert np.array_equal(obs["observations"], ref_obs)  # today's Box, unchanged
        assert obs["action_mask"].dtype == np.float32
        assert np.array_equal(obs["action_mask"], env.unwrapped.action_masks())
        assert np.array_equal(obs["action_mask"], info["action_mask"])
        a = env.action_space.sample() if rng.random() < 0.3 else random_action(env, info, rng)
        obs, _, term, trunc, info = env.step(a)
        ref_obs, *_ = plain.step(a)
        if term or trunc:
            obs, info = env.reset(seed=5)
            ref_obs, _ = plain.reset(seed=5)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_long_episode_of_unmasked_random_actions_ends_with_finite_values(env_id):
    """The default ``invalid_action="noop"``: ``action_space.sample()`` (masked or not) always ends."""
    for scenario in (DEFAULT, SMALL):
        env = _checked(env_id, scenario, 1)
        obs, info = env.reset(seed=1)
        steps, invalid = 0, 0
        while True:
            obs, r, term, trunc, info = env.step(env.action_space.sample())
            steps += 1
            invalid += info["invalid_action"]
            assert env.observation_space.contains(obs) and np.isfinite(r) and np.isfinite(info["cost"])
            assert info["invalid_actions"] == invalid
            if term or trunc:
                break
            assert steps < 200_000
        assert term and not trunc
        assert invalid > 0 or env.unwrapped.action_masks().all()  # GeoServe: every facility may be deployed


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
    kw = {"scenario": SMALL, **spec_of(env_id).short_kwargs}
    for mode in ("sync", "async"):
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode, **kw)
        try:
            obs, _ = venv.reset(seed=0)
            assert venv.observation_space.contains(obs)
            for _ in range(3):
                masks = venv.call("action_masks")
                one = venv.envs[0] if mode == "sync" else make(env_id)
                acts = [random_action(one, {"action_mask": m}, np.random.default_rng(i))
                        for i, m in enumerate(masks)]
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
    env = make("a2gym/Placement-v0", invalid_action="raise")
    assert env.unwrapped.invalid_action == "raise"
    _, info = env.reset(seed=0)
    n = env.action_space.n
    for bad in (n, -1, 1.0, "3", np.array([1, 2])):
        with pytest.raises(a2gym.ActionError, match="action"):
            env.step(bad)
    with pytest.raises(a2gym.ActionError, match="STOP"):
        env.step(n - 1)  # STOP while every class is unserved
    env = make("a2gym/Scheduling-v0", scenario=two_region_toy(), invalid_action="raise")
    _, info = env.reset(seed=0)
    assert info["class"] == 0 and not info["action_mask"][0]  # c0 needs accuracy 0.75; "small" has 0.7
    with pytest.raises(a2gym.ActionError, match=r"action 0 \(A/m/cpu with small\) for class c0 is masked "
                                                r"off: accuracy 0.7000 < floor 0.75"):
        env.step(0)
    env = make("a2gym/GeoServe-v0", invalid_action="raise")
    _, info = env.reset(seed=0)
    n = env.action_space.shape[0]
    with pytest.raises(a2gym.ActionError, match=r"not in MultiDiscrete"):
        env.step(np.zeros(n + 1, dtype=np.int8))
    with pytest.raises(a2gym.ActionError, match="not 0 or 1"):
        env.step(np.full(n, 2, dtype=np.int8))
    env = make("a2gym/GeoServe-v0", scenario=two_region_toy(price_per_hour=np.array([[1.0], [np.nan]])),
               invalid_action="raise")
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, True, False]  # region B offers no instance
    with pytest.raises(a2gym.ActionError, match=r"action\[1\] = 1 \(deploy B/m/cpu\) is masked off"):
        env.step(np.array([1, 1], dtype=np.int8))


def test_out_of_space_actions_raise_in_the_default_mode_too():
    env = make("a2gym/Placement-v0")
    assert env.unwrapped.invalid_action == "noop"
    env.reset(seed=0)
    for bad in (env.action_space.n, -1, 1.0, "3"):
        with pytest.raises(a2gym.ActionError, match="action"):
            env.step(bad)
    env = make("a2gym/GeoServe-v0")
    env.reset(seed=0)
    with pytest.raises(a2gym.ActionError, match="not 0 or 1"):
        env.step(np.full(env.action_space.shape[0], 2))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_before_reset_raises_a_clear_a2gym_error(env_id):
    env = make(env_id).unwrapped
    with pytest.raises(a2gym.ResetNeededError, match=r"call reset\(\) first"):
        env.step(env.action_space.sample())
    assert issubclass(a2gym.ResetNeededError, gym.error.ResetNeeded)
    if spec_of(env_id).vector_entry_point is not None:
        venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", scenario=SMALL)
        with pytest.raises(a2gym.ResetNeededError, match=r"call reset\(\) first"):
            venv.step(np.zeros(2, dtype=np.int64))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_after_the_episode_ended_raises(env_id):
    env = make(env_id).unwrapped
    policy = reference_policy(env)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        obs, _, done, _, info = env.step(policy(obs, info))
    with pytest.raises(a2gym.ResetNeededError, match="ended|over"):
        env.step(policy(obs, info))


@pytest.mark.parametrize("kwarg, value, allowed", [
    ("invalid_action", "skip", "'noop', 'raise'"), ("invalid_action", None, "'noop', 'raise'"),
    ("invalid_action", 1, "'noop', 'raise'"), ("action_mask_in_obs", 1, "True or False"),
    ("action_mask_in_obs", "yes", "True or False"), ("invalid_penalty", -1.0, ">= 0"),
    ("invalid_penalty", True, ">= 0"), ("max_invalid_actions", 0, ">= 1"),
    ("max_invalid_actions", 2.5, ">= 1"),
])
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_invalid_action_kwargs_fail_at_make_naming_the_kwarg(env_id, kwarg, value, allowed):
    if kwarg == "max_invalid_actions" and kwarg not in make(env_id).unwrapped.make_kwargs():
        with pytest.raises(TypeError, match=kwarg):  # a GeoServe day always ends: no such kwarg
            make(env_id, **{kwarg: value})
        return
    with pytest.raises(ValueError, match=rf"{kwarg} = .*{re.escape(allowed)}"):
        make(env_id, **{kwarg: value})
    if spec_of(env_id).vector_entry_point is not None:
        with pytest.raises(ValueError, match=rf"{kwarg} = .*{re.escape(allowed)}"):
            gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", scenario=SMALL,
                         **{kwarg: value})


def test_make_kwargs_lists_every_dynamics_kwarg_with_its_value():
    env = make("a2gym/Placement-v0", invalid_penalty=0.5)
    kw = env.unwrapped.make_kwargs()
    assert kw["invalid_action"] == "noop" and kw["invalid_penalty"] == 0.5 and kw["max_invalid_actions"] == 16
    again = gym.make("a2gym/Placement-v0", scenario=SMALL, **kw)
    assert again.unwrapped.make_kwargs() == kw
    geo = make("a2gym/GeoServe-v0").unwrapped.make_kwargs()
    assert geo["n_slots"] == GEO_KW["n_slots"] and geo["action_type"] == "multidiscrete"
    assert gym.make("a2gym/GeoServe-v0", scenario=SMALL, **geo).unwrapped.make_kwargs() == geo


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


def test_submodules_are_attributes_right_after_import_a2gym():
    code = ("import a2gym, pydoc; pydoc.render_doc(a2gym.envs.placement.PlacementEnv); "
            "print(a2gym.policies.reference_policy.__name__, a2gym.envs.invalid.INVALID_ACTION_MODES[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["reference_policy", "noop"]
    probe = ("import sys, a2gym; "
             "print('a2gym.policies' in sys.modules, 'a2gym.envs.placement.env' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]  # still imported lazily: import a2gym stays cheap


def test_readme_environments_example_runs_and_prints_progress():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Environments"):]
    code = section[section.index("```python\n") + 10:section.index("\n```", section.index("```python\n"))]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    progress = [ln for ln in lines if ln.startswith("trained ")]
    assert progress == [f"trained {k} steps" for k in (512, 1024, 1536, 2048)]
    assert re.fullmatch(r"cost \$\d+\.\d{3} vs reference \$\d+\.\d{3}", lines[-1])
