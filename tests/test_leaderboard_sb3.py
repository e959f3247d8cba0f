"""One SB3 loader (:mod:`a2gym.sb3`): VecNormalize applied in every path, masks for MaskablePPO, pinned
hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from a2gym.errors import RecordError
from tests.test_leaderboard import TINY

pytest.importorskip("sb3_contrib")

ENV = "a2gym/Placement-v0"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory like agents.train writes with normalize: true (model.zip, vecnormalize.pkl, config)."""
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from a2gym.leaderboard.episode import suite_env

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("run")
    venv = VecNormalize(
        DummyVecEnv([lambda: suite_env(ENV, TINY.entries[0].scenarios[0], {})]), norm_reward=False
    )
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(40):  # move the running statistics away from (0, 1)
        mask = venv.env_method("action_masks")[0]
        _, _, done, _ = venv.step(np.array([rng.choice(np.flatnonzero(mask))]))
    model = MaskablePPO("MlpPolicy", venv, n_steps=16, batch_size=16, seed=0, device="cpu")
    model.save(d / "model.zip")
    venv.save(str(d / "vecnormalize.pkl"))
    (d / "config.yml").write_text(yaml.safe_dump({"algo": "maskable_ppo", "env": ENV, "env_kwargs": {},
                                                  "hyperparams": {"normalize": True}}))
    return d


def test_loader_applies_vecnormalize_from_a_zip_and_a_run_dir(run_dir: Path) -> None:
    import pickle

    from a2gym.leaderboard.episode import suite_env
    from a2gym.sb3 import load_model

    env = suite_env(ENV, TINY.entries[0].scenarios[0], {})
    obs, info = env.reset(seed=0)
    with (run_dir / "vecnormalize.pkl").open("rb") as f:
        stats = pickle.load(f)  # what VecNormalize.load unpickles
    for path in (run_dir, run_dir / "model.zip"):
        m = load_model(path)
        assert m.files.algo == "maskable_ppo" and m.normalizer is not None and m.masked
        assert np.allclose(m.normalize(obs), stats.normalize_obs(obs)) and not np.allclose(
            m.normalize(obs), obs
        )
        want, _ = m.model.predict(
            stats.normalize_obs(obs), deterministic=True, action_masks=info["action_mask"]
        )
        assert m.act(obs, info["action_mask"]) == want


def test_missing_statistics_of_a_normalized_run_are_refused(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    from a2gym.sb3 import ModelError, load_model

    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    (d / "vecnormalize.pkl").unlink()
    with pytest.raises(ModelError, match="normalize: true but its VecNormalize statistics"):
        load_model(d)


def test_agents_evaluate_and_the_leaderboard_use_the_same_loader(run_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from a2gym.cli import main
    from a2gym.leaderboard import suite as suite_mod
    from a2gym.leaderboard.episode import suite_env
    from a2gym.leaderboard.record import read_records
    from a2gym.sb3 import model_files
    from agents.evaluate import model_actor

    env = suite_env(ENV, TINY.entries[0].scenarios[0], {})
    obs, info = env.reset(seed=0)
    act, cfg = model_actor(run_dir, "last")
    assert cfg["model_sha256"] == model_files(run_dir / "model.zip").sha256
    from a2gym.sb3 import load_model

    assert act(obs, info, env) == load_model(run_dir).act(obs, info["action_mask"])
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    monkeypatch.setattr("a2gym.leaderboard.policy.policy_root", lambda: run_dir.parent)  # "the repository"
    out = tmp_path / "agent.jsonl"
    res = CliRunner().invoke(main, ["eval", "--policy", f"sb3:{run_dir}", "--name", "tiny-agent",
                                    "--trained-on-test", "--out", str(out)])
    assert res.exit_code == 0, res.output
    header, recs = read_records(out)
    assert header.policy_sha256 == model_files(run_dir).sha256 and len(recs) == 10
    from a2gym.leaderboard.validate import validate_files

    assert validate_files([out], rerun=True)[1] == []


def test_a_model_for_other_spaces_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym
    from sb3_contrib import MaskablePPO

    from a2gym.leaderboard.evaluate import evaluate_episode
    from a2gym.leaderboard.policy import resolve_policy

    other = gym.make(ENV, scenario="generator://synth-v0/3?classes=6&regions=2&models=2&datas=2&types=1")
    MaskablePPO("MlpPolicy", other, n_steps=16, batch_size=16, seed=0, device="cpu").save(tmp_path / "m.zip")
    monkeypatch.setattr("a2gym.leaderboard.policy.policy_root", lambda: tmp_path)  # "the repository"
    policy = resolve_policy(f"sb3:{tmp_path / 'm.zip'}")
    try:
        with pytest.raises(RecordError, match="was trained with observation_space"):
            evaluate_episode(ENV, {}, TINY.entries[0].scenarios[0], 10_000, policy)
    finally:
        policy.close()
