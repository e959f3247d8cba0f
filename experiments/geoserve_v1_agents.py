"""MaskablePPO on GeoServe-v1: pure RL and a warm start by cloning the forecast reference, tested on
scenarios they never trained on, against the reactive and forecast references on the same days.

Usage::

    python -m experiments.geoserve_v1_agents [--steps 8192] [--seeds 1] [--episodes 5] [--out
    results/geoserve_v1]

Training (``python -m agents.train`` in a subprocess, 1 torch thread; hyperparameters in
``agents/hyperparams/maskable_ppo.yml`` section ``a2gym/GeoServeCapacity-v0``): a pool of ``POOL`` generated
scenarios with the default scenario's set sizes (``TRAIN_URI`` seeds 500…), ``max_classes`` = the suite's.
``maskable_ppo`` is pure RL; ``maskable_ppo+bc`` first clones ``--bc-episodes`` days of the forecast
reference (:mod:`agents.pretrain`; fresh generated scenarios) and then fine-tunes with the same budget.
A run that finished with the same command is reused, an interrupted one is resumed (``--resume``).

Test: the GeoServe-v1 scenarios of the leaderboard suite ``a2-test-v1`` when it lists them, else those
of ``a2-test-v0``'s GeoServe entry (none is in the training pool), ``--episodes`` days each (reset seeds
``TEST_SEED …``).  Score of a day = reactive reference's day cost / policy's day cost on the same day.
Outputs in ``--out``: ``agents_days.jsonl`` (per policy, scenario and day), ``agents.csv``, ``agents.md``
and ``agents_budgets.csv`` (training steps, wall time, cloning episodes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ENV_ID = "a2gym/GeoServeCapacity-v0"
SAME_SPACES = "regions=9&models=8&datas=15&types=2"
TRAIN_URI = f"generator://synth-v0/500?classes=40&{SAME_SPACES}"
POOL = 4
MAX_CLASSES = 128  # the suite's GeoServe max_classes in a2-test-v1 (its large tier has 120 classes)
BC_EPISODES = 12
TEST_SEED = 10_000
AGENTS = ("maskable_ppo", "maskable_ppo+bc")


def agent_hyperparams(label: str, bc_episodes: int) -> tuple[str, ...]:
    """``--hyperparams`` of an agent: the pool, and for ``+bc`` the cloning warm start."""
    if label == "maskable_ppo":
        return (f"scenario_pool={POOL}",)
    return (f"scenario_pool={POOL}", f"pretrain_episodes={bc_episodes}", "pretrain_epochs=40",
            "pretrain_mode=forecast", "learning_rate=3e-5", "target_kl=0.02")


def test_scenarios() -> list[str]:
    """GeoServe-v1 scenarios of the newest suite that lists them (a2-test-v1), else a2-test-v0's GeoServe."""
    from a2gym.leaderboard.suite import SUITES

    for name in ("a2-test-v1", "a2-test-v0"):
        suite = SUITES.get(name)
        if suite is None:
            continue
        for e in suite.entries:
            if e.env_id == ENV_ID or (name == "a2-test-v0" and e.env_id == "a2gym/GeoServe-v0"):
                return list(e.scenarios)
    raise SystemExit("no GeoServe test scenarios in the leaderboard suites")


def train(label: str, seed: int, steps: int, runs: Path, bc_episodes: int) -> dict[str, Any]:
    """Train (or reuse / resume) one run; its directory and wall time."""
    name = f"geoserve-v1{'-bc' if '+bc' in label else ''}_s{seed}"
    run_dir = runs / "maskable_ppo" / name
    marker = run_dir / "experiment.json"
    cmd = [
        sys.executable,
        "-m",
        "agents.train",
        "--algo",
        "maskable_ppo",
        "--env",
        ENV_ID,
        "--seed",
        str(seed),
        "--total-timesteps",
        str(steps),
        "--log-dir",
        str(runs),
        "--run-name",
        name,
        "--no-progress-bar",
        "--threads",
        "1",
        "--env-kwargs",
        f"scenario={TRAIN_URI}",
        "resample=true",
        f"max_classes={MAX_CLASSES}",
        "--hyperparams",
        *agent_hyperparams(label, bc_episodes),
    ]
    if marker.exists() and json.loads(marker.read_text()).get("cmd") == cmd[1:]:
        return json.loads(marker.read_text())
    t0 = time.perf_counter()
    if (run_dir / "config.yml").exists():  # interrupted: continue the same run
        run_cmd = [
            sys.executable,
            "-m",
            "agents.train",
            "--resume",
            str(run_dir),
            "--total-timesteps",
            str(steps),
            "--threads",
            "1",
            "--no-progress-bar",
        ]
    else:
        run_cmd = cmd
    subprocess.run(run_cmd, cwd=REPO, check=True, env={"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO),
                                                        "PATH": "/usr/bin:/bin"})
    info = {"cmd": cmd[1:], "run_dir": str(run_dir), "label": label, "seed": seed, "steps": steps,
            "train_seconds": time.perf_counter() - t0, "bc_episodes": bc_episodes if "+bc" in label else 0}
    marker.write_text(json.dumps(info))
    return info


def play(policy_name: str, actor_factory: Any, uri: str, seeds: list[int]) -> list[dict[str, Any]]:
    """Day costs of one policy on ``uri`` (the env made as in the suite: max_classes)."""
    import gymnasium

    env = gymnasium.make(ENV_ID, scenario=uri, max_classes=MAX_CLASSES)
    rows = []
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        act = actor_factory(env)
        done = False
        while not done:
            obs, _, done, _, info = env.step(act(obs, info, env))
        rows.append(
            {
                "policy": policy_name,
                "scenario": uri,
                "seed": seed,
                "cost": float(info["cost"]),
                "penalty": float(info["penalty"]),
                "unserved_requests": float(info["unserved_requests_total"]),
            }
        )
    return rows


