"""Masked actions (``invalid_action``): the default no-op with a penalty and a bounded run, in the single and
the native vector envs, GeoServe's cleared bits, and exact replays of episodes with masked actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import a2gym
from a2gym.envs.invalid import InvalidActionRule
from a2gym.leaderboard.episode import from_jsonable, run_episode, violation_count
from tests.env_checks import ENV_IDS, SMALL, make
from tests.toy import two_region_toy


def _masked_action(info: dict) -> int:
    return int(np.flatnonzero(~info["action_mask"])[0])


def _with_masked_actions(env_id: str, **kw) -> gym.Env:
    """Placement masks STOP at reset; in the toy, Scheduling's first class cannot use the "small" data."""
    return make(env_id, **kw) if "Placement" in env_id else make(env_id, scenario=two_region_toy(), **kw)


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_masked_action_is_a_penalised_noop(env_id):
    env = _with_masked_actions(env_id)
    obs, info = env.reset(seed=0)
    cost = info["cost"]
    for k in range(1, 4):
        obs2, r, term, trunc, info2 = env.step(_masked_action(info))
        assert np.array_equal(obs2, obs) and r == -0.1 and not term and not trunc
        assert info2["invalid_action"] is True and info2["invalid_actions"] == k and info2["cost"] == cost
        assert np.array_equal(info2["action_mask"], info["action_mask"])
    _, _, _, _, info3 = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    assert info3["invalid_action"] is False and info3["invalid_actions"] == 3


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_a_run_of_masked_actions_ends_the_episode_as_a_failure(env_id):
    env = _with_masked_actions(env_id, max_invalid_actions=4, invalid_failure_penalty=7.0,
                               invalid_penalty=0.25)
    _, info = env.reset(seed=0)
    valid = int(np.flatnonzero(info["action_mask"])[0])
    rewards = []
    for _ in range(3):  # 3 in a row, then a valid action breaks the run
        _, r, term, _, _ = env.step(_masked_action(info))
        rewards.append(r)
        assert not term
    _, _, term, _, info = env.step(valid)
    assert not term and rewards == [-0.25] * 3 and info["invalid_actions"] == 3
    if "Placement" in env_id:  # STOP stays masked: 3 more in a row do not fail, the 4th does
        for _ in range(3):
            _, r, term, _, info = env.step(env.unwrapped.n_facilities)
            assert not term
        _, r, term, trunc, last = env.step(env.unwrapped.n_facilities)
        assert last["invalid_actions"] == 7
    else:
        _, info = env.reset(seed=0)
        for k in range(4):
            _, r, term, trunc, last = env.step(_masked_action(info))
            assert term == (k == 3) and not trunc
        assert last["invalid_actions"] == 4
    assert term and not trunc and r == -7.0 and last["failed"] is True
    unserved = last["violations"]
    assert unserved and all(v.startswith("unserved: ") for v in unserved)
    with pytest.raises(a2gym.ResetNeededError, match="failed"):
        env.unwrapped.step(valid)
    _, info = env.reset(seed=1)
    assert info["invalid_actions"] == 0 and "failed" not in info


def test_geoserve_clears_masked_bits_and_runs_the_rest():
    scn = two_region_toy(price_per_hour=np.array([[1.0], [np.nan]]))  # B offers no instance
    env = make("a2gym/GeoServe-v0", scenario=scn)
    twin = make("a2gym/GeoServe-v0", scenario=scn)
    env.reset(seed=0)
    twin.reset(seed=0)
    obs, r, _, _, info = env.step(np.array([1, 1]))
    obs2, r2, _, _, info2 = twin.step(np.array([1, 0]))
    assert np.array_equal(obs, obs2) and r == r2 and info["cost"] == info2["cost"]
    assert info["invalid_action"] is True and info["cleared_bits"] == 1 and info["invalid_actions"] == 1
    assert info2["invalid_action"] is False and info2["cleared_bits"] == 0
    pen = make("a2gym/GeoServe-v0", scenario=scn, invalid_penalty=0.5)
    pen.reset(seed=0)
    assert pen.step(np.array([1, 1]))[1] == r - 0.5


