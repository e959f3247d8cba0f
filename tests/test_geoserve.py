"""GeoServe-v0: demand model, slot costs through CostModel.evaluate, deployment, penalty, references."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from a2gym import CostModel
from a2gym.envs.demand import DemandModel
from a2gym.envs.geoserve import GeoServeTables, slot_view
from a2gym.policies import geoserve_lower_bound, reference_policy
from tests.env_checks import SMALL, check_no_smoke, make
from tests.toy import two_region_toy


def test_diurnal_curve_has_mean_one_and_peaks_at_local_peak_hour():
    scn = two_region_toy()  # origins at UTC+0 (c0) and UTC+1 (c1)
    dm = DemandModel(n_slots=96, slot_minutes=15, diurnal_amplitude=0.5, peak_hour=14.0, trace=None)
    f = dm.diurnal(scn, np.arange(96))
    np.testing.assert_allclose(f.mean(axis=0), 1.0, atol=1e-12)
    assert np.argmax(f[:, 0]) in (55, 56)  # 14:00 local at UTC+0: slots 13:45-14:00 and 14:00-14:15
    assert np.argmax(f[:, 1]) in (51, 52)  # one hour earlier in UTC for UTC+1
    assert f.max() == pytest.approx(1.5, abs=1e-3) and f.min() == pytest.approx(0.5, abs=1e-3)


def test_bursts_are_slot_means_of_the_trace_with_expectation_one():
    trace = np.array([0.0, 2.0, 1.0, 1.0, 0.5, 1.5])
    dm = DemandModel(n_slots=3, slot_minutes=20 / 60, trace=trace)  # 2 bins of 10 s per slot
    b = dm.bursts(np.array([0, 1]))  # slots -1..2; slot t covers bins offset + 2t, offset + 2t + 1 (cyclic)
    np.testing.assert_allclose(b[:, 0], [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(b[:, 1], [0.75, 1.5, 0.75, 0.75])
    every = np.stack([dm.bursts(np.array([o]))[:, 0] for o in range(trace.size)])
    np.testing.assert_allclose(every.mean(axis=0), 1.0)  # uniform offsets: E[b] = 1 exactly
    with pytest.raises(ValueError, match="slot_minutes"):
        DemandModel(slot_minutes=0.1)


def test_slot_costs_scale_the_epoch_costs_and_use_evaluate():
    scn = two_region_toy()
    t = GeoServeTables.of(scn, 0.25)
    assert slot_view(scn, 0.25).epoch_hours == 0.25
    deployed = np.array([True, False])
    costs, plan, unserved = t.slot(deployed, deployed, scn.class_rate, 1e-3)
    hour = CostModel.of(scn).evaluate(plan)  # the same plan over a 1 h epoch
    assert costs["compute"] == pytest.approx(hour.compute / 4) and costs["bandwidth"] == pytest.approx(
        hour.bandwidth / 4)
    assert costs["deployment"] == 0.0 and costs["penalty"] == 0.0 and not unserved.any()
    costs, _, _ = t.slot(np.array([True, True]), deployed, scn.class_rate, 1e-3)
    # newly deployed B: model transfer (1 GB at 0.1 $/GB) + cold start 0 s (toy)
    assert costs["deployment"] == pytest.approx(0.1)


def test_nothing_deployed_pays_the_slo_penalty_per_request():
    # 1 h slots
    env = make("a2gym/GeoServe-v0", scenario=two_region_toy(), trace=None, slo_penalty_per_request=0.01)
    _, info = env.reset(seed=0)
    _, r, _, _, info = env.step(np.zeros(2, dtype=np.int8))
    expected = env.unwrapped.rates[1]
    assert info["unserved_requests"] == pytest.approx(expected.sum() * 3600)
    assert info["penalty"] == pytest.approx(expected.sum() * 3600 * 0.01)
    assert info["cost"] == info["penalty"] and len(info["violations"]) == 2
    assert r == pytest.approx(-info["cost"] / info["reference_cost"])


def test_cold_start_is_one_instance_of_cold_start_time():
    scn = two_region_toy(cold_start_s=360.0)
    t = GeoServeTables.of(scn, 0.25)
    c, _, _ = t.slot(np.array([True, True]), np.array([False, False]), scn.class_rate, 0.0)
    assert c["deployment"] == pytest.approx(0.1 + (1.0 + 2.0) * 0.1)  # g(B) + 0.1 h of each instance


def test_observation_shows_last_demand_and_time():
    env = make("a2gym/GeoServe-v0", n_slots=4, slot_minutes=360)
    obs, info = env.reset(seed=2)
    assert obs[2] == 0.0 and obs[0] == pytest.approx(0.5) and obs[1] == pytest.approx(1.0)  # 00:00 UTC
    base = env.unwrapped.scenario.class_rate
    n_fac = env.unwrapped.n_facilities
    np.testing.assert_allclose(obs[3 + n_fac: 3 + n_fac + base.size], info["observed_rates"] /
                               (info["observed_rates"] + base), rtol=1e-6)
    obs, _, _, _, info = env.step(np.zeros(n_fac, dtype=np.int8))
    assert obs[0] == pytest.approx(1.0) and obs[2] == pytest.approx(0.25)  # 06:00 UTC


def test_myopic_and_oracle_references_and_lower_bound():
    env = make("a2gym/GeoServe-v0", trace=None)
    ret_myopic = check_no_smoke(env, seed=0, policy=reference_policy(env, "myopic"))
    lb = geoserve_lower_bound(env)
    ret_oracle = check_no_smoke(env, seed=0, policy=reference_policy(env, "oracle"))
    ref = env.unwrapped.reference_cost
    # noise-free demand: the myopic reference reproduces its own normaliser exactly
    assert ret_myopic == pytest.approx(-1.0, abs=1e-9)
    assert 0 < lb <= -ret_oracle * ref * (1 + 1e-9)
    with pytest.raises(ValueError, match="mode"):
        reference_policy(env, "psychic")


def test_bursty_days_differ_by_seed():
    env = make("a2gym/GeoServe-v0", scenario=SMALL)
    env.reset(seed=0)
    a = env.unwrapped.rates.copy()
    env.reset(seed=1)
    assert not np.array_equal(a, env.unwrapped.rates)


@pytest.mark.parametrize("kwargs, name", [
    ({"trace": [0.0, 0.0, 0.0]}, "trace"),           # mean 0: every rate and observation was NaN
    ({"slot_minutes": float("inf")}, "slot_minutes"),  # was an OverflowError from round()
    ({"slot_minutes": "15"}, "slot_minutes"),          # was a TypeError that named nothing
    ({"peak_hour": float("nan")}, "peak_hour"),       # was a ScenarioError about class_rate
    ({"n_slots": True}, "n_slots"),                    # a bool is not a slot count
])
def test_bad_demand_kwargs_fail_naming_the_kwarg(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DemandModel(**kwargs)


def test_a_day_longer_than_the_registered_cap_is_refused_at_make():
    """The cap is a safety net, never a silent truncation of a valid day: a longer one fails at make."""
    from a2gym.envs.base import MAX_EPISODE_STEPS

    with pytest.raises(ValueError, match="n_slots = 1000001 is more than the registered max_episode_steps"):
        gymnasium.make("a2gym/GeoServe-v0", scenario=SMALL, n_slots=MAX_EPISODE_STEPS + 1, slot_minutes=10)
    assert gymnasium.make("a2gym/GeoServe-v0").spec.max_episode_steps == MAX_EPISODE_STEPS


def test_both_geoserve_envs_share_the_slotted_skeleton() -> None:
    """GeoServe-v0 and the capacity env take reset and the oracle's demand from one base (issue 22)."""
    from a2gym.envs.geoserve.env import GeoServeEnv
    from a2gym.envs.geoserve_capacity.env import GeoServeCapacityEnv
    from a2gym.envs.slotted import SlottedEnv

    for cls in (GeoServeEnv, GeoServeCapacityEnv):
        assert issubclass(cls, SlottedEnv)
        assert "reset" not in vars(cls) and "demand_of_next_slot" not in vars(cls)
