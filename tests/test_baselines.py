"""Heuristic baselines act through env.step in every env and end with finite costs."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import a2gym
from a2gym import CostModel
from a2gym.envs.registration import spec_of
from baselines import make_policy
from baselines.heuristics import cheapest_target, origin_local_target
from tests.env_checks import ENV_IDS, check_no_smoke, make


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("name", ["origin-local", "cheapest", "random", "no-adaptation", "local-greedy"])
def test_baselines_run_everywhere(env_id, name):
    env = make(env_id)
    if name != "random" and spec_of(env_id).target_adaptor is None:  # counts, not a set: no target to play
        with pytest.raises(ValueError, match="no target adaptor"):
            make_policy(name, env, seed=1)
        return
    ret = check_no_smoke(env, seed=1, policy=make_policy(name, env, seed=1))
    assert np.isfinite(ret) and ret < 0


def test_origin_local_serves_in_the_origin_when_it_can():
    env = make("a2gym/Placement-v0")
    scn = env.unwrapped.scenario
    cm = CostModel.of(scn)
    t, d = origin_local_target(scn)
    assert np.array_equal(d, cm.dstar[np.arange(len(t)), t])
    for r, i in enumerate(t):
        origin_ok = np.isfinite(cm.C[r][cm.fac_region == scn.class_origin[r]]).any()
        assert (cm.fac_region[i] == scn.class_origin[r]) == origin_ok
    assert np.array_equal(cheapest_target(scn)[0], np.argmin(cm.C, axis=1))


def test_unknown_policy_name():
    with pytest.raises(ValueError, match="unknown policy 'genius'"):
        make_policy("genius", make("a2gym/Placement-v0"))


@pytest.mark.parametrize("name", ["no-adaptation", "model-only", "data-only", "local-greedy"])
def test_paper_baselines_replay_the_restricted_solver_plan_in_scheduling(name):
    """Scheduling plays the restricted A2-Greedy plan class by class, so it reaches exactly its cost."""
    from baselines.heuristics import PAPER_BASELINES

    uri = "generator://synth-v0/5?classes=12&regions=4"
    env = gymnasium.make("a2gym/Scheduling-v0", scenario=uri)
    policy = make_policy(name, env)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(policy(obs, info))
        done = term or trunc
    sol = a2gym.solve(uri, "greedy", restrict=PAPER_BASELINES[name], split=False)
    assert info["cost"] == pytest.approx(sol.cost.total, rel=1e-9)
    assert info["cost"] >= info["reference_cost"] * (1 - 1e-9)


def test_random_picks_a_valid_value_per_component_of_a_multidiscrete_space():
    env = gymnasium.make("a2gym/GeoServeCapacity-v0", scenario="generator://synth-v0/3?classes=12&regions=3&models=3"
                         "&datas=4&types=2", n_slots=3, slot_minutes=60.0)
    policy = make_policy("random", env, seed=0)
    obs, info = env.reset(seed=0)
    ends = np.cumsum(env.action_space.nvec)
    done = False
    while not done:
        a = policy(obs, info)
        assert env.action_space.contains(a)
        starts = ends - env.action_space.nvec
        assert all(info["action_mask"][s + v] for s, v in zip(starts, a, strict=True))
        obs, _, term, trunc, info = env.step(a)
        done = term or trunc
