"""Scheduling-v0: visit order, incremental renting equals CostModel.evaluate, the reference returns -1."""

from __future__ import annotations

import numpy as np
import pytest

from a2gym import CostModel
from tests.env_checks import make, random_action
from tests.toy import two_region_toy


def test_classes_are_visited_by_rate_descending():
    env = make("a2gym/Scheduling-v0")
    scn = env.unwrapped.scenario
    rng = np.random.default_rng(0)
    _, info = env.reset()
    seen = []
    for _ in range(scn.n_classes):
        seen.append(info["class"])
        _, _, done, _, info = env.step(random_action(env, info, rng))
    assert done
    assert seen == list(np.argsort(-scn.class_rate, kind="stable"))


def test_cost_so_far_equals_evaluate_of_the_partial_plan():
    env = make("a2gym/Scheduling-v0")
    cm = CostModel.of(env.unwrapped.scenario)
    rng = np.random.default_rng(1)
    _, info = env.reset()
    done = False
    while not done:
        _, _, done, _, info = env.step(random_action(env, info, rng))
        ev = cm.evaluate(env.unwrapped.plan())
        assert info["cost"] == pytest.approx(ev.total, rel=1e-9)
        assert np.array_equal(env.unwrapped.batch.inst[0], ev.instances)
    assert info["cost"] == cm.evaluate(env.unwrapped.plan()).total and info["violations"] == []


def test_hand_computed_toy_episode():
    env = make("a2gym/Scheduling-v0", scenario=two_region_toy())
    _, info = env.reset()
    # actions a = (k*|M| + m)*|D| + d (|H| = 1): A/big = 1, B/small = 2.  c0 (2 req/s) first.
    _, _, _, _, info = env.step(1)  # c0 at A with big: busy 0.4 -> 1 instance, 1 $
    assert info["cost"] == pytest.approx(1.0) and info["class"] == 1
    _, _, done, _, info = env.step(1 + 0)  # c1 at A with big: busy 0.6 -> 2 instances; 0.72 GB B->A
    assert done and info["cost"] == pytest.approx(2.0 + 0.036)
