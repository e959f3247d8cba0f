"""Native vector envs: N copies give exactly the numbers of N single envs (incl. autoreset)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import a2gym
from tests.env_checks import SMALL, make


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_vector_env_equals_single_envs(env_id):
    n = 5
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=SMALL)
    singles = [make(env_id) for _ in range(n)]
    vobs, vinfo = venv.reset(seed=0)
    for k, env in enumerate(singles):
        obs, info = env.reset(seed=k)
        assert np.array_equal(obs, vobs[k]) and np.array_equal(info["action_mask"], vinfo["action_mask"][k])
    rng = np.random.default_rng(1)
    done = [False] * n
    episodes = 0
    for _ in range(80):
        acts = np.array([rng.choice(np.flatnonzero(vinfo["action_mask"][k])) for k in range(n)])
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(acts)
        for k, env in enumerate(singles):
            if done[k]:  # NEXT_STEP autoreset: this step only resets copy k
                obs, info = env.reset()
                rew, term, trunc = 0.0, False, False
            else:
                obs, rew, term, trunc, info = env.step(int(acts[k]))
            done[k] = term or trunc
            episodes += term
            assert np.array_equal(obs, vobs[k])
            assert rew == vrew[k] and term == vterm[k] and trunc == vtrunc[k]
            assert info["cost"] == vinfo["cost"][k]
            assert np.array_equal(info["action_mask"], vinfo["action_mask"][k])
    assert episodes >= n  # every copy finished at least one episode and was reset
    assert np.array_equal(venv.unwrapped.action_masks(), vinfo["action_mask"])


def test_vector_env_rejects_bad_actions_and_resample():
    venv = gym.make_vec("a2gym/Placement-v0", num_envs=2, vectorization_mode="vector_entry_point",
                        scenario=SMALL, invalid_action="raise")
    _, info = venv.reset(seed=0)
    stop = venv.unwrapped.n_facilities
    with pytest.raises(a2gym.ActionError, match="env 1: action .* masked off"):
        first = 0 if info["action_mask"][0, 0] else int(np.argmax(info["action_mask"][0]))
        venv.step(np.array([first, stop]))
    with pytest.raises(a2gym.ActionError, match="outside"):
        venv.step(np.array([0, stop + 1]))
    with pytest.raises(a2gym.ActionError, match="shape"):
        venv.step(np.array([0]))
    with pytest.raises(ValueError, match="resample"):
        gym.make_vec("a2gym/Placement-v0", num_envs=2, vectorization_mode="vector_entry_point",
                     scenario=SMALL, resample=True)


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_vector_env_with_the_mask_in_the_observation(env_id):
    n = 3
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=SMALL,
                        action_mask_in_obs=True)
    plain = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=SMALL)
    assert isinstance(venv.single_observation_space, gym.spaces.Dict)
    obs, info = venv.reset(seed=0)
    ref, _ = plain.reset(seed=0)
    rng = np.random.default_rng(2)
    for _ in range(40):
        assert venv.observation_space.contains(obs)
        assert np.array_equal(obs["observations"], ref)
        assert np.array_equal(obs["action_mask"], info["action_mask"])
        assert obs["action_mask"].dtype == np.float32
        acts = np.array([rng.choice(np.flatnonzero(info["action_mask"][k])) for k in range(n)])
        obs, _, _, _, info = venv.step(acts)
        ref, *_ = plain.step(acts)
    assert make(env_id, action_mask_in_obs=True).observation_space == venv.single_observation_space


def test_vector_infos_have_unserved_and_violations_like_the_single_env():
    venv = gym.make_vec("a2gym/Placement-v0", num_envs=2, vectorization_mode="vector_entry_point",
                        scenario=SMALL)
    env = make("a2gym/Placement-v0")
    _, vinfo = venv.reset(seed=0)
    _, info = env.reset(seed=0)
    assert vinfo["unserved"].tolist() == [info["unserved"]] * 2 and "violations" not in vinfo
    from a2gym.policies import reference_policy

    policy = reference_policy(env)
    while True:
        a = policy(None, info)
        _, _, term, _, info = env.step(a)
        _, _, vterm, _, vinfo = venv.step(np.array([a, a]))
        assert vinfo["unserved"].tolist() == [info["unserved"]] * 2
        if term:
            break
    assert vterm.all() and vinfo["_violations"].all()
    assert list(vinfo["violations"]) == [info["violations"]] * 2