def test_geoserve_multibinary_kwarg_keeps_the_decision_and_the_mask():
    md = make("a2gym/GeoServe-v0")
    mb = make("a2gym/GeoServe-v0", action_type="multibinary")
    n = md.unwrapped.n_facilities
    assert md.action_space == gym.spaces.MultiDiscrete([2] * n)
    assert mb.action_space == gym.spaces.MultiBinary(n)
    _, i1 = md.reset(seed=2)
    _, i2 = mb.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(4):
        bits = rng.integers(0, 2, n)
        o1, r1, *_, i1 = md.step(bits)
        o2, r2, *_, i2 = mb.step(bits.astype(np.int8))
        assert np.array_equal(o1, o2) and r1 == r2 and np.array_equal(i1["action_mask"], i2["action_mask"])
    with pytest.raises(ValueError, match="action_type = 'bits' is not one of 'multidiscrete', 'multibinary'"):
        make("a2gym/GeoServe-v0", action_type="bits")


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_vector_env_equals_single_envs_with_masked_actions_and_failures(env_id):
    n, kw = 4, {"max_invalid_actions": 3}
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=SMALL, **kw)
    assert venv.unwrapped.invalid_action == "noop"
    singles = [make(env_id, **kw) for _ in range(n)]
    _, vinfo = venv.reset(seed=0)
    for k, env in enumerate(singles):
        env.reset(seed=k)
    rng = np.random.default_rng(5)
    done = [False] * n
    failures = invalid = 0
    for _ in range(150):
        masks = vinfo["action_mask"]
        acts = np.array([rng.choice(np.flatnonzero(~masks[k] if rng.random() < 0.6 and (~masks[k]).any()
                                                   else masks[k])) for k in range(n)])
        _, vrew, vterm, vtrunc, vinfo = venv.step(acts)
        for k, env in enumerate(singles):
            if done[k]:
                _, info = env.reset()
                rew, term, trunc = 0.0, False, False
            else:
                _, rew, term, trunc, info = env.step(int(acts[k]))
            done[k] = term or trunc
            assert rew == vrew[k] and term == vterm[k] and trunc == vtrunc[k]
            for key in ("cost", "unserved", "invalid_action", "invalid_actions"):
                assert info[key] == vinfo[key][k], key
            assert ("failed" in info) == bool(vinfo.get("_failed", np.zeros(n, bool))[k])
            if term:
                assert vinfo["_violations"][k] and info["violations"] == vinfo["violations"][k]
            failures += bool(info.get("failed"))
            invalid += info["invalid_action"]
    assert failures >= 2 and invalid >= 50


def test_vector_env_raise_mode_raises_on_a_masked_action():
    venv = gym.make_vec("a2gym/Placement-v0", num_envs=2, vectorization_mode="vector_entry_point",
                        scenario=SMALL, invalid_action="raise")
    _, info = venv.reset(seed=0)
    stop = venv.unwrapped.n_facilities
    with pytest.raises(a2gym.ActionError, match="env 1: action .* masked off"):
        venv.step(np.array([int(np.argmax(info["action_mask"][0])), stop]))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_records_with_masked_actions_replay_exactly(env_id):
    """An episode of unmasked random actions (some masked), stored as a record stores it, replays in a fresh
    env made with ``make_kwargs()`` to the same cost, return and violations."""
    scn = SMALL if "GeoServe" not in env_id else two_region_toy(price_per_hour=np.array([[1.0], [np.nan]]))
    env = make(env_id, scenario=scn)
    env.action_space.seed(3)
    seen: list[bool] = []

    def policy(obs, info):
        seen.append(bool(info["invalid_action"]))
        return env.action_space.sample()

    out = run_episode(env, policy, seed=3)
    assert any(seen)
    fresh = gym.make(env_id, scenario=scn, **env.unwrapped.make_kwargs())
    _, info = fresh.reset(seed=3)
    ret, violations = 0.0, 0
    for t, stored in enumerate(out.actions):
        _, r, term, trunc, info = fresh.step(from_jsonable(stored, fresh.action_space))
        ret += r
        violations += violation_count(info)
        assert (term or trunc) == (t == len(out.actions) - 1)
    assert info["cost"] == out.cost and ret == out.return_ and violations == out.violations


def test_rule_validation_names_the_kwarg():
    with pytest.raises(ValueError, match="invalid_failure_penalty = nan"):
        InvalidActionRule.from_kwargs("noop", 0.1, float("nan"), 16)
    assert InvalidActionRule.from_kwargs("raise", 0, 1, 1).raises
