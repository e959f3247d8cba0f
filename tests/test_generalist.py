"""The attention policy (agents.attention), its training (agents.generalist) and the published generalists."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("sb3_contrib")
import torch as th  # noqa: E402
from sb3_contrib import MaskablePPO  # noqa: E402

import a2gym  # noqa: E402,F401
from agents.attention import SetsAttentionPolicy  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "results" / "agents" / "runs"
SMALL = "generator://synth-v0/3?classes=9&regions=4&models=3&datas=5"


def _model(env_id: str, seed: int = 0) -> MaskablePPO:
    th.manual_seed(seed)
    env = gym.make(env_id, scenario=SMALL, observation="sets")
    return MaskablePPO(SetsAttentionPolicy, env, seed=seed, device="cpu", n_steps=32, batch_size=32,
                       policy_kwargs={"d_model": 32, "n_heads": 4, "n_layers": 2})


def _obs_after_steps(env_id: str, steps: int = 2) -> dict[str, np.ndarray]:
    from a2gym.policies import reference_policy

    env = gym.make(env_id, scenario=SMALL, observation="sets")
    obs, info = env.reset(seed=0)
    policy = reference_policy(env)
    for _ in range(steps):
        obs, _, _, _, info = env.step(policy(obs, info))
    return obs


def _permute(obs: dict[str, np.ndarray], pc: np.ndarray, pf: np.ndarray) -> dict[str, np.ndarray]:
    """Permute the valid classes by pc and the valid facilities by pf (new row j = old row p[j])."""
    out = {k: v.copy() for k, v in obs.items()}
    nc, nf = len(pc), len(pf)
    out["classes"][:nc] = obs["classes"][pc]
    out["facilities"][:nf] = obs["facilities"][pf]
    out["pair_cost"][:nc, :nf] = obs["pair_cost"][np.ix_(pc, pf)]
    if "action_cost" in obs:
        out["action_cost"][:nf] = obs["action_cost"][pf]
    return out


def _logits(model: MaskablePPO, obs: dict[str, np.ndarray]) -> np.ndarray:
    with th.no_grad():
        return model.policy.logits({k: th.as_tensor(v[None]) for k, v in obs.items()})[0].numpy()


@pytest.mark.parametrize("env_id", ["a2gym/Placement-v0", "a2gym/Scheduling-v0"])
def test_action_distribution_is_equivariant_to_permutations(env_id):
    from a2gym.envs.sets import MAX_DATA_VERSIONS, MAX_FACILITIES

    model = _model(env_id)
    obs = _obs_after_steps(env_id)
    nc, nf = int(obs["class_valid"].sum()), int(obs["facility_valid"].sum())
    rng = np.random.default_rng(0)
    pc, pf = rng.permutation(nc), rng.permutation(nf)
    base, perm = _logits(model, obs), _logits(model, _permute(obs, pc, pf))
    if env_id.endswith("Placement-v0"):
        assert np.allclose(perm[:nf], base[pf], atol=1e-5)
        assert np.isclose(perm[MAX_FACILITIES], base[MAX_FACILITIES], atol=1e-5)  # STOP
    else:
        b, p = (
            base.reshape(MAX_FACILITIES, MAX_DATA_VERSIONS),
            perm.reshape(MAX_FACILITIES, MAX_DATA_VERSIONS),
        )
        assert np.allclose(p[:nf], b[pf], atol=1e-5)
    assert (
        not np.allclose(base[:nf], base[pf][:nf], atol=1e-5) or nf == 1
    )  # the logits do depend on the token
    with th.no_grad():
        value = model.policy.predict_values({k: th.as_tensor(v[None]) for k, v in obs.items()})
        value_p = model.policy.predict_values(
            {k: th.as_tensor(v[None]) for k, v in _permute(obs, pc, pf).items()}
        )
    assert float(value) == pytest.approx(float(value_p), abs=1e-5)


@pytest.mark.slow
def test_short_cloning_run_on_mixed_sizes_improves_the_return():
    from agents.generalist import clone_reference, evaluate_uris

    th.set_num_threads(1)
    env_id = "a2gym/Placement-v0"
    model = _model(env_id, seed=1)
    env = gym.make(env_id, scenario=SMALL, observation="sets")
    train = ["generator://synth-v0/11?classes=6&regions=3&models=3&datas=4",
             "generator://synth-v0/12?classes=10&regions=4&models=3&datas=5",
             "generator://synth-v0/13?classes=8&regions=3&models=4&datas=4"]
    val = [
        f"generator://synth-v0/{900 + j}?classes={c}&regions=3&models=3&datas=4"
        for j, c in enumerate((6, 9, 12))
    ]
    before = evaluate_uris(env, model.policy, val)
    rows = clone_reference(model, env, train, val, rounds=2, episodes=6, epochs=15, lr=3e-3, batch=16, seed=0,
                           log=lambda *_: None)
    after = evaluate_uris(env, model.policy, val)
    assert after > before + 0.05, (before, after, rows)


@pytest.mark.parametrize("name,env_id", [("placement-general", "a2gym/Placement-v0"),
                                         ("scheduling-general", "a2gym/Scheduling-v0")])
def test_committed_checkpoint_plays_a_size_it_never_saw(name, env_id, tmp_path):
    from agents.evaluate import main

    uri = "generator://synth-v0/77?classes=100&regions=9&models=8&datas=15"  # training had <= 40 classes
    out = tmp_path / "eval.jsonl"
    assert main(["--run", str(RUNS / name), "--env-kwargs", f"scenario={uri}", "--episodes", "1",
                 "--seed", "3", "--out", str(out)]) == 0
    import json

    rec = [r for r in map(json.loads, out.read_text().splitlines()) if "actions" in r][0]
    assert len(rec["actions"]) >= 1 and rec["cost"] > 0
    assert rec["return"] == pytest.approx(-rec["cost"] / (rec["cost"] / -rec["return"]))


def test_checkpoint_refuses_an_env_with_other_spaces(capsys):
    from agents.evaluate import main

    assert main(["--run", str(RUNS / "placement-general"), "--env-kwargs", "observation=plain",
                 "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert "observation space Dict" in err and "observation space Box" in err


@pytest.mark.parametrize("name,env_id", [("placement-general", "a2gym/Placement-v0"),
                                         ("scheduling-general", "a2gym/Scheduling-v0")])
def test_plain_env_adapter_takes_the_same_actions_as_the_sets_env(name, env_id):
    from agents.evaluate import model_actor
    from agents.generalist import plain_env_policy

    uri = "scenario://a2-test-v0/placement-1"
    sets_env = gym.make(env_id, scenario=uri, observation="sets")
    plain_env = gym.make(env_id, scenario=uri)
    actor, _ = model_actor(RUNS / name)
    policy = plain_env_policy(RUNS / name)(plain_env)
    obs, info = sets_env.reset(seed=0)
    pobs, pinfo = plain_env.reset(seed=0)
    done = False
    while not done:
        a = int(actor(obs, info, sets_env))
        pa = policy(pobs, pinfo)
        assert sets_env.unwrapped.padded_action(pa) == a
        obs, r, done, _, info = sets_env.step(a)
        pobs, pr, pdone, _, pinfo = plain_env.step(pa)
        assert (r, done) == (pr, pdone)
    assert info["cost"] == pinfo["cost"]


@pytest.mark.parametrize("name", ["placement-general", "scheduling-general"])
def test_generalists_records_replay(name):
    """The committed records of the published generalists (agents.evaluate, paper default, 5 seeds) replay."""
    from a2gym.leaderboard.validate import validate_files

    path = REPO / "results" / "agents" / "generalists" / "records" / f"{name}.jsonl"
    good, problems = validate_files([path])
    assert not problems and len(good) == 5
    assert all(r.env_kwargs.get("observation") == "sets" for r in good)
    assert '"trained_on_test": false' in path.read_text().splitlines()[0]  # the entry header
