"""Time a Placement-v0 episode of the published generalist on the paper default (one torch thread).

Reports wall seconds and CPU seconds of the process (``time.process_time``) per episode, reset excluded;
on a shared machine the CPU seconds are the single-core figure (wall time includes waiting for a core).

    OMP_NUM_THREADS=1 python -m benchmarks.bench_generalist [--run results/agents/runs/placement-general]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_generalist", description=__doc__.split("\n")[0]
    )
    p.add_argument("--run", default="results/agents/runs/placement-general")
    p.add_argument("--env", default="a2gym/Placement-v0")
    p.add_argument("--scenario", default="scenario://paper-default-v0")
    p.add_argument("--episodes", type=int, default=5)
    args = p.parse_args(argv)
    import gymnasium as gym
    import torch

    import a2gym  # noqa: F401
    from agents.evaluate import model_actor

    torch.set_num_threads(1)
    actor, _ = model_actor(args.run)
    env = gym.make(args.env, scenario=args.scenario, observation="sets")
    wall, cpu, steps = [], [], []
    for j in range(args.episodes + 1):  # the first episode warms up (lazy imports, allocations); not counted
        obs, info = env.reset(seed=j)
        w0, c0, n, done = time.perf_counter(), time.process_time(), 0, False
        while not done:
            obs, _, terminated, truncated, info = env.step(actor(obs, info, env))
            done, n = terminated or truncated, n + 1
        if j:
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            steps.append(n)
    print(f"{args.env} on {args.scenario}, {args.run}: {statistics.median(steps)} steps; per episode "
          f"median wall {statistics.median(wall):.3f} s, median CPU {statistics.median(cpu):.3f} s "
          f"({args.episodes} episodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
