"""Env steps per second of RLlib PPO (agents.rllib: new API stack, masking) with 1, 2 and 4 env runners.

    python benchmarks/bench_rllib.py [--env a2gym/Placement-v0] [--runners 1 2 4] [--iterations 3]
        [--out benchmarks/results/rllib.txt]

Needs ``a2gym[rllib]``. One local Ray with one logical CPU per env runner plus one for the learner (in
this process). For each runner count a fresh PPO (the env's hyperparameters from
``agents/hyperparams/rllib/ppo.yml``) trains ``--iterations`` iterations; the first (actor start-up,
first episodes) is dropped and the table gives the median of the others: env steps sampled per second of
wall time of ``Algorithm.train()`` (sampling + learning), and its two parts: the time PPO's
``training_step`` spends in ``synchronous_parallel_sample`` (timed around that call) and the rest (learner
update, weight sync).

The projection for a cluster uses the measured parts: with K runners on K free cores, sampling one
batch of B env steps takes B / (K · r1) s (r1 = steps/s of one runner measured with 1 runner) and the
learner's update takes the measured t_learn s, so steps/s = B / (B / (K · r1) + t_learn). It is labelled
as a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: Wall time [s] of each synchronous_parallel_sample call of PPO.training_step (RLlib's own timers are EMAs).
SAMPLE_S: list[float] = []


def _time_sampling() -> None:
    """Time PPO's sampling calls (in this process: the driver waits for all env runners there)."""
    import ray.rllib.algorithms.ppo.ppo as ppo_module

    original = ppo_module.synchronous_parallel_sample

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SAMPLE_S.append(time.perf_counter() - t0)

    ppo_module.synchronous_parallel_sample = timed


def bench(env_id: str, runners: int, iterations: int, seed: int = 0) -> dict[str, float]:
    """Median steps/s, sampling and learning time [s] per iteration (after the first) with ``runners``."""
    from agents import rllib

    hp = rllib.load_hyperparams(env_id)
    algo = rllib.build_config(env_id, {}, hp, runners, seed).build_algo()
    rows = []
    try:
        steps = 0
        for i in range(1, iterations + 1):
            SAMPLE_S.clear()
            t0 = time.perf_counter()
            result = algo.train()
            it = rllib.iteration_record(i, result, time.perf_counter() - t0, steps)
            steps = it.env_steps_total
            sample = sum(SAMPLE_S)
            rows.append((it.steps_per_second, it.env_steps, it.wall_s, sample, it.wall_s - sample))
    finally:
        algo.stop()
    rows = rows[1:] or rows
    names = ("steps_per_s", "batch", "wall_s", "sample_s", "learn_s")
    return {name: statistics.median(r[i] for r in rows) for i, name in enumerate(names)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="a2gym/Placement-v0")
    p.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--out", default=None, help="also write the table here")
    args = p.parse_args(argv)
    if args.iterations < 2 or min(args.runners) < 1:
        p.error("--iterations must be >= 2 and every --runners value >= 1")

    import ray
    import torch

    torch.set_num_threads(1)
    _time_sampling()
    path = os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH", "")) if x)
    ray.init(num_cpus=max(args.runners) + 1, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    try:
        results = {k: bench(args.env, k, args.iterations) for k in args.runners}
    finally:
        ray.shutdown()

    lines = [f"RLlib PPO (agents.rllib, action masking) on {args.env}, default scenario; "
             f"ray {ray.__version__}",
             f"machine: {platform.machine()}, {os.cpu_count()} CPU cores; "
             f"median of iterations 2..{args.iterations}",
             "",
             f"{'env runners':>11} {'batch':>6} {'iter s':>7} {'sample s':>8} {'learn s':>7} {'steps/s':>8}"]
    for k, r in results.items():
        lines.append(f"{k:>11} {r['batch']:>6.0f} {r['wall_s']:>7.2f} {r['sample_s']:>8.2f} "
                     f"{r['learn_s']:>7.2f} "
                     f"{r['steps_per_s']:>8.1f}")
    one = results.get(1)
    if one is not None and one["sample_s"] > 0:
        r1, batch, learn = one["batch"] / one["sample_s"], one["batch"], one["learn_s"]
        lines += ["", "projection for a cluster (one free core per runner; "
                  f"r1 = {r1:.0f} steps/s per runner, "
                  f"learner {learn:.2f} s per {batch:.0f}-step batch):"]
        for k in (4, 8, 16, 32, 64):
            lines.append(f"{k:>11} runners: {batch / (batch / (k * r1) + learn):>8.0f} steps/s (projected)")
        lines.append(f"{'':>11} limit (learner-bound): {batch / learn:>8.0f} steps/s")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
