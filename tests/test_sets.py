"""observation="sets" (a2gym.envs.sets): padded observation, pointer actions, sizes, permutations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import a2gym  # noqa: F401
from a2gym.costmodel import load_scenario
from a2gym.envs import sets
from a2gym.errors import ActionError, ScenarioError
from a2gym.policies import reference_policy

SMALL = "generator://synth-v0/3?classes=9&regions=4&models=3&datas=5"
OTHER = "generator://synth-v0/8?classes=14&regions=3&models=4&datas=7"


def permute_classes(scn, perm):
    return scn.replace(classes=tuple(scn.classes[j] for j in perm), class_origin=scn.class_origin[perm],
                       class_accuracy_floor=scn.class_accuracy_floor[perm],
                       class_latency_slo_ms=scn.class_latency_slo_ms[perm], class_rate=scn.class_rate[perm])


def permute_regions(scn, perm):
    """New region j is old region perm[j]; returns the scenario and the facility permutation (new -> old)."""
    inv = np.argsort(perm)
    M, H = scn.n_models, scn.n_instance_types
    new = scn.replace(
        regions=tuple(scn.regions[j] for j in perm),
        region_lat=scn.region_lat[perm],
        region_lon=scn.region_lon[perm],
        region_utc_offset_h=scn.region_utc_offset_h[perm],
        price_per_hour=scn.price_per_hour[perm],
        egress_per_gb=scn.egress_per_gb[np.ix_(perm, perm)],
        rtt_ms=scn.rtt_ms[np.ix_(perm, perm)],
        bandwidth_gbps=scn.bandwidth_gbps[np.ix_(perm, perm)],
        class_origin=inv[scn.class_origin],
    )
    k, m, h = np.unravel_index(np.arange(scn.n_regions * M * H), (scn.n_regions, M, H))
    fac_perm = (perm[k] * M + m) * H + h
    return new, fac_perm


def make(env_id, scenario, observation="sets"):
    return gym.make(env_id, scenario=scenario, observation=observation)


@pytest.mark.parametrize("uri", [SMALL, "scenario://paper-default-v0"])
def test_placement_padded_obs_equals_plain_on_valid_entries(uri):
    plain, padded = make("a2gym/Placement-v0", uri, "plain"), make("a2gym/Placement-v0", uri)
    o, info = plain.reset(seed=0)
    p, pinfo = padded.reset(seed=0)
    policy = reference_policy(plain)
    n = plain.unwrapped.n_facilities
    while True:
        f = p["facilities"]
        assert np.array_equal(f[:n, sets.F["open"]], o[:n])
        assert np.array_equal(f[:n, sets.F["open_cost"]], o[n:2 * n])
        assert np.array_equal(f[:n, sets.F["attract"]], o[2 * n:3 * n])
        assert np.array_equal(p["globals"][:2], o[3 * n:3 * n + 2])
        assert not f[n:].any() and not p["facility_valid"][n:].any() and p["facility_valid"][:n].all()
        assert np.array_equal(pinfo["action_mask"][:n], info["action_mask"][:n])
        assert pinfo["action_mask"][sets.MAX_FACILITIES] == info["action_mask"][n]
        assert not pinfo["action_mask"][n:sets.MAX_FACILITIES].any()
        a = policy(o, info)
        o, r, done, _, info = plain.step(a)
        p, pr, pdone, _, pinfo = padded.step(padded.unwrapped.padded_action(a))
        assert (pr, pdone, pinfo["cost"]) == (r, done, info["cost"])  # same dollars and rewards
        if done:
            break


def test_scheduling_padded_obs_equals_plain_on_valid_entries():
    plain, padded = make("a2gym/Scheduling-v0", SMALL, "plain"), make("a2gym/Scheduling-v0", SMALL)
    o, info = plain.reset(seed=0)
    p, pinfo = padded.reset(seed=0)
    env = plain.unwrapped
    K, n, t = env.scenario.n_regions, env.tables.n_facilities, env.tables
    rng = np.random.default_rng(0)
    done = False
    while not done:
        r = info["class"]
        assert p["classes"][r, sets.C["current"]] == 1.0 and p["classes"][:, sets.C["current"]].sum() == 1.0
        assert p["classes"][r, sets.C["accuracy_floor"]] == o[K]
        assert (
            p["classes"][r, sets.C["slo"]] == o[K + 1] and p["classes"][r, sets.C["rate_share"]] == o[K + 2]
        )
        assert p["globals"][0] == o[K + 3]
        assert np.array_equal(p["facilities"][:n, sets.F["open"]], o[K + 4:K + 4 + n])
        assert np.array_equal(p["facilities"][:n, sets.F["spare"]], o[K + 4 + n:K + 4 + 2 * n])
        marginal = o[K + 4 + 2 * n:]
        ac = p["action_cost"]
        assert np.array_equal(ac[t.act_facility, t.act_data], marginal)
        assert ac.sum() == pytest.approx(marginal.sum() + ac.size - marginal.size)  # padding is 1.0
        assert np.array_equal(pinfo["action_mask"].reshape(ac.shape)[t.act_facility, t.act_data],
                              info["action_mask"])
        assert pinfo["action_mask"].sum() == info["action_mask"].sum()
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        o, rew, done, _, info = plain.step(a)
        p, prew, pdone, _, pinfo = padded.step(padded.unwrapped.padded_action(a))
        assert (prew, pdone, pinfo["cost"]) == (rew, done, info["cost"])


def _obs_with_ref(env_id, scn, ref, opens=()):
    env = make(env_id, scn)
    env.reset(seed=0)
    base = env.unwrapped
    base.reference_cost = (
        ref  # the same dollar scale for both scenarios (A2-Greedy may break ties differently)
    )
    for a in opens:
        env.step(int(a))
    return base._obs()


def test_permuting_classes_permutes_the_observation():
    scn = load_scenario(SMALL)
    perm = np.random.default_rng(1).permutation(scn.n_classes)
    ref = 1.2345
    base = _obs_with_ref("a2gym/Placement-v0", scn, ref, opens=[0])
    perm_obs = _obs_with_ref("a2gym/Placement-v0", permute_classes(scn, perm), ref, opens=[0])
    R = scn.n_classes
    assert np.allclose(perm_obs["classes"][:R], base["classes"][perm])
    assert np.allclose(perm_obs["pair_cost"][:R], base["pair_cost"][perm])
    assert np.allclose(perm_obs["facilities"], base["facilities"])
    assert np.allclose(perm_obs["globals"], base["globals"])


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_permuting_facilities_permutes_the_observation(env_id):
    scn = load_scenario(SMALL)
    perm = np.array([2, 0, 3, 1])
    new, fac_perm = permute_regions(scn, perm)
    ref = 0.987
    first = int(
        np.flatnonzero(np.isfinite(new.price_per_hour[:, 0]))[0] * new.n_models * new.n_instance_types
    )
    opens = [first] if env_id.endswith("Placement-v0") else []
    got = _obs_with_ref(env_id, new, ref, opens)
    want = _obs_with_ref(env_id, scn, ref, [int(fac_perm[first])] if opens else [])
    n = len(fac_perm)
    assert np.allclose(got["facilities"][:n], want["facilities"][fac_perm])
    assert np.allclose(got["pair_cost"][:, :n], want["pair_cost"][:, fac_perm])
    assert np.allclose(got["classes"], want["classes"])
    if "action_cost" in got:
        assert np.allclose(got["action_cost"][:n], want["action_cost"][fac_perm])


def test_mixed_sizes_share_one_space_and_reference_returns_minus_one():
    for env_id in ("a2gym/Placement-v0", "a2gym/Scheduling-v0"):
        env = make(env_id, SMALL)
        space = env.observation_space
        for uri in (SMALL, OTHER, "scenario://a2-test-v0/placement-1"):
            obs, info = env.reset(seed=0, options={"scenario": uri})
            assert space.contains(obs)
            policy, ret, done = reference_policy(env), 0.0, False
            while not done:
                obs, r, done, _, info = env.step(policy(obs, info))
                ret += r
            assert ret == pytest.approx(-1.0, abs=1e-9)


def test_too_large_scenario_fails_naming_size_and_limit():
    big = f"generator://synth-v0/0?classes={sets.MAX_CLASSES + 1}&regions=3"
    with pytest.raises(
        ScenarioError, match=rf"{sets.MAX_CLASSES + 1} classes.*maximum of {sets.MAX_CLASSES}"
    ):
        make("a2gym/Placement-v0", big)
    env = make("a2gym/Scheduling-v0", SMALL)
    with pytest.raises(ScenarioError, match=rf"maximum of {sets.MAX_CLASSES}"):
        env.reset(seed=0, options={"scenario": big})
    with pytest.raises(ValueError, match="observation"):
        gym.make("a2gym/Placement-v0", observation="flat")
    with pytest.raises(ValueError, match="action_mask_in_obs"):
        gym.make("a2gym/Placement-v0", observation="sets", action_mask_in_obs=True)


def test_padding_action_is_masked_with_the_envs_invalid_action_rule():
    env = make("a2gym/Placement-v0", SMALL)
    obs, _ = env.reset(seed=0)
    n = env.unwrapped.n_facilities
    assert not env.unwrapped.action_masks()[n]
    obs2, reward, done, _, info = env.step(n)  # default "noop": nothing happens, the penalty is paid
    assert info["invalid_action"] and reward == -0.1 and not done and info["cost"] == 0.0
    assert all(np.array_equal(obs[k], obs2[k]) for k in obs)
    strict = gym.make("a2gym/Scheduling-v0", scenario=SMALL, observation="sets", invalid_action="raise")
    strict.reset(seed=0)
    with pytest.raises(ActionError, match="padding"):
        strict.step(sets.MAX_DATA_VERSIONS - 1)  # facility 0, data version 15 > this scenario's 5
    assert env.unwrapped.make_kwargs()["observation"] == "sets"
