"""Reward components alone: sign, normalisation, telescoping, lookup by name."""

from __future__ import annotations

import numpy as np
import pytest

from a2gym.envs.reward import DollarReward, NormalisedCostReward, cached_on, make_reward
from tests.env_checks import make
from tests.toy import two_region_toy


def test_normalised_reward_is_minus_increment_over_reference():
    f = NormalisedCostReward()
    assert f(1.0, 3.0, 4.0) == -0.5
    np.testing.assert_array_equal(f(np.array([0.0, 1.0]), np.array([2.0, 1.0]), 2.0), [-1.0, 0.0])
    costs = [0.0, 0.7, 1.9, 2.5]
    assert sum(f(a, b, 2.5) for a, b in zip(costs, costs[1:], strict=False)) == pytest.approx(-1.0)


def test_dollar_reward_ignores_the_normaliser():
    assert DollarReward()(1.0, 3.5, 1e9) == -2.5


def test_make_reward_by_name_or_callable():
    assert isinstance(make_reward("dollars"), DollarReward)
    custom = lambda before, after, ref: 0.0  # noqa: E731
    assert make_reward(custom) is custom
    with pytest.raises(ValueError, match="unknown reward 'gold'"):
        make_reward("gold")


def test_env_with_dollar_reward_returns_minus_dollars():
    env = make("a2gym/Placement-v0", reward="dollars")
    rng = np.random.default_rng(0)
    _, info = env.reset()
    total, done = 0.0, False
    while not done:
        _, r, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        total += r
    assert total == pytest.approx(-info["cost"])


def test_cached_on_computes_once_per_scenario():
    scn = two_region_toy()
    calls = []
    for _ in range(3):
        assert cached_on(scn, "k", lambda: calls.append(1) or 42) == 42
    assert calls == [1]
