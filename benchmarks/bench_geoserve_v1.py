"""GeoServe-v1 next to GeoServe-v0: steps per wall second and per CPU second of this process.

    python benchmarks/bench_geoserve_v1.py [--scenario URI] [--seconds S]

Same protocol as ``bench_envs.py`` (``gymnasium.make``, seeded random valid actions recorded first and
replayed, resets included), timed with both ``time.perf_counter`` and ``time.process_time``: on a
machine shared with other jobs the wall rate falls with the load, while the CPU-time rate (steps per
second of CPU this process got) is close to what an idle core gives.  Target: GeoServe-v1 ≥ 2,000
steps/s on the default scenario.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

import a2gym  # noqa: F401
from benchmarks.bench_envs import _random_valid


def rates(env_id: str, scenario: str, seconds: float) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second) of ``env_id`` on ``scenario``."""
    env = gym.make(env_id, scenario=scenario)
    rng = np.random.default_rng(0)
    episodes = []
    for e in range(2):
        _, info = env.reset(seed=e)
        acts, done = [], False
        while not done:
            a = _random_valid(env.action_space, info.get("action_mask"), rng)
            acts.append(a)
            _, _, done, _, info = env.step(a)
        episodes.append(acts)
    steps, w0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - w0 < seconds:
        for e, acts in enumerate(episodes):
            env.reset(seed=e)
            for a in acts:
                env.step(a)
            steps += len(acts)
    return steps / (time.perf_counter() - w0), steps / (time.process_time() - c0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="scenario://paper-default-v0")
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {a.scenario}")
    for env_id in ("a2gym/GeoServe-v0", "a2gym/GeoServeCapacity-v0"):
        wall, cpu = rates(env_id, a.scenario, a.seconds)
        print(f"{env_id:<20} {wall:>10,.0f} steps/s wall {cpu:>10,.0f} steps per CPU-second")


if __name__ == "__main__":
    main()
