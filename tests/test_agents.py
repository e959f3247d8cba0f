"""Tests of the agent scripts (agents.train / agents.evaluate) on the real a2gym envs.

Training runs are short (2,048 steps, small rollouts) and run in subprocesses exactly as a user would
start them; each test reads back what the run wrote (config.yml, checkpoints, TensorBoard events,
JSONL records).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import a2gym  # noqa: F401  (registers the envs)
from agents.common import (
    AgentConfigError,
    action_mask,
    invalid_action_settings,
    load_hyperparams,
    make_env,
    parse_key_values,
)
from agents.metrics import episode_metrics
from agents.train import saved_timesteps
from agents.wrappers import ScenarioPool, pool_uris

REPO = Path(__file__).resolve().parents[1]
PLACEMENT = "a2gym/Placement-v0"
GEOSERVE = "a2gym/GeoServe-v0"
SMALL = {  # per algorithm: tiny rollouts so 2,048 steps take seconds
    "ppo": ["n_steps=64", "batch_size=64", "n_epochs=2"],
    "maskable_ppo": ["n_steps=64", "batch_size=64", "n_epochs=2"],
    "a2c": ["n_steps=8"],
    "dqn": ["learning_starts=256", "buffer_size=5000"],
}
# Every algorithm logs these; episodes of agents without masks may all fail early in 2,048 steps, so the
# cost breakdown (which needs a completed episode) is required of MaskablePPO only.
CUSTOM_SCALARS = ("a2gym/steps_per_second", "a2gym/score", "a2gym/failed", "a2gym/episodes")
COST_SCALARS = ("a2gym/episode_cost", "a2gym/cost_compute", "a2gym/cost_bandwidth", "a2gym/cost_deployment",
                "a2gym/cost_slo_penalty", "a2gym/reference_cost")


def run_module(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` in the repository root (as a user runs the scripts)."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def train(log_dir: Path, algo: str, env_id: str = PLACEMENT, steps: int = 2048, *extra: str,
          name: str = "run") -> Path:
    """Train in a subprocess; return the run dir (fails the test with the subprocess output on error)."""
    proc = run_module("agents.train", "--algo", algo, "--env", env_id, "--seed", "3", "--total-timesteps",
                      str(steps), "--log-dir", str(log_dir), "--run-name", name, "--no-progress-bar",
                      "--hyperparams", *SMALL[algo], "checkpoint_freq=1024", "eval_freq=1024", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return log_dir / algo / name


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of the run's TensorBoard directory: tag -> [(step, value)]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def maskable_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short MaskablePPO run on Placement-v0, shared by the evaluation tests."""
    return train(tmp_path_factory.mktemp("runs"), "maskable_ppo")


# --- training: every algorithm writes its scalars and checkpoints ------------------------------------------

@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "maskable_ppo"])
def test_short_run_writes_custom_scalars_checkpoint_and_best_model(tmp_path: Path, algo: str) -> None:
    run_dir = train(tmp_path, algo)
    tags = scalars(run_dir)
    wanted = CUSTOM_SCALARS + (COST_SCALARS if algo == "maskable_ppo" else ())
    missing = [t for t in wanted if t not in tags]
    assert not missing, f"missing TensorBoard scalars {missing}; have {sorted(tags)}"
    assert all(v > 0 for _, v in tags["a2gym/steps_per_second"])
    assert tags["a2gym/episodes"][-1][1] > 0
    assert all(0 <= v < 10 for _, v in tags["a2gym/score"])
    if algo == "maskable_ppo":  # masks: no episode fails, every one has a cost and a score > 0
        assert all(v > 0 for _, v in tags["a2gym/episode_cost"]) and all(
            v == 0 for _, v in tags["a2gym/failed"]
        )
        assert all(v > 0 for _, v in tags["a2gym/score"])
    assert (run_dir / "checkpoints" / "rl_model_1024_steps.zip").exists()
    assert saved_timesteps(run_dir / "checkpoints" / "rl_model_1024_steps.zip") == 1024
    assert saved_timesteps(run_dir / "model.zip") == 2048
    assert (run_dir / "best_model.zip").exists()
    cfg = yaml.safe_load((run_dir / "config.yml").read_text())
    assert (
        cfg["algo"] == algo
        and cfg["env"] == PLACEMENT
        and cfg["seed"] == 3
        and cfg["total_timesteps"] == 2048
    )
    assert cfg["hyperparams"]["checkpoint_freq"] == 1024  # the command-line override is in the resolved set


