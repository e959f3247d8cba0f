"""Placement-v0: routing, masks, incremental costs equal CostModel.evaluate, the reference returns -1."""

from __future__ import annotations

import numpy as np
import pytest

from a2gym import CostModel, Plan
from a2gym.envs.placement import PlacementTables, placement_reference_cost
from a2gym.envs.reward import greedy_plan
from tests.env_checks import check_no_smoke, make, random_action
from tests.toy import two_region_toy


def test_cost_so_far_equals_evaluate_of_the_partial_plan():
    env = make("a2gym/Placement-v0")
    cm = CostModel.of(env.unwrapped.scenario)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, info = env.step(random_action(env, info, rng))
        plan = env.unwrapped.plan()
        ev = cm.evaluate(plan)
        assert info["cost"] == pytest.approx(ev.total, rel=1e-12)
        assert info["compute"] == pytest.approx(ev.compute, rel=1e-12)
    assert info["violations"] == []
    assert info["cost"] == cm.evaluate(env.unwrapped.plan()).total  # exact at STOP


def test_every_class_goes_to_its_cheapest_open_facility():
    env = make("a2gym/Placement-v0")
    check_no_smoke(env, seed=4)
    plan = env.unwrapped.plan()
    cm = CostModel.of(env.unwrapped.scenario)
    is_open = np.zeros(cm.n_facilities, dtype=bool)
    is_open[env.unwrapped.batch.open[0]] = True
    best = np.where(is_open[None, :], cm.C, np.inf).argmin(axis=1)
    assert np.array_equal(plan.facility, best)
    assert np.array_equal(plan.data, cm.dstar[np.arange(len(best)), best])


def test_routing_depends_only_on_the_open_set():
    scn = make("a2gym/Placement-v0").unwrapped.scenario
    t = PlacementTables.of(scn)
    env = make("a2gym/Placement-v0")
    opened = list(greedy_plan(scn).open_facilities) + [int(np.argmin(t.cm.F))]
    costs = []
    for order in (opened, opened[::-1]):
        _, info = env.reset()
        for i in order:
            if info["action_mask"][i]:
                _, _, _, _, info = env.step(i)
        _, _, done, _, info = env.step(t.n_facilities)
        assert done
        costs.append(info["cost"])
    assert costs[0] == costs[1]


def test_masks_on_the_toy():
    # Toy: facilities A (0) and B (1); STOP = 2.  Both classes can be served at A or B.
    env = make("a2gym/Placement-v0", scenario=two_region_toy())
    _, info = env.reset()
    assert info["action_mask"].tolist() == [True, True, False]
    _, r, done, _, info = env.step(0)  # open A: both classes routed to A (pooled plan of test_costmodel)
    assert info["unserved"] == 0 and not done
    assert info["cost"] == pytest.approx(1.018)
    assert r == pytest.approx(-1.018 / info["reference_cost"])
    # B is cheaper for c1 (C includes per-use compute), so it stays useful; A is open, STOP allowed.
    assert info["action_mask"].tolist()[0] is False and info["action_mask"][2]
    _, _, done, _, info = env.step(2)
    assert done and info["cost"] == pytest.approx(1.018)


def test_useless_facility_is_masked():
    env = make("a2gym/Placement-v0")
    t = env.unwrapped.tables
    _, info = env.reset()
    # open each class's cheapest facility: afterwards nothing can attract a class, only STOP is left
    for i in np.unique(np.argmin(t.cm.C, axis=1)):
        _, _, _, _, info = env.step(int(i))
    assert info["action_mask"].tolist() == [False] * t.n_facilities + [True]


def test_reference_cost_is_the_envs_cost_of_the_greedy_open_set():
    scn = make("a2gym/Placement-v0").unwrapped.scenario
    cm = CostModel.of(scn)
    opened = greedy_plan(scn).open_facilities
    sigma = opened[np.argmin(cm.C[:, opened], axis=1)]
    assert placement_reference_cost(scn) == pytest.approx(cm.evaluate(cm.materialise(sigma)).total, rel=1e-12)
    assert isinstance(cm.materialise(sigma), Plan)


def test_the_per_step_instance_count_is_the_cost_models_formula():
    from a2gym.costmodel import instances_needed, instances_needed_one

    rng = np.random.default_rng(0)
    rho = 0.7
    busy = np.concatenate([rng.random(2000) * 50, np.arange(0, 40) * rho, np.arange(0, 40) * rho + 1e-12,
                           np.arange(1, 40) * rho - 1e-9])
    assert [instances_needed_one(float(x), rho) for x in busy] == instances_needed(busy, rho).tolist()


def test_the_tables_lists_are_labelled():
    t = PlacementTables.of(make("a2gym/Placement-v0").unwrapped.scenario)
    lists = t.py()
    assert lists._fields == ("fac_cls", "order", "n_feasible", "busy", "price", "deploy")
    assert lists.price == t.price.tolist() and lists.n_feasible == t.n_feasible.tolist()
    assert not hasattr(t, "bw_t") and not hasattr(t, "busy_t")
