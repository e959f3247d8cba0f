"""Tests of ``--algo vec_ppo`` (agents.vec_ppo): a short real training run through ``python -m agents.train``
(TensorBoard scalars, checkpoints, best model), ``--resume`` continuing the step count, ``agents.evaluate``
loading the run, and masked actions never being sampled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import a2gym  # noqa: F401  (registers the envs)
from agents.train import latest_model, saved_timesteps
from agents.vec_ppo import VecPPO, make_vector_env, sample_masked

REPO = Path(__file__).resolve().parents[1]
PLACEMENT = "a2gym/Placement-v0"
SMALL = ["n_envs=16", "n_steps=16", "batch_size=128", "checkpoint_freq=1000", "eval_freq=1000"]
SCALARS = ("a2gym/steps_per_second", "a2gym/score", "a2gym/failed", "a2gym/episodes", "a2gym/episode_cost",
           "a2gym/cost_compute", "a2gym/cost_bandwidth", "a2gym/cost_deployment", "a2gym/cost_slo_penalty",
           "a2gym/reference_cost", "rollout/ep_rew_mean", "train/policy_gradient_loss", "train/value_loss",
           "train/approx_kl", "eval/mean_reward", "time/fps")


def run_module(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def scalars(path: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def vec_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short vec_ppo run on Placement-v0 (3,000 env steps)."""
    log_dir = tmp_path_factory.mktemp("runs")
    proc = run_module("agents.train", "--algo", "vec_ppo", "--env", PLACEMENT, "--seed", "3",
                      "--total-timesteps", "3000", "--log-dir", str(log_dir), "--run-name", "run",
                      "--no-progress-bar", "--hyperparams", *SMALL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "final score" in proc.stdout
    return log_dir / "vec_ppo" / "run"


def test_short_run_writes_scalars_checkpoints_and_best_model(vec_run: Path) -> None:
    tags = scalars(vec_run / "tb")
    missing = [t for t in SCALARS if t not in tags]
    assert not missing, f"missing TensorBoard scalars {missing}; have {sorted(tags)}"
    assert all(v > 0 for _, v in tags["a2gym/steps_per_second"])
    assert all(v == 0 for _, v in tags["a2gym/failed"]), "masks: no episode fails"
    assert all(0 < v < 10 for _, v in tags["a2gym/score"])
    assert tags["a2gym/episodes"][-1][1] > 0
    ckpts = sorted((vec_run / "checkpoints").glob("rl_model_*_steps.zip"))
    assert len(ckpts) >= 2
    for c in ckpts:  # named by the exact step count saved inside
        assert saved_timesteps(c) == int(c.name.split("_")[2])
    assert saved_timesteps(vec_run / "model.zip") >= 3000
    assert (vec_run / "best_model.zip").exists() and (vec_run / "eval" / "evaluations.npz").exists()
    cfg = yaml.safe_load((vec_run / "config.yml").read_text())
    assert cfg["algo"] == "vec_ppo" and cfg["env"] == PLACEMENT and cfg["total_timesteps"] == 3000
    assert cfg["hyperparams"]["n_envs"] == 16 and cfg["hyperparams"]["n_epochs"] == 1  # YAML + overrides


def test_resume_continues_the_step_count(tmp_path: Path, vec_run: Path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(vec_run, run_dir)
    (run_dir / "model.zip").unlink()  # as if killed: only the checkpoints survive
    found = latest_model(run_dir)
    assert found is not None
    ckpt, at = found
    first_events = set((run_dir / "tb").iterdir())
    proc = run_module("agents.train", "--resume", str(run_dir), "--total-timesteps", "5000",
                      "--no-progress-bar")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = yaml.safe_load((run_dir / "config.yml").read_text())
    assert cfg["resumes"][-1] == {**cfg["resumes"][-1], "steps": at, "from": f"checkpoints/{ckpt.name}"}
    assert saved_timesteps(run_dir / "model.zip") >= 5000
    new_events = set((run_dir / "tb").iterdir()) - first_events
    assert len(new_events) == 1, "the resumed segment logs into the same tb/ directory"
    steps = [s for s, _ in scalars(next(iter(new_events)))["a2gym/steps_per_second"]]
    assert steps and min(steps) > at and max(steps) >= 5000, steps


def test_evaluate_loads_the_run(tmp_path: Path, vec_run: Path) -> None:
    out = tmp_path / "eval.jsonl"
    proc = run_module("agents.evaluate", "--run", str(vec_run), "--episodes", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mean score" in proc.stdout and "failed 0/2" in proc.stdout
    assert len(out.read_text().splitlines()) == 3  # header + 2 records
    proc = run_module("a2gym.cli", "validate", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_masked_actions_are_never_sampled() -> None:
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        logits = torch.from_numpy(rng.normal(0, 20, (256, 37)).astype(np.float32))
        mask = torch.from_numpy(rng.random((256, 37)) < rng.random((256, 1)))
        mask[np.arange(256), rng.integers(0, 37, 256)] = True  # some action valid in every row
        logits[~mask] += 50.0  # the masked actions would be the likeliest
        a = sample_masked(logits.masked_fill(~mask, -1e8), gen)
        assert bool(mask[torch.arange(256), a].all())
    venv = make_vector_env(PLACEMENT, {"scenario": "generator://synth-v0/1?classes=8&regions=3"}, 8)
    algo = VecPPO(venv, n_steps=64, batch_size=64, seed=0)
    algo.reset(0)
    algo.collect()
    chosen = algo.buf_mask.gather(2, algo.buf_act[..., None]).squeeze(-1).numpy()
    assert chosen[algo.buf_valid].all(), "a masked action was sampled"
    assert algo.drain_episodes()["failed"].sum() == 0
    venv.close()


def test_advantages_cut_at_episode_ends_and_skip_autoreset_steps() -> None:
    venv = make_vector_env(PLACEMENT, {"scenario": "generator://synth-v0/1?classes=8&regions=3"}, 1)
    algo = VecPPO(venv, n_steps=4, gamma=1.0, gae_lambda=1.0, seed=0)
    algo._obs = np.zeros((1, algo.obs_dim), dtype=np.float32)
    algo.buf_val[:] = np.array([[0.5], [0.25], [0.0], [0.0]], dtype=np.float32)
    algo.buf_rew[:] = np.array([[-1.0], [-2.0], [0.0], [-4.0]], dtype=np.float32)
    algo.buf_term[:] = np.array([[False], [True], [False], [False]])
    algo.buf_end[:] = algo.buf_term
    algo.buf_valid[:] = np.array([[True], [True], [False], [True]])  # step 2 is the autoreset step
    algo.bootstrap_value = lambda: np.zeros(1, dtype=np.float32)  # type: ignore[method-assign]
    adv, ret = algo.advantages()
    assert ret[:2, 0].tolist() == [-3.0, -2.0]  # the episode's returns, nothing after its end
    assert adv[2, 0] == 0.0 and ret[3, 0] == -4.0
    venv.close()


def test_bad_configurations_fail_before_training(tmp_path: Path) -> None:
    generated = "scenario=generator://synth-v0/0?classes=8"
    for extra in (["--env", "a2gym/GeoServe-v1"],  # a retired id
                  ["--env", PLACEMENT, "--hyperparams", "mixed_sizes=true"],  # needs observation=sets
                  ["--env", PLACEMENT, "--env-kwargs", generated, "--hyperparams", "scenario_pool=4"],
                  ["--env", PLACEMENT, "--hyperparams", "normalize=true"],
                  ["--env", PLACEMENT, "--hyperparams", "n_epoch=2"]):
        proc = run_module("agents.train", "--algo", "vec_ppo", *extra, "--log-dir", str(tmp_path),
                          "--no-progress-bar")
        assert proc.returncode == 2, (extra, proc.stdout + proc.stderr)
        assert any(line.startswith("error:") for line in proc.stderr.splitlines()), proc.stderr
    assert not list(tmp_path.rglob("config.yml"))


# --- observation="sets" (attention policy, mixed sizes) and MultiDiscrete (capacity env) -------------------

SETS_KW = ["observation=sets", "scenario=generator://synth-v0/0?classes=8&regions=3"]
SETS_HP = ["mixed_sizes={classes: [6, 12], regions: [3, 4], models: [4, 5], datas: [6, 8]}",
           "scenario_pool=4",
           "n_envs=4", "n_steps=8", "batch_size=16", "policy_kwargs.d_model=16", "policy_kwargs.n_heads=2",
           "policy_kwargs.n_layers=1", "checkpoint_freq=100", "eval_freq=100", "n_eval_episodes=2"]
CAPACITY = "a2gym/GeoServeCapacity-v0"
CAP_KW = {"scenario": "generator://synth-v0/1?classes=8&regions=3", "n_slots": 4, "slot_minutes": 60}
CAP_HP = ["n_envs=4", "n_steps=8", "batch_size=16", "normalize_return=true", "checkpoint_freq=40",
          "eval_freq=40", "n_eval_episodes=1"]


def test_mixed_sizes_draw_reproducible_scenarios_of_several_sizes() -> None:
    import gymnasium as gym

    from agents.wrappers import FreshMixedSizes

    def sizes(seed: int, pool: int) -> list[tuple[int, int]]:
        env = FreshMixedSizes(gym.make(PLACEMENT, observation="sets",
                                       scenario="generator://synth-v0/0?classes=8&regions=3"),
                              sizes={"classes": (6, 12), "regions": (3, 4)}, pool=pool)
        out = []
        for i in range(6):
            env.reset(seed=seed if i == 0 else None)
            s = env.unwrapped.scenario
            out.append((s.n_classes, s.n_regions))
        env.close()
        return out

    first = sizes(5, 0)
    assert first == sizes(5, 0), "a seeded reset's sequence of scenarios is reproducible"
    assert len(set(first)) > 1, "the sizes vary between episodes"
    assert all(6 <= c <= 12 and 3 <= r <= 4 for c, r in first)
    assert len(set(sizes(5, 2))) <= 2, "a pool of 2 gives at most 2 scenarios"


@pytest.mark.parametrize("env_id", [PLACEMENT, "a2gym/Scheduling-v0"])
def test_sets_collect_and_update_respect_masks(env_id: str) -> None:
    venv = make_vector_env(env_id, {"observation": "sets", "scenario": "generator://synth-v0/0?classes=8"}, 4,
                           mixed_sizes={"classes": (6, 12), "regions": (3, 4)}, pool=3)
    algo = VecPPO(venv, n_steps=16, batch_size=32, seed=0,
                  policy_kwargs={"net_arch": [64], "d_model": 16, "n_heads": 2, "n_layers": 1})
    assert algo.sets and type(algo.policy).__name__ == "SetsAttentionPolicy"
    algo.reset(0)
    assert algo.collect() > 0
    chosen = algo.buf_mask.gather(2, algo.buf_act[..., None]).squeeze(-1).numpy()
    assert chosen[algo.buf_valid].all(), "a masked action was sampled"
    stats = algo.update()
    assert np.isfinite(stats["train/policy_gradient_loss"]) and stats["train/n_updates"] > 0
    eps = algo.drain_episodes()
    assert eps and eps["failed"].sum() == 0
    venv.close()


def test_multidiscrete_heads_sample_each_sub_action_within_its_mask() -> None:
    venv = make_vector_env(CAPACITY, CAP_KW, 3)  # no native vector env: SyncVectorEnv
    algo = VecPPO(venv, n_steps=10, batch_size=16, seed=0, normalize_return=True)
    assert algo.multi and algo.buf_act.shape == (10, 3, algo.n_sub)
    algo.reset(0)
    algo.collect()
    mask = algo.buf_mask.reshape(10, 3, algo.n_sub, -1)
    chosen = mask.gather(3, algo.buf_act[..., None]).squeeze(-1).numpy()
    assert chosen[algo.buf_valid].all(), "a masked count was sampled"
    # the log-probability of a joint action is the sum of its sub-actions' (independent heads)
    logits = torch.randn(2, algo.n_actions)
    a, logp, ent = algo.dist(logits)
    per = torch.log_softmax(logits.reshape(2, algo.n_sub, -1), -1)
    assert torch.allclose(logp, per.gather(2, a[..., None]).squeeze(-1).sum(1), atol=1e-5)
    assert bool((ent > 0).all())
    algo.update()
    assert algo.ret_rms["count"] > 1, "the return normaliser saw the rollout"
    venv.close()


def test_non_uniform_multidiscrete_pads_its_heads() -> None:
    import gymnasium as gym

    class Probe(gym.vector.VectorEnv):
        def __init__(self) -> None:
            self.num_envs = 2
            self.single_observation_space = gym.spaces.Box(0, 1, (3,), np.float32)
            self.single_action_space = gym.spaces.MultiDiscrete([2, 4, 3])

    algo = VecPPO(Probe(), n_steps=2, batch_size=4, seed=0)
    mask = torch.ones(1000, 9, dtype=torch.bool)
    mask[:, 3] = False  # sub-action 1 may not take value 1
    logits = torch.zeros(1000, 9).masked_fill(~mask, -1e8)
    a, logp, _ = algo.dist(logits)
    assert int(a[:, 0].max()) <= 1 and int(a[:, 1].max()) <= 3 and int(a[:, 2].max()) <= 2
    assert not bool((a[:, 1] == 1).any())
    assert torch.allclose(logp, torch.full((1000,), float(np.log(1 / 2 * 1 / 3 * 1 / 3))), atol=1e-5)


def test_sets_run_trains_resumes_and_evaluates(tmp_path: Path) -> None:
    log_dir = tmp_path / "runs"
    proc = run_module("agents.train", "--algo", "vec_ppo", "--env", PLACEMENT, "--seed", "1",
                      "--total-timesteps", "150", "--log-dir", str(log_dir), "--run-name", "sets",
                      "--no-progress-bar",
                      "--hyperparams", *SETS_HP, "--env-kwargs", *SETS_KW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = log_dir / "vec_ppo" / "sets"
    assert saved_timesteps(run / "model.zip") >= 150 and (run / "best_model.zip").exists()
    proc = run_module("agents.train", "--resume", str(run), "--total-timesteps", "300", "--no-progress-bar")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved_timesteps(run / "model.zip") >= 300
    out = tmp_path / "eval.jsonl"
    proc = run_module("agents.evaluate", "--run", str(run), "--episodes", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed 0/1" in proc.stdout


def test_capacity_run_trains_resumes_and_evaluates(tmp_path: Path) -> None:
    log_dir = tmp_path / "runs"
    kw = [f"{k}={v}" for k, v in CAP_KW.items()]
    proc = run_module("agents.train", "--algo", "vec_ppo", "--env", CAPACITY, "--seed", "0",
                      "--total-timesteps", "64", "--log-dir", str(log_dir), "--run-name", "cap",
                      "--no-progress-bar",
                      "--hyperparams", *CAP_HP, "--env-kwargs", *kw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = log_dir / "vec_ppo" / "cap"
    from sb3_contrib import MaskablePPO

    rms = MaskablePPO.load(str(run / "model.zip"), device="cpu").vec_ppo_return_rms
    assert rms["count"] > 1, "the return normaliser's statistics are saved with the model"
    proc = run_module("agents.train", "--resume", str(run), "--total-timesteps", "128", "--no-progress-bar")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved_timesteps(run / "model.zip") >= 128
    rms2 = MaskablePPO.load(str(run / "model.zip"), device="cpu").vec_ppo_return_rms
    assert rms2["count"] > rms["count"], "resume continues the normaliser's statistics"
    proc = run_module("agents.evaluate", "--run", str(run), "--episodes", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mean score" in proc.stdout
