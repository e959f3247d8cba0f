"""GeoServe-v1: provisioning delay, billing, capacity-limited routing, references, the hindsight MILP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import a2gym  # noqa: F401  (registers the envs)
from a2gym import load_scenario
from a2gym.envs.geoserve_capacity.dynamics import Billing, DelayWindows, provisioning_defaults
from a2gym.envs.geoserve_capacity.hindsight import solve_hindsight
from a2gym.errors import ActionError
from a2gym.policies import reference_policy
from tests.env_checks import SMALL
from tests.toy import two_region_toy

ID = "a2gym/GeoServeCapacity-v0"
ROOT = Path(__file__).resolve().parents[1]
FLAT = {"trace": None, "diurnal_amplitude": 0.0}  # constant demand: λ_r every slot


def toy_env(**kw):
    """two_region_toy: facilities A (1 $/h) and B (2 $/h); c0 (2 req/s, 0.2 s per request) and c1 (1 req/s,
    0.1 s) both prefer A; ρ = 0.5, so the initial fleet is one instance at A, exactly full."""
    scenario = kw.pop("scenario", two_region_toy())
    kw = {"n_slots": 4, "slot_minutes": 60.0, **FLAT, **kw}
    return gymnasium.make(ID, scenario=scenario, **kw)


def busy_toy(scale: float = 10.0):
    """The small generated scenario with every class rate × ``scale``: capacity binds and the greedy open
    set changes during the day, so the delay matters."""
    s = load_scenario(SMALL)
    return s.replace(class_rate=s.class_rate * scale, uri=None)


def play(env, policy, seed: int) -> tuple[float, float, dict]:
    obs, info = env.reset(seed=seed)
    ret, done = 0.0, False
    while not done:
        obs, r, done, trunc, info = env.step(policy(obs, info))
        ret += r
        assert not trunc
    return info["cost"], ret, info


def test_defaults_come_from_the_bundled_figures():
    d = provisioning_defaults()
    assert d["provisioning_delay_s"] == d["ec2_linux_boot_s"] + d["serving_start_s"] == 180.0
    assert (d["billing_granularity_s"], d["billing_minimum_s"]) == (1.0, 60.0)
    env = gymnasium.make(ID, scenario=SMALL, n_slots=2)
    assert env.unwrapped.delay.delay_s == 180.0 and env.unwrapped.billing.minimum_s == 60.0


def test_capacity_requested_in_slot_t_is_not_ready_before_its_delay():
    env = toy_env(provisioning_delay_s=1200.0)  # 20 min into the 1 h slot
    _, info = env.reset(seed=0)
    lam = env.unwrapped.scenario.class_rate.sum()
    assert list(info["ready"]) == [1, 0] and list(info["pending"]) == [0, 0]
    _, _, _, _, info = env.step(np.array([0, 2]))  # move everything from A to B
    assert info["unserved_requests"] == pytest.approx(lam * 1200.0)  # nothing ready for 20 min
    assert list(info["ready"]) == [0, 2] and list(info["pending"]) == [0, 0]
    _, _, _, _, info = env.step(np.array([0, 2]))
    assert info["unserved_requests"] == 0.0

    env = toy_env(provisioning_delay_s=5400.0)  # 1.5 slots
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1, 2]))  # keep A, add B
    assert info["unserved_requests"] == 0.0 and list(info["pending"]) == [0, 2]
    _, _, _, _, info = env.step(np.array([0, 2]))  # drop A: B is ready only 30 min into this slot
    assert info["unserved_requests"] == pytest.approx(lam * 1800.0)
    assert list(info["ready"]) == [0, 2]


def test_zero_delay_is_instant():
    env = toy_env(provisioning_delay_s=0.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0, 2]))
    assert info["unserved_requests"] == 0.0


def test_requests_beyond_ready_capacity_are_penalised_and_counted():
    s = two_region_toy(class_rate=np.array([4.0, 1.0]))
    env = toy_env(scenario=s, provisioning_delay_s=0.0, slo_penalty_per_request=0.01)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1, 0]))  # capacity ρ·1 = 0.5 busy; demand 4·0.2 + 1·0.1 = 0.9
    unserved = 3600.0 * 5.0 * (1 - 0.5 / 0.9)  # both classes want A in the same round: pro rata
    assert info["unserved_requests"] == pytest.approx(unserved)
    assert info["penalty"] == pytest.approx(unserved * 0.01)
    assert sorted(info["violations"]) == ["unserved: c0", "unserved: c1"]
    _, _, _, _, info = env.step(np.array([2, 0]))  # 1.0 busy of capacity: all served
    assert info["unserved_requests"] == 0.0 and info["unserved_requests_total"] == pytest.approx(unserved)


def test_overflow_goes_to_the_next_facility_with_spare_capacity():
    s = two_region_toy(class_rate=np.array([4.0, 1.0]))
    env = toy_env(scenario=s, provisioning_delay_s=0.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1, 1]))  # A full (0.5 of 0.9 busy), the rest fits at B
    assert info["unserved_requests"] == 0.0
    # bandwidth: what A cannot take goes to B; c0 from A to B pays 0.1 $/GB x 2e5 B, c1 at its origin B pays 0
    over_c0 = 4.0 * (1 - 0.5 / 0.9)
    assert info["bandwidth"] == pytest.approx(
        3600.0 * over_c0 * 2e5 * 0.1 / 1e9 + 3600.0 * (0.5 / 0.9) * 1e5 * 0.05 / 1e9
    )


def test_a_30_s_instance_is_billed_60_s():
    assert Billing(1.0, 60.0).billed_s(np.array([0.0, 30.0, 60.0, 61.5])).tolist() == [0.0, 60.0, 60.0, 62.0]
    env = toy_env(slot_minutes=0.5, provisioning_delay_s=0.0)  # 30 s slots
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([1, 1]))  # one B instance (2 $/h) for one 30 s slot
    assert info["compute"] == pytest.approx((30.0 * 1.0 + 60.0 * 2.0) / 3600.0)
    before = info["compute"]
    _, _, _, _, info = env.step(np.array([1, 0]))  # released: nothing more for it
    assert info["compute"] - before == pytest.approx(30.0 / 3600.0)


def test_billing_granularity_rounds_up_and_releases_the_newest_first():
    env = toy_env(
        slot_minutes=0.5, provisioning_delay_s=0.0, billing_granularity_s=45.0, billing_minimum_s=0.0
    )
    env.reset(seed=0)
    costs = []
    for a in ([1, 1], [1, 2], [1, 1], [1, 1]):
        _, _, _, _, info = env.step(np.array(a))
        costs.append(info["compute"] * 3600.0)  # cumulative billed $·s/h at 1 and 2 $/h
    inc = np.diff([0.0, *costs])
    # A (initial fleet, past its minimum) is billed 30 s per slot.  B's first instance: 45 s, then 45 s
    # (90 s at 60 s of age), 0 (still 90 s at 90 s), 45 s (135 s at 120 s).  B's second, requested in
    # slot 1 and released first (newest first) in slot 2: 45 s once.
    expect_b = np.array([45.0, 45.0 + 45.0, 0.0, 45.0])
    np.testing.assert_allclose(inc, 30.0 + 2.0 * expect_b)


def test_delay_windows():
    d = DelayWindows(180.0, 900.0)
    assert (d.a, d.b, d.split) == (0, 180.0, True)
    assert list(d.full_window(0)) == [-1, 0] and list(d.after_window(0)) == [0]
    d = DelayWindows(1800.0, 900.0)
    assert (d.a, d.split) == (2, False) and list(d.full_window(5)) == [3, 4, 5]


@pytest.mark.parametrize("kw, name", [({"provisioning_delay_s": -1.0}, "provisioning_delay_s"),
                                      ({"billing_granularity_s": 0.0}, "billing_granularity_s"),
                                      ({"billing_minimum_s": -5.0}, "billing_minimum_s"),
                                      ({"max_instances": 0}, "max_instances"),
                                      ({"history_slots": 0}, "history_slots")])
def test_bad_kwargs_fail_at_make_naming_the_kwarg(kw, name):
    with pytest.raises(ValueError, match=name):
        gymnasium.make(ID, scenario=SMALL, n_slots=2, **kw)


def test_counts_beyond_the_space_fail_at_make():
    with pytest.raises(ValueError, match="max_instances"):
        toy_env(scenario=two_region_toy(class_rate=np.array([40.0, 10.0])), max_instances=2)


def test_out_of_range_actions_raise_and_masked_counts_are_cleared_or_raise():
    env = toy_env()
    env.reset(seed=0)
    with pytest.raises(ActionError, match="outside 0..8"):
        env.step(np.array([9, 0]))
    with pytest.raises(ActionError, match="shape"):
        env.step(np.array([1, 0, 0]))
    no_b = two_region_toy(price_per_hour=np.array([[1.0], [np.nan]]))  # B not offered
    env = toy_env(scenario=no_b)
    _, info = env.reset(seed=0)
    assert info["action_mask"].reshape(2, -1).tolist() == [[True] * 9, [True] + [False] * 8]
    _, _, _, _, cleared = env.step(np.array([1, 3]))  # default invalid_action="noop": B's 3 are cleared
    env.reset(seed=0)
    _, _, _, _, plain = env.step(np.array([1, 0]))
    assert cleared["cleared_counts"] == 1 and cleared["invalid_action"] and cleared["invalid_actions"] == 1
    assert cleared["cost"] == plain["cost"] and not plain["invalid_action"]
    env = toy_env(scenario=no_b, invalid_action="raise")
    env.reset(seed=0)
    with pytest.raises(ActionError, match="masked off"):
        env.step(np.array([1, 1]))


def _sample_valid(env):
    base = env.unwrapped
    space = base.action_space

    def sample(mask=None, probability=None):
        allowed = base.action_masks().reshape(base.n_facilities, -1)
        return gymnasium.spaces.MultiDiscrete.sample(
            space, mask=tuple(row.astype(np.int8) for row in allowed)
        )

    space.sample = sample
    return env


def test_gymnasium_check_env_passes_and_obs_stay_in_the_space():
    env = gymnasium.make(ID, scenario=SMALL, n_slots=6)
    check_env(_sample_valid(env).unwrapped, skip_render_check=True)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=3)
    done = False
    while not done:
        allowed = info["action_mask"].reshape(env.unwrapped.n_facilities, -1)
        a = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
        obs, r, done, _, info = env.step(a)
        assert env.observation_space.contains(obs) and np.isfinite(r) and np.isfinite(info["cost"])
        assert np.array_equal(info["action_mask"], env.unwrapped.action_masks())
    assert env.render() is None


@pytest.mark.parametrize("normaliser", ["target-tracking", "reactive"])
def test_the_normaliser_returns_minus_one_on_its_days(normaliser):
    """The reward normaliser's reference (the default mode of reference_policy) returns -1 on average over
    the days of reset(seed=0, 1, 2), which are the days its day cost is the mean of."""
    env = gymnasium.make(ID, scenario=busy_toy(), n_slots=12, normaliser=normaliser)
    policy = reference_policy(env)
    rets = [play(env, policy, seed)[1] for seed in range(3)]
    assert np.mean(rets) == pytest.approx(-1.0, rel=1e-9)


def test_hindsight_beats_forecast_and_reactive_and_replays_to_its_cost():
    env = gymnasium.make(ID, scenario=busy_toy(), n_slots=12)
    for seed in (0, 1):
        reactive = play(env, reference_policy(env, "reactive"), seed)[0]
        forecast = play(env, reference_policy(env, "forecast"), seed)[0]
        policy = reference_policy(env, "hindsight")
        cost, _, _ = play(env, policy, seed)
        plan = policy.plan
        assert cost == pytest.approx(plan.replay_cost, rel=1e-9)  # replaying the plan through env.step
        assert plan.bound <= plan.objective * (1 + 1e-6) and plan.bound <= cost * (1 + 1e-6)
        assert cost <= forecast * (1 + 1e-9) and cost <= reactive * (1 + 1e-9), (
            seed,
            cost,
            forecast,
            reactive,
        )
        assert plan.source.startswith("milp") and cost < plan.start_cost  # the MILP improves on its start
    assert cost < 0.9 * reactive  # a day where foresight matters


def test_hindsight_milp_is_exact_when_routing_is_unambiguous():
    """One class per origin, one facility each: the env's routing is the MILP's, so its optimum is the
    replayed cost, and it is no worse than the lookahead start."""
    env = toy_env(n_slots=4, provisioning_delay_s=1200.0, diurnal_amplitude=0.4)
    env.reset(seed=0)
    plan = solve_hindsight(env.unwrapped, time_limit=30)
    assert plan.status == "optimal"
    assert plan.replay_cost == pytest.approx(plan.objective, rel=1e-6)


def test_same_seed_gives_the_same_day_in_another_process():
    code = ("import json, gymnasium, numpy as np, a2gym\n"
            f"env = gymnasium.make('{ID}', scenario='{SMALL}', n_slots=8)\n"
            "env.reset(seed=11)\n"
            "print(json.dumps(env.unwrapped.rates.tolist()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    env = gymnasium.make(ID, scenario=SMALL, n_slots=8)
    env.reset(seed=11)
    assert json.loads(out.stdout) == env.unwrapped.rates.tolist()


def test_records_replay_bit_for_bit():
    from a2gym.leaderboard.episode import cost_breakdown, replay, to_jsonable

    uri = "scenario://a2-test-v0/geoserve-1"  # replay loads bundled scenarios only
    env = gymnasium.make(ID, scenario=uri, n_slots=8)
    policy = reference_policy(env, "forecast")
    obs, info = env.reset(seed=5)
    actions, done = [], False
    while not done:
        a = policy(obs, info)
        actions.append(to_jsonable(a, env.action_space))
        obs, _, done, _, info = env.step(a)
    again = replay(ID, uri, {"n_slots": 8}, 5, actions)
    assert again.cost == info["cost"] and again.cost_breakdown == cost_breakdown(info)
    assert isinstance(actions[0], list) and len(actions) == 8


def test_action_mask_in_obs():
    env = toy_env(action_mask_in_obs=True)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert np.array_equal(obs["action_mask"], info["action_mask"].astype(np.float32))


def test_records_of_the_retired_geoserve_v1_id_still_replay():
    """a2gym/GeoServe-v1 is no longer registered (GeoServe-v0 is not called out of date); its records replay
    through GeoServeCapacity-v0 with normaliser="reactive", costs and returns as recorded."""
    import warnings

    from a2gym.leaderboard.validate import validate_files

    assert "a2gym/GeoServe-v1" not in gymnasium.registry
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "out of date" deprecation for v0
        gymnasium.make("a2gym/GeoServe-v0", n_slots=2).close()
    path = Path(__file__).parent / "golden" / "geoserve-v1-records.jsonl"
    good, problems = validate_files([path], rerun=False)
    assert problems == [] and len(good) == 1
