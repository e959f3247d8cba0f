"""Heuristic baselines act through env.step in every env and end with finite costs."""

from __future__ import annotations

import numpy as np
import pytest

from a2gym import CostModel
from baselines import make_policy
from baselines.heuristics import cheapest_targets, local_targets
from tests.env_checks import ENV_IDS, check_no_smoke, make


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("name", ["local", "cheapest", "random"])
def test_baselines_run_everywhere(env_id, name):
    env = make(env_id)
    ret = check_no_smoke(env, seed=1, policy=make_policy(name, env, seed=1))
    assert np.isfinite(ret) and ret < 0


def test_local_serves_in_the_origin_when_it_can():
    env = make("a2gym/Placement-v0")
    scn = env.unwrapped.scenario
    cm = CostModel.of(scn)
    t = local_targets(scn)
    for r, i in enumerate(t):
        origin_ok = np.isfinite(cm.C[r][cm.fac_region == scn.class_origin[r]]).any()
        assert (cm.fac_region[i] == scn.class_origin[r]) == origin_ok
    assert np.array_equal(cheapest_targets(scn), np.argmin(cm.C, axis=1))


def test_unknown_policy_name():
    with pytest.raises(ValueError, match="unknown policy 'genius'"):
        make_policy("genius", make("a2gym/Placement-v0"))