def test_maskable_ppo_on_geoserve(tmp_path: Path) -> None:
    """GeoServe's masks (a (may be 0, may be 1) pair per facility) reach MaskablePPO; VecNormalize stats are
    saved."""
    run_dir = train(tmp_path, "maskable_ppo", GEOSERVE, 512, "n_envs=2", "eval_freq=0", "checkpoint_freq=256")
    assert saved_timesteps(run_dir / "model.zip") >= 512
    assert "a2gym/steps_per_second" in scalars(run_dir)
    if yaml.safe_load((run_dir / "config.yml").read_text())["hyperparams"]["normalize"]:
        assert (run_dir / "vecnormalize.pkl").exists()
        assert list((run_dir / "checkpoints").glob("rl_model_vecnormalize_*_steps.pkl"))


# --- resume
# --------------------------------------------------------------------------------------------------


def test_resume_continues_from_the_saved_step(tmp_path: Path) -> None:
    run_dir = train(tmp_path, "ppo", PLACEMENT, 1536)
    # Simulate a run killed after its 1024-step checkpoint: only the checkpoint survives.
    (run_dir / "model.zip").unlink()
    first_events = set((run_dir / "tb").iterdir())
    proc = run_module(
        "agents.train", "--resume", str(run_dir), "--total-timesteps", "2048", "--no-progress-bar"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = yaml.safe_load((run_dir / "config.yml").read_text())
    assert cfg["resumes"][-1]["steps"] == 1024
    assert cfg["resumes"][-1]["from"] == "checkpoints/rl_model_1024_steps.zip"
    assert cfg["total_timesteps"] == 2048
    assert saved_timesteps(run_dir / "model.zip") == 2048
    new_events = set((run_dir / "tb").iterdir()) - first_events
    assert len(new_events) == 1, "the resumed segment logs into the same tb/ directory"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(next(iter(new_events))), size_guidance={"scalars": 0})
    acc.Reload()
    steps = [e.step for e in acc.Scalars("a2gym/steps_per_second")]
    assert steps and min(steps) > 1024 and max(steps) == 2048, steps


def test_resume_of_a_finished_run_does_nothing(tmp_path: Path, maskable_run: Path) -> None:
    proc = run_module("agents.train", "--resume", str(maskable_run), "--no-progress-bar")
    assert proc.returncode == 0 and "nothing to do" in proc.stdout


def test_run_names_are_deterministic_and_an_existing_run_is_refused(
    tmp_path: Path, maskable_run: Path
) -> None:
    from agents.common import AgentConfigError
    from agents.train import new_run_dir

    assert new_run_dir(tmp_path, "ppo", PLACEMENT, 0, None) == tmp_path / "ppo" / "a2gym-Placement-v0_s0"
    (tmp_path / "ppo" / "a2gym-Placement-v0_s0" / "config.yml").write_text("x")
    with pytest.raises(AgentConfigError, match="--resume"):
        new_run_dir(tmp_path, "ppo", PLACEMENT, 0, None)
    # the same command again names the same run: refused (exit 2), so --resume of that name is the way on
    proc = run_module("agents.train", "--algo", "maskable_ppo", "--env", PLACEMENT, "--seed", "3",
                      "--log-dir", str(maskable_run.parent.parent), "--run-name", maskable_run.name,
                      "--total-timesteps", "64")
    assert proc.returncode == 2 and "already exists" in proc.stderr