def _reference_factory(mode: str) -> Any:
    """``factory(env) -> actor(obs, info, env)`` of the GeoServe-v1 reference ``mode``."""
    from a2gym.policies import reference_policy

    def factory(env: Any) -> Any:
        policy = reference_policy(env, mode)
        return lambda obs, info, _env: policy(obs, info)

    return factory


def evaluate(runs: list[dict[str, Any]], episodes: int, out: Path) -> list[dict[str, Any]]:
    from agents.evaluate import model_actor

    log = out / "agents_days.jsonl"
    done = {(r["policy"], r["scenario"], r["seed"]) for r in map(json.loads, log.read_text().splitlines())} \
        if log.exists() else set()
    rows = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    seeds = [TEST_SEED + j for j in range(episodes)]
    policies: list[tuple[str, Any]] = [
        (f"reference:{m}", _reference_factory(m)) for m in ("reactive", "forecast")
    ]
    for run in runs:
        actor, _ = model_actor(Path(run["run_dir"]), "last")
        policies.append((f"{run['label']}_s{run['seed']}", lambda env, a=actor: a))
    for uri in test_scenarios():
        for name, factory in policies:
            todo = [s for s in seeds if (name, uri, s) not in done]
            if not todo:
                continue
            new = play(name, factory, uri, todo)
            with log.open("a") as f:
                for r in new:
                    f.write(json.dumps(r) + "\n")
            rows += new
            print(f"{name} on {uri}: {statistics.mean(r['cost'] for r in new):.2f} $/day", flush=True)
    return rows


def summarise(rows: list[dict[str, Any]], runs: list[dict[str, Any]], out: Path, cmd: str) -> None:
    reactive = {(r["scenario"], r["seed"]): r["cost"] for r in rows if r["policy"] == "reference:reactive"}
    table = []
    for name in dict.fromkeys(r["policy"] for r in rows):
        rs = [r for r in rows if r["policy"] == name and (r["scenario"], r["seed"]) in reactive]
        scores = [reactive[(r["scenario"], r["seed"])] / r["cost"] for r in rs]
        per_scn = {}
        for uri in dict.fromkeys(r["scenario"] for r in rs):
            s = [reactive[(r["scenario"], r["seed"])] / r["cost"] for r in rs if r["scenario"] == uri]
            per_scn[uri] = float(np.exp(np.mean(np.log(s))))
        table.append(
            {
                "policy": name,
                "days": len(rs),
                "geomean_score": float(np.exp(np.mean(np.log(scores)))),
                "mean_cost": statistics.mean(r["cost"] for r in rs),
                "mean_penalty": statistics.mean(r["penalty"] for r in rs),
                **{f"score[{u}]": v for u, v in per_scn.items()},
            }
        )
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for t in table for k in t)))
    w.writeheader()
    for t in table:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in t.items()})
    _write(out / "agents.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["label", "seed", "steps", "train_seconds", "bc_episodes", "run_dir"])
    w.writeheader()
    for r in runs:
        w.writerow({"label": r["label"], "seed": r["seed"], "steps": r["steps"],
                    "train_seconds": f"{r['train_seconds']:.0f}",
                    "bc_episodes": r["bc_episodes"],
                    "run_dir": Path(r["run_dir"]).relative_to(REPO).as_posix()
                    if Path(r["run_dir"]).is_relative_to(REPO) else r["run_dir"]})
    _write(out / "agents_budgets.csv", buf.getvalue())
    md = [
        "# MaskablePPO on GeoServe-v1",
        "",
        f"Produced by `{cmd}`.",
        f"Trained on a pool of {POOL} generated scenarios (`{TRAIN_URI}` and the next seeds), tested on "
        f"{', '.join(f'`{u}`' for u in test_scenarios())} (never trained on), reset seeds {TEST_SEED}…; "
        "score = reactive reference's day cost / policy's day cost on the same day (geometric mean; > 1 "
        "beats reactive). Budgets: `agents_budgets.csv`. Pure RL and the cloning warm start are separate "
        "rows.",
        "",
        "| policy | days | geomean score vs reactive | mean day cost $ | mean penalty $ |",
        "|---|---|---|---|---|",
    ]
    for t in table:
        md.append(f"| {t['policy']} | {t['days']} | {t['geomean_score']:.3f} | {t['mean_cost']:.2f} | "
                  f"{t['mean_penalty']:.2f} |")
    _write(out / "agents.md", "\n".join(md) + "\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=8192, help="training env steps per run")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per agent")
    p.add_argument("--episodes", type=int, default=5, help="test days per scenario")
    p.add_argument("--bc-episodes", type=int, default=BC_EPISODES, help="forecast days cloned by +bc")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "geoserve-v1")
    p.add_argument("--out", type=Path, default=REPO / "results" / "geoserve_v1")
    a = p.parse_args(argv)
    if a.steps < 1 or a.seeds < 1 or a.episodes < 1:
        p.error("--steps, --seeds and --episodes must be >= 1")
    a.out.mkdir(parents=True, exist_ok=True)
    runs = [train(label, seed, a.steps, a.runs, a.bc_episodes) for label in AGENTS for seed in range(a.seeds)]
    rows = evaluate(runs, a.episodes, a.out)
    cmd = "python -m experiments.geoserve_v1_agents " + " ".join(sys.argv[1:] if argv is None else argv)
    summarise(rows, runs, a.out, cmd.strip())
    print((a.out / "agents.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
