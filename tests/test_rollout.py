"""The one episode loop: :func:`a2gym.rollout.rollout` plays what the leaderboard's loop plays."""

from __future__ import annotations

import gymnasium as gym
import pytest

from a2gym.leaderboard.episode import run_episode
from a2gym.policies import reference_policy
from a2gym.rollout import Rollout, rollout
from tests.env_checks import ENV_IDS, make


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rollout_matches_the_leaderboard_loop(env_id):
    env = make(env_id)
    out = rollout(env, seed=3, make=lambda: reference_policy(env))
    assert isinstance(out, Rollout) and out.policy_s >= 0
    other = make(env_id)
    again = run_episode(other, reference_policy(other), 3)
    assert (out.cost, out.return_, out.violations, len(out.actions)) == (
        again.cost, again.return_, again.violations, len(again.actions))


def test_rollout_takes_a_policy_or_make_and_observes_each_step():
    env = make("a2gym/Placement-v0")
    with pytest.raises(ValueError, match="policy or make"):
        rollout(env, seed=0)
    seen = []
    out = rollout(env, reference_policy(env), 0, observe=lambda obs, info, a: seen.append(a))
    assert seen == out.actions and out.return_ == pytest.approx(-1.0, abs=1e-9)
    assert isinstance(env, gym.Env)
