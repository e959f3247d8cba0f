"""Test the generalists (``experiments/train_generalists.py``) and the baselines on four test sets.

Test sets per env: ``unseen`` (generated scenarios of the training sizes, seeds outside the training and
validation ranges), ``2x`` (generated, 80–96 classes: at least twice the largest training |R|),
``paper-default`` and ``suite`` (the a2-test-v0 scenarios of the env). Score of an episode = reference
cost / cost (the env's reference, −1/return); a policy's score on a set is the mean over its scenarios;
trained policies: mean over training seeds with a 95% percentile bootstrap interval over seeds.
Writes ``OUT/<envs>_<stages>.csv`` (one row per run or baseline and test set) and ``.md`` (the tables).

    nice -n 5 python -m experiments.eval_generalists --runs runs/generalists --out results/agents/generalists
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ENVS = {"a2gym/Placement-v0": "placement", "a2gym/Scheduling-v0": "scheduling"}
BASELINES = ("local", "cheapest", "random")


def test_sets(env_id: str, n_unseen: int, n_large: int) -> dict[str, list[str]]:
    from agents.generalist import LARGE_CLASSES, uris

    name = ENVS[env_id]
    return {"unseen": uris("test", n_unseen, 0), "2x": uris("test", n_large, 1, classes=LARGE_CLASSES),
            "paper-default": ["scenario://paper-default-v0"],
            "suite": [f"scenario://a2-test-v0/{name}-{j}" for j in range(3)]}


def run_scores(env_id: str, actor_factory: Any, scenario_uris: list[str], observation: str,
               seed: int = 10_000) -> tuple[list[float], list[float]]:
    """(score, episode wall seconds) per scenario, one episode each (the envs are deterministic)."""
    from agents.evaluate import evaluate

    scores, walls = [], []
    for uri in scenario_uris:
        kwargs = {"scenario": uri, **({"observation": observation} if observation != "plain" else {})}
        t0 = time.perf_counter()
        ep = evaluate(env_id, kwargs, 1, seed, "x", **actor_factory)[0]
        walls.append(time.perf_counter() - t0)
        scores.append(ep.score)
    return scores, walls


def episode_seconds(
    env_id: str, actor: Any, uri: str = "scenario://paper-default-v0", repeats: int = 3
) -> float:
    """Median wall time [s] of one episode on ``uri`` (policy and env steps; reset excluded), one thread."""
    import gymnasium as gym

    import a2gym  # noqa: F401  (registers the envs)

    env = gym.make(env_id, scenario=uri, observation="sets")
    times = []
    for j in range(repeats):
        obs, info = env.reset(seed=j)
        t0, done = time.perf_counter(), False
        while not done:
            obs, _, terminated, truncated, info = env.step(actor(obs, info, env))
            done = terminated or truncated
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bootstrap_ci(values: list[float], n: int = 10_000, seed: int = 0) -> tuple[float, float]:
    x = np.asarray(values, dtype=float)
    if x.size < 2 or np.all(x == x[0]):
        return float(x.mean()), float(x.mean())
    means = np.random.default_rng(seed).choice(x, size=(n, x.size), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.eval_generalists", description=__doc__.split("\n")[0]
    )
    p.add_argument("--runs", default="runs/generalists")
    p.add_argument("--out", default="results/agents/generalists")
    p.add_argument("--envs", nargs="+", default=list(ENVS))
    p.add_argument("--unseen", type=int, default=16, help="generated test scenarios of the training sizes")
    p.add_argument("--large", type=int, default=8, help="generated test scenarios of 80-96 classes")
    p.add_argument("--stages", nargs="+", default=["bc", "bc+ppo", "ppo"])
    p.add_argument("--no-baselines", action="store_true", help="test only the trained runs")
    args = p.parse_args(argv)
    import torch

    from agents.evaluate import model_actor, named_policy_actor

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for env_id in args.envs:
        sets = test_sets(env_id, args.unseen, args.large)
        for policy in () if args.no_baselines else BASELINES:
            for set_name, uris in sets.items():
                scores, walls = run_scores(
                    env_id, {"factory": named_policy_actor(policy, None)}, uris, "plain"
                )
                rows.append(
                    {
                        "env": env_id,
                        "policy": policy,
                        "seed": "",
                        "set": set_name,
                        "score": float(np.mean(scores)),
                        "n": len(scores),
                        "wall_s": float(np.mean(walls)),
                        "paper_episode_s": "",
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
        for stage in args.stages:
            for run in sorted(Path(args.runs).glob(f"{ENVS[env_id]}-{stage}_s*")):
                if not (run / "config.yml").exists():
                    continue
                actor, _ = model_actor(run)
                secs = episode_seconds(env_id, actor)
                print(f"{run.name}: paper-default episode {secs:.3f} s", flush=True)
                for set_name, uris in sets.items():
                    scores, walls = run_scores(env_id, {"actor": actor}, uris, "sets")
                    rows.append(
                        {
                            "env": env_id,
                            "policy": f"attention:{stage}",
                            "seed": run.name.rsplit("_s", 1)[1],
                            "set": set_name,
                            "score": float(np.mean(scores)),
                            "n": len(scores),
                            "wall_s": float(np.mean(walls)),
                            "paper_episode_s": secs,
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
    tag = "_".join([*(ENVS[e] for e in args.envs), *(st.replace("+", "-") for st in args.stages)])
    path = out / f"{tag}.csv"
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
    md = table(rows) + "\n\n" + curves(Path(args.runs)) + "\n\n" + budgets(Path(args.runs))
    path.with_suffix(".md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


def curves(runs: Path) -> str:
    """Markdown: validation score after each cloning round and PPO chunk, per env, stage and seed."""
    import yaml

    lines = ["| run | validation score: cloning rounds (samples) → RL steps |", "|---|---|"]
    for cfg_path in sorted(runs.glob("*_s*/config.yml")):
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        cells = [f"{r['val_score']:.3f} ({r['samples']})" for r in cfg.get("bc_rounds", [])]
        if cfg.get("val_before") is not None:
            cells.append(f"start {cfg['val_before']:.3f}")
        cells += [f"{c['val_score']:.3f} @{c['steps']}" for c in cfg.get("curve", [])]
        lines.append(f"| {cfg_path.parent.name} | " + " → ".join(cells) + " |")
    return "\n".join(lines)


def budgets(runs: Path) -> str:
    """Markdown: training budget per env and stage (seeds, env steps, cloned samples, wall time)."""
    path = runs / "budgets.jsonl"
    if not path.exists():
        return "(no training budgets recorded)"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lines = ["| env | stage | seeds | RL env steps / seed | cloned samples / seed | mean wall s / seed |",
             "|---|---|---|---|---|---|"]
    for key in dict.fromkeys((r["env"], r["stage"]) for r in rows):
        x = [r for r in rows if (r["env"], r["stage"]) == key]
        lines.append(
            f"| {key[0].split('/')[1]} | {key[1]} | {len(x)} | {np.mean([r['env_steps'] for r in x]):.0f} | "
            f"{np.mean([r['bc_samples'] for r in x]):.0f} | {np.mean([r['wall_s'] for r in x]):.0f} |"
        )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per (env, policy), one column per test set: mean [95% CI over seeds]."""
    sets = ["unseen", "2x", "paper-default", "suite"]
    lines = ["| env | policy | seeds | " + " | ".join(sets) + " | paper-default episode s |",
             "|---|---|---|" + "---|" * len(sets) + "---|"]
    keys = dict.fromkeys((r["env"], r["policy"]) for r in rows)
    for env, policy in keys:
        cells, seeds = [], 0
        for s in sets:
            x = [float(r["score"]) for r in rows if (r["env"], r["policy"], r["set"]) == (env, policy, s)]
            seeds = len(x)
            if not x:
                cells.append("–")
            elif len(x) == 1:
                cells.append(f"{x[0]:.3f}")
            else:
                lo, hi = bootstrap_ci(x)
                cells.append(f"{np.mean(x):.3f} [{lo:.3f}, {hi:.3f}]")
        trained = policy.startswith("attention")
        secs = [
            float(r["paper_episode_s"])
            for r in rows
            if (r["env"], r["policy"], r["set"]) == (env, policy, "suite") and r["paper_episode_s"] != ""
        ]
        t = f"{np.median(secs):.3f}" if secs else "–"
        lines.append(f"| {env.split('/')[1]} | {policy} | {seeds if trained else '–'} | " + " | ".join(cells)
                     + f" | {t} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
