"""The GeoServe-v1 fleet policy (agents/fleet.py): its features, its network, its training, the committed
checkpoints and their leaderboard entries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import a2gym  # noqa: E402,F401
from agents import fleet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCN = "scenario://a2-test-v1/small-1"
KW = {"max_classes": 128, "invalid_action": "raise"}


def _env(scenario: str = SCN, **kw) -> gym.Env:
    return gym.make("a2gym/GeoServeCapacity-v0", scenario=scenario, **{**KW, **kw})


def test_features_hold_the_fleet_and_the_reactive_solve() -> None:
    from a2gym.policies import reference_policy

    env = fleet.FleetObservation(_env())
    x, info = env.reset(seed=3)
    reactive = reference_policy(env, mode="reactive")
    n, m = env.unwrapped.n_facilities, env.unwrapped.max_instances
    assert env.observation_space.contains(x) and x.shape == (n * fleet.N_FAC_FEATURES + fleet.N_GLOBAL,)
    for _ in range(5):
        per = x[: n * fleet.N_FAC_FEATURES].reshape(n, fleet.N_FAC_FEATURES)
        np.testing.assert_allclose(per[:, 0], info["ready"] / m, rtol=1e-6)
        np.testing.assert_allclose(per[:, 1], info["pending"] / m, rtol=1e-6)
        np.testing.assert_allclose(per[:, 2] * m, reactive(None, info), atol=1e-5)  # the reactive action
        assert np.array_equal(per[:, 7] > 0, env.unwrapped.tables.deployable)
        x, _, _, _, info = env.step(reactive(None, info))


def test_the_policy_is_equivariant_to_a_permutation_of_facilities() -> None:
    import torch as th

    env = fleet.FleetObservation(_env())
    x, _ = env.reset(seed=0)
    net = fleet.FleetNet(env.unwrapped.n_facilities, env.unwrapped.max_instances + 1)
    n, f = env.unwrapped.n_facilities, fleet.N_FAC_FEATURES
    perm = np.random.default_rng(0).permutation(n)
    xp = np.concatenate([x[: n * f].reshape(n, f)[perm].reshape(-1), x[n * f:]])
    with th.no_grad():
        lo, vo = net(th.as_tensor(x[None]))
        lp, vp = net(th.as_tensor(xp[None]))
    k = env.unwrapped.max_instances + 1
    th.testing.assert_close(lp.reshape(n, k), lo.reshape(n, k)[perm], rtol=1e-5, atol=1e-6)
    th.testing.assert_close(vp, vo, rtol=1e-5, atol=1e-6)


def test_maskable_ppo_trains_the_fleet_policy_and_plays_another_size() -> None:
    from sb3_contrib import MaskablePPO

    env = fleet.FleetObservation(_env(n_slots=8))
    model = MaskablePPO(fleet.FleetPolicy, env, n_steps=16, batch_size=16, n_epochs=1, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(32)
    after = list(model.policy.parameters())
    assert any(not np.allclose(a.numpy(), b.detach().numpy()) for a, b in zip(before, after, strict=True))
    other = fleet.FleetObservation(_env("scenario://a2-test-v1/medium-0", n_slots=8))
    x, info = other.reset(seed=1)
    done = False
    while not done:
        x, _, done, _, info = other.step(fleet.act(model, x, info["action_mask"]))
    assert info["slot"] == 8


def test_the_policy_refuses_other_spaces() -> None:
    from sb3_contrib import MaskablePPO

    with pytest.raises(ValueError, match="FleetObservation"):
        MaskablePPO(fleet.FleetPolicy, _env(n_slots=8), device="cpu")


def test_the_committed_checkpoint_is_pinned_and_tampering_is_refused(tmp_path: Path) -> None:
    from a2gym.errors import RecordError

    data = (fleet.RUN_DIR / "best_model.zip").read_bytes()
    assert hashlib.sha256(data).hexdigest() == fleet.CHECKPOINT_SHA256
    bad = tmp_path / "best_model.zip"
    bad.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(RecordError, match=f"SHA-256 {hashlib.sha256(bad.read_bytes()).hexdigest()}.*pins"):
        fleet.load_checkpoint(bad, fleet.CHECKPOINT_SHA256)


def test_the_fleet_entry_re_executes(tmp_path: Path) -> None:
    """The header pins the module's current hash; two records (small and large tier) re-execute."""
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.record import read_records
    from a2gym.leaderboard.validate import validate_files

    spec = "agents.fleet:make"
    path = ROOT / "leaderboard" / "geoserve-v1-fleet.jsonl"
    header, records = read_records(path)
    assert (header.policy, header.trained_on_test, header.suite) == (spec, False, "a2-test-v1")
    assert header.policy_sha256 == resolve_policy(spec).sha256
    assert len(records) == 60 and {r.env_id for r in records} == {"a2gym/GeoServeCapacity-v0"}
    lines = path.read_text().splitlines()
    pick = [j for j, r in enumerate(records, 1)
            if r.seed == 10_000 and r.scenario_uri.endswith(("small-0", "large-0"))]
    few = tmp_path / "geoserve-v1-fleet.jsonl"
    few.write_text("\n".join([lines[0]] + [lines[j] for j in pick]) + "\n")
    good, problems = validate_files([few], rerun=True)
    assert len(pick) == 2 and problems == [] and len(good) == 2
