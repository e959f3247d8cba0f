"""agents.search: sampling from the published Placement generalist and keeping the cheapest episode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import a2gym  # noqa: F401
from a2gym.leaderboard.suite import STRICT
from a2gym.scenario.uri import read_scenario
from agents.generalist_entry import pinned_model
from agents.search import best_of_k, sample_masked

ENV = "a2gym/Placement-v0"
URI = "scenario://a2-val-v1/small-0"


@pytest.fixture(scope="module")
def model():
    return pinned_model("placement-general")


def replay_cost(actions: list[int]) -> float:
    env = gym.make(ENV, scenario=read_scenario(URI), **STRICT)
    env.reset(seed=10000)
    for a in actions:
        _, _, terminated, truncated, info = env.step(a)
    assert terminated and not truncated
    return float(info["cost"])


def test_sample_masked_only_draws_allowed_actions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(500, 7))
    mask = rng.random((500, 7)) < 0.4
    mask[:, 3] = True
    for u in (np.zeros(500), np.nextafter(np.ones(500), 0), rng.random(500)):
        a = sample_masked(logits, mask, 1.0, u)
        assert mask[np.arange(500), a].all()


def test_sample_masked_follows_the_softmax():
    logits = np.log(np.array([[0.2, 0.5, 0.3]]))
    u = np.random.default_rng(1).random(20000)
    a = sample_masked(np.repeat(logits, u.size, 0), np.ones((u.size, 3), bool), 1.0, u)
    assert np.allclose(np.bincount(a, minlength=3) / u.size, [0.2, 0.5, 0.3], atol=0.02)


def test_search_is_never_worse_than_the_policy_and_its_actions_replay(model):
    one = best_of_k(model, ENV, read_scenario(URI), dict(STRICT), 10000, 1)
    many = best_of_k(model, ENV, read_scenario(URI), dict(STRICT), 10000, 8, 1.0, 2)
    assert one.cost == one.greedy_cost == pytest.approx(many.greedy_cost, rel=1e-12)
    assert many.cost <= one.cost
    assert many.costs.shape == (16,) and many.cost == many.costs.min()
    assert replay_cost(many.actions) == many.cost
    again = best_of_k(model, ENV, read_scenario(URI), dict(STRICT), 10000, 8, 1.0, 2)
    assert again.actions == many.actions  # seeded by the episode's seed


@pytest.mark.parametrize("k, temperature, rounds", [(0, 1.0, 1), (5000, 1.0, 1), (8, 0.0, 1),
                                                    (8, float("nan"), 1), (8, 1.0, 0)])
def test_bad_search_settings_are_refused(model, k, temperature, rounds):
    with pytest.raises(ValueError, match="k=|temperature="):
        best_of_k(model, ENV, read_scenario(URI), dict(STRICT), 10000, k, temperature, rounds)
