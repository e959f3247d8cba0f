"""Held-out evaluation of the pure-RL vec_ppo runs of ``experiments/pure_rl_sets.py`` (issue 19, part 2).

* ``placement-sets`` / ``scheduling-sets``: the greedy policy of each run's ``best_model.zip`` (chosen on
  validation scenarios) on three test sets: ``unseen`` (generated, the training sizes, test seeds
  ``agents.generalist.uris("test", N)``), ``2x`` (80-96 classes) and ``paper-default``. Score of an
  episode = reference cost / cost (A2-Greedy's plan); a set's score is the mean over its scenarios.
  Targets: Placement >= 0.97, Scheduling >= 0.93 of the reference.
* ``capacity``: each run's greedy policy on ``--days`` held-out days of ``a2gym/GeoServeCapacity-v0``
  (reset seeds 1000, 1001, …, never the training or validation seeds) beside the ``forecast`` and
  ``target-tracking`` references on the same days; day cost in $. Target: cheaper days than forecast.

Writes ``OUT.csv`` (one row per run or reference and test set) and ``OUT.md``.

    python experiments/eval_pure_rl.py --runs runs/pure_rl_sets --out results/agents/pure_rl_heldout
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"placement-sets": 0.97, "scheduling-sets": 0.93}
ENV_OF = {"placement-sets": "a2gym/Placement-v0", "scheduling-sets": "a2gym/Scheduling-v0",
          "capacity": "a2gym/GeoServeCapacity-v0"}
DAY_SEED = 1000  # held-out capacity days: reset seeds DAY_SEED, DAY_SEED + 1, …


def load_policy(zip_path: Path) -> Any:
    """The MaskablePPO policy of a saved vec_ppo model (eval mode)."""
    from sb3_contrib import MaskablePPO

    policy = MaskablePPO.load(str(zip_path), device="cpu").policy
    policy.set_training_mode(False)
    return policy


def greedy_action(policy: Any, obs: Any, mask: np.ndarray, nvec: np.ndarray | None) -> Any:
    """The greedy masked action of ``policy`` for one observation (flat logits split per sub-action)."""
    import torch

    with torch.no_grad():
        if isinstance(obs, dict):
            t = {k: torch.as_tensor(np.asarray(v, dtype=np.float32))[None] for k, v in obs.items()}
        else:
            t = torch.as_tensor(np.asarray(obs, dtype=np.float32))[None]
        latent_pi, _ = policy.mlp_extractor(policy.features_extractor(t))
        logits = policy.action_net(latent_pi)[0].numpy()
    logits = np.where(mask, logits, -np.inf)
    if nvec is None:
        return int(np.argmax(logits))
    out, start = [], 0
    for n in nvec:
        out.append(int(np.argmax(logits[start:start + n])))
        start += int(n)
    return np.array(out, dtype=np.int64)


def sets_scores(env_id: str, policy: Any, uris: list[str]) -> list[float]:
    """Reference cost / cost of the greedy policy, one episode per scenario URI."""
    import gymnasium as gym

    import a2gym  # noqa: F401

    scores = []
    for uri in uris:
        env = gym.make(env_id, observation="sets", scenario=uri, disable_env_checker=True)
        obs, info = env.reset(seed=0)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(greedy_action(policy, obs, info["action_mask"], None))
            done = term or trunc
        scores.append(0.0 if info.get("failed") else float(info["reference_cost"]) / float(info["cost"]))
        env.close()
    return scores


def capacity_days(actor: Any, days: int) -> list[float]:
    """Day cost [$] of ``actor(env, obs, info)`` on the held-out days (reset seeds DAY_SEED…)."""
    import gymnasium as gym

    import a2gym  # noqa: F401

    env = gym.make("a2gym/GeoServeCapacity-v0", disable_env_checker=True)
    costs = []
    for d in range(days):
        obs, info = env.reset(seed=DAY_SEED + d)
        act = actor(env)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(act(obs, info))
            done = term or trunc
        costs.append(float(info["cost"]))
    env.close()
    return costs


def main() -> None:
    from agents.generalist import LARGE_CLASSES, uris

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "pure_rl_sets")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "agents" / "pure_rl_heldout")
    p.add_argument("--unseen", type=int, default=20, help="generated test scenarios of the training sizes")
    p.add_argument("--large", type=int, default=5, help="generated test scenarios of 80-96 classes")
    p.add_argument("--days", type=int, default=5, help="held-out capacity days")
    p.add_argument("--runs-glob", default="*_s*", help="which run directories under RUNS/vec_ppo")
    args = p.parse_args()
    tests = {"unseen": uris("test", args.unseen, 0), "2x": uris("test", args.large, 1, classes=LARGE_CLASSES),
             "paper-default": ["scenario://paper-default-v0"]}
    rows: list[dict[str, Any]] = []
    runs = sorted(r for r in (args.runs / "vec_ppo").glob(args.runs_glob) if (r / "best_model.zip").is_file())
    for run in runs:
        exp, seed = run.name.rsplit("_s", 1)
        if exp not in ENV_OF:
            continue
        from agents.train import saved_timesteps

        policy = load_policy(run / "best_model.zip")
        steps = saved_timesteps(run / "model.zip") if (run / "model.zip").is_file() else -1
        best_at = saved_timesteps(run / "best_model.zip")
        t0 = time.perf_counter()
        if exp == "capacity":
            def learned(env: Any, policy: Any = policy) -> Any:
                nv = np.asarray(env.action_space.nvec)
                return lambda obs, info: greedy_action(policy, obs, info["action_mask"], nv)

            costs = capacity_days(learned, args.days)
            rows.append({"experiment": exp, "run": run.name, "seed": int(seed), "env_steps": steps,
                         "best_at": best_at, "test_set": "held-out days", "n": args.days,
                         "score": float(np.mean(costs)), "unit": "$/day"})
        else:
            for name, u in tests.items():
                sc = sets_scores(ENV_OF[exp], policy, u)
                rows.append({"experiment": exp, "run": run.name, "seed": int(seed), "env_steps": steps,
                             "best_at": best_at, "test_set": name, "n": len(u), "score": float(np.mean(sc)),
                             "unit": "ref/cost"})
        print(f"{run.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if any(r["experiment"] == "capacity" for r in rows):
        from a2gym.policies import reference_policy

        for mode in ("forecast", "target-tracking"):
            costs = capacity_days(lambda env, mode=mode: reference_policy(env, mode=mode), args.days)
            rows.append({"experiment": "capacity", "run": f"reference:{mode}", "seed": -1, "env_steps": 0,
                         "best_at": 0, "test_set": "held-out days", "n": args.days,
                         "score": float(np.mean(costs)), "unit": "$/day"})
    write(rows, args.out)


def write(rows: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = ["experiment", "run", "seed", "env_steps", "best_at", "test_set", "n", "score", "unit"]
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows({**r, "score": f"{r['score']:.5f}"} for r in rows)
    lines = ["| experiment | run | env steps run | best model at | test set | n | score | unit | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tgt = TARGETS.get(r["experiment"])
        if tgt is not None:
            mark = f">= {tgt}: {'met' if r['score'] >= tgt else 'MISSED'}"
        elif r["run"].startswith("reference"):
            mark = ""
        else:
            fc = [x["score"] for x in rows if x["run"] == "reference:forecast"]
            mark = f"< forecast: {'met' if fc and r['score'] < fc[0] else 'MISSED'}"
        lines.append(f"| {r['experiment']} | {r['run']} | {r['env_steps']:,} | {r['best_at']:,} "
                     f"| {r['test_set']} "
                     f"| {r['n']} | {r['score']:.4f} | {r['unit']} | {mark} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
