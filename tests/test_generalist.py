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


# The generalists as leaderboard policies (agents.generalist_entry): a shadow sets env behind the plain one.
ENTRY = "agents.generalist_entry:make"
ENVS = [("placement-general", "a2gym/Placement-v0"), ("scheduling-general", "a2gym/Scheduling-v0")]


def _ctx(env_id: str, uri: str, seed: int = 10_000):
    from a2gym.heuristics import context_of
    from a2gym.leaderboard.suite import STRICT

    return context_of(gym.make(env_id, scenario=uri, **STRICT), seed)


@pytest.mark.parametrize("name,env_id", ENVS)
def test_leaderboard_policy_takes_the_actions_of_the_model_on_the_sets_env(name, env_id):
    """A full suite episode through the leaderboard's path equals the model driving the sets env itself."""
    from a2gym.leaderboard.evaluate import run_policy
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.suite import STRICT
    from a2gym.sb3 import load_model

    uri, seed = "scenario://a2-test-v1/small-1", 10_002
    run = run_policy(env_id, dict(STRICT), uri, seed, resolve_policy(ENTRY))
    model = load_model(RUNS / name)
    env = gym.make(env_id, scenario=uri, observation="sets", **STRICT)
    obs, info = env.reset(seed=seed)
    padded, done = [], False
    while not done:
        a = int(model.act(obs, info["action_mask"]))
        padded.append(a)
        obs, _, terminated, truncated, info = env.step(a)
        done = terminated or truncated
    assert [env.unwrapped.padded_action(int(p)) for p in run.actions] == padded
    assert run.cost == pytest.approx(info["cost"], rel=1e-12)


@pytest.mark.parametrize("tampered", ["best_model.zip", "config.yml"])
def test_a_checkpoint_other_than_the_pinned_one_is_refused(tampered, tmp_path, monkeypatch):
    import hashlib
    import shutil

    import agents.generalist_entry as entry
    from a2gym.sb3 import ModelError

    shutil.copytree(RUNS / "placement-general", tmp_path / "placement-general")
    path = tmp_path / "placement-general" / tampered
    path.write_bytes(path.read_bytes() + b"\n")
    monkeypatch.setattr(entry, "RUNS", tmp_path)
    monkeypatch.setattr(entry, "_MODELS", {})
    with pytest.raises(ModelError) as e:
        entry.make(_ctx("a2gym/Placement-v0", "scenario://a2-test-v1/small-0"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() in str(e.value)
    assert entry.PINNED["placement-general"][tampered] in str(e.value) and "refusing" in str(e.value)


def test_pinned_hashes_are_those_of_the_published_runs():
    import hashlib

    from agents.generalist_entry import PINNED

    for name, files in PINNED.items():
        for f, sha in files.items():
            assert hashlib.sha256((RUNS / name / f).read_bytes()).hexdigest() == sha, (name, f)


def test_a_scenario_larger_than_the_sets_maxima_fails_naming_the_size():
    from a2gym.errors import ScenarioError
    from agents.generalist_entry import make

    with pytest.raises(ScenarioError, match=r"130 classes, more than the sets observation's maximum of 128"):
        make(_ctx("a2gym/Placement-v0", "generator://synth-v0/5?classes=130&regions=3&models=3&datas=4"))


@pytest.mark.parametrize("name,env_id", ENVS)
def test_the_shadow_env_refuses_to_act_out_of_sync(name, env_id):
    from agents.generalist_entry import ShadowDivergedError, make

    uri = "scenario://a2-test-v1/small-1"
    ctx = _ctx(env_id, uri)
    real = gym.make(env_id, scenario=uri, invalid_action="raise")
    obs, info = real.reset(seed=ctx.seed)
    policy = make(ctx)
    obs, _, _, _, info = real.step(policy(obs, info))
    with pytest.raises(ShadowDivergedError, match="step 1: .*cost"):
        policy(obs, {**info, "cost": info["cost"] * 1.01})
    mask = info["action_mask"].copy()
    mask[np.flatnonzero(mask)[0]] = False
    with pytest.raises(ShadowDivergedError, match="step 1: .*action mask"):
        policy(obs, {**info, "action_mask": mask})
    with pytest.raises(ShadowDivergedError, match="step 1: .*observation"):
        policy(np.asarray(obs) * 0.5, info)
    policy(obs, info)  # in sync: acts


@pytest.mark.parametrize("name,env_id", ENVS)
def test_committed_leaderboard_entries_re_execute(name, env_id, tmp_path):
    """Header pins this module's current hash; a few records (small and paper-default tiers) re-execute.

    The full ``a2gym validate --rerun`` of both files took 71 s on the shared 2-core machine."""
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.record import read_records
    from a2gym.leaderboard.validate import validate_files

    path = REPO / "leaderboard" / f"{name}.jsonl"
    header, records = read_records(path)
    assert (header.policy, header.trained_on_test, header.suite) == (ENTRY, False, "a2-test-v1")
    assert header.policy_sha256 == resolve_policy(ENTRY).sha256
    assert len(records) == 60 and {r.env_id for r in records} == {env_id}
    lines = path.read_text().splitlines()
    few = tmp_path / f"{name}.jsonl"
    few.write_text("\n".join([lines[0], lines[1], lines[31]]) + "\n")
    assert "paper-0" in lines[31]
    good, problems = validate_files([few], rerun=True)
    assert problems == [] and len(good) == 2