def test_training_ends_with_a_final_score(tmp_path: Path) -> None:
    proc = run_module("agents.train", "--algo", "maskable_ppo", "--env", PLACEMENT, "--seed", "1",
                      "--total-timesteps", "256", "--log-dir", str(tmp_path), "--no-progress-bar",
                      "--hyperparams", *SMALL["maskable_ppo"], "eval_freq=128", "n_eval_episodes=1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("final score"))
    assert 0 < float(line.split("= ")[1].split(",")[0]) < 10


# --- evaluation
# ----------------------------------------------------------------------------------------------


def evaluate_to(path: Path, *args: str) -> list[dict]:
    proc = run_module("agents.evaluate", *args, "--out", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header, *lines = path.read_text().splitlines()
    assert json.loads(header)["format"] == "a2gym-entry" and json.loads(header)["suite"] is None
    return [json.loads(line) for line in lines]


def test_evaluate_reproduces_costs_for_the_same_seeds(tmp_path: Path, maskable_run: Path) -> None:
    a = evaluate_to(tmp_path / "a.jsonl", "--run", str(maskable_run), "--episodes", "2", "--seed", "7")
    b = evaluate_to(tmp_path / "b.jsonl", "--run", str(maskable_run), "--episodes", "2", "--seed", "7")
    assert [r["seed"] for r in a] == [7, 8]
    for ra, rb in zip(a, b, strict=True):
        assert ra["actions"] == rb["actions"] and ra["cost"] == rb["cost"] and ra["return"] == rb["return"]
        assert (
            ra["cost"] > 0 and ra["actions"][-1] == gym.make(PLACEMENT).action_space.n - 1
        )  # ends with STOP


def test_evaluate_records_replay_in_a2gym_validate(tmp_path: Path, maskable_run: Path) -> None:
    from a2gym.leaderboard.validate import validate_files

    evaluate_to(tmp_path / "r.jsonl", "--run", str(maskable_run), "--episodes", "2", "--model", "last")
    records, problems = validate_files([tmp_path / "r.jsonl"])
    assert not problems and len(records) == 2


def test_evaluate_reference_policy_scores_one(tmp_path: Path) -> None:
    recs = evaluate_to(tmp_path / "ref.jsonl", "--policy", "reference", "--env", PLACEMENT, "--episodes", "1")
    assert recs[0]["return"] == pytest.approx(-1.0, rel=1e-9)


# --- warm start and scenario pool -------------------------------------------------------------------------

def test_behaviour_cloning_warm_start_fits_the_reference(tmp_path: Path) -> None:
    """pretrain_episodes clones the reference before RL; the fit is logged under pretrain/."""
    run_dir = train(tmp_path, "maskable_ppo", PLACEMENT, 256, "pretrain_episodes=2", "pretrain_epochs=60",
                    "eval_freq=0")
    tags = scalars(run_dir)
    assert tags["pretrain/samples"][0][1] >= 2
    assert tags["pretrain/action_accuracy"][0][1] >= 0.9, tags["pretrain/action_accuracy"]


def test_scenario_pool_draws_only_pool_scenarios_reproducibly() -> None:
    uris = pool_uris("generator://synth-v0/5?classes=6&regions=3", 3)
    assert uris[0] == "generator://synth-v0/5?classes=6&regions=3" and uris[2].startswith("generator://synth-v0/7?")

    def drawn(seed: int) -> list[str]:
        env = ScenarioPool(gym.make(PLACEMENT, scenario=uris[0], resample=True), uris)
        env.reset(seed=seed)
        out = [env.unwrapped.scenario.uri]
        for _ in range(7):
            env.reset()
            out.append(env.unwrapped.scenario.uri)
        return out

    first = drawn(1)
    assert set(first) <= set(uris) and len(set(first)) > 1
    assert drawn(1) == first


# --- errors before any training -----------------------------------------------------------------------------

def test_bad_hyperparameter_name_fails_before_training(tmp_path: Path) -> None:
    proc = run_module("agents.train", "--algo", "ppo", "--env", PLACEMENT, "--log-dir", str(tmp_path / "x"),
                      "--hyperparams", "n_stepz=64")
    assert proc.returncode == 2
    assert "unknown hyperparameter 'n_stepz'" in proc.stderr and "did you mean 'n_steps'" in proc.stderr
    assert not (tmp_path / "x").exists(), "nothing may be written before the configuration is valid"


def test_bad_env_id_fails_before_training(tmp_path: Path) -> None:
    proc = run_module(
        "agents.train", "--algo", "ppo", "--env", "a2gym/Placment-v0", "--log-dir", str(tmp_path / "x")
    )
    assert proc.returncode == 2
    assert "unknown env id 'a2gym/Placment-v0'" in proc.stderr and "a2gym/Placement-v0" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_dqn_refuses_multidiscrete_geoserve(tmp_path: Path) -> None:
    proc = run_module("agents.train", "--algo", "dqn", "--env", GEOSERVE, "--log-dir", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert "DQN needs a Discrete action space" in proc.stderr and "MultiDiscrete" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_bad_yaml_value_names_are_checked_in_process() -> None:
    with pytest.raises(AgentConfigError, match="unknown hyperparameter 'learning_rat'"):
        load_hyperparams("maskable_ppo", PLACEMENT, {"learning_rat": 1e-3})
    with pytest.raises(AgentConfigError, match="unknown algorithm"):
        load_hyperparams("sac", PLACEMENT)
    with pytest.raises(AgentConfigError, match="key=value"):
        parse_key_values(["n_steps"])


# --- small pieces
# ----------------------------------------------------------------------------------------------


def test_parse_key_values_reads_yaml_and_dotted_keys() -> None:
    got = parse_key_values(["lr=3e-4", "policy_kwargs.net_arch=[64, 64]", "normalize=true", "name=abc"])
    assert got == {"lr": 3e-4, "policy_kwargs": {"net_arch": [64, 64]}, "normalize": True, "name": "abc"}


def test_geoserve_mask_layout() -> None:
    env = gym.make(GEOSERVE)
    env.reset(seed=0)
    mask = action_mask(env)
    n = env.action_space.shape[0]
    assert mask.shape == (2 * n,) and mask.reshape(n, 2)[:, 0].all()  # a facility may always be closed


def test_masked_actions_are_noops_then_a_failure() -> None:
    """Agents without masks meet the env's own masked-action handling, with the YAML settings."""
    env = make_env(PLACEMENT, {}, invalid=invalid_action_settings({"max_invalid_actions": 3}))
    assert env.unwrapped.make_kwargs()["max_invalid_actions"] == 3
    obs0, _ = env.reset(seed=0)
    stop = env.action_space.n - 1  # STOP is masked while classes are unserved
    for _ in range(2):
        obs, reward, terminated, truncated, info = env.step(stop)
        assert reward == -0.1 and not terminated and not truncated and info["invalid_action"]
        assert np.array_equal(obs, obs0) and info["cost"] == 0.0
    _, reward, terminated, truncated, info = env.step(stop)
    assert reward == -10.0 and terminated and not truncated and info["failed"]
    assert episode_metrics(info) == {"score": 0.0, "failed": 1.0}
    # default settings pass no kwargs (records keep the suite's env_kwargs; GeoServe has no failure run)
    assert make_env(GEOSERVE, {}, invalid=invalid_action_settings({})).unwrapped.invalid_action == "noop"


def test_bad_hyperparameter_value_fails_cleanly_and_leaves_no_run_dir(tmp_path: Path) -> None:
    from agents.train import main

    code = main(
        [
            "--algo",
            "ppo",
            "--env",
            PLACEMENT,
            "--hyperparams",
            "n_steps=abc",
            "--total-timesteps",
            "64",
            "--log-dir",
            str(tmp_path),
            "--no-progress-bar",
        ]
    )
    assert code == 2  # was a TypeError traceback from inside PPO
    assert not list(tmp_path.rglob("config.yml")), "a run dir that --resume cannot continue was left behind"
