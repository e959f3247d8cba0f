"""Steps per second of the a2gym envs next to CartPole-v1, timed in the same run.

    python benchmarks/bench_envs.py [--scenario URI] [--seconds S] [--out benchmarks/results/envs.txt]

Every env is made with ``gymnasium.make`` (so with the same registration wrappers as CartPole-v1).
Actions are recorded first (uniformly random valid actions, seeded) and replayed in the timed loop, so
the numbers are env time, not policy time; resets are included.  Vector envs count env-steps
(num_envs × vector steps).  The ``invalid_action='raise'`` row replays the same valid actions in the
strict mode, next to the default's row (the default's masked-action handling must cost ≤ 10%; the
before/after comparison across revisions is ``benchmarks/bench_invalid_overhead.py``).  Targets (default
scenario): Placement-v0 ≥ 0.25× CartPole, native vector env (N = 64) ≥ 1× CartPole per env-step,
GeoServe-v0 and GeoServe-v1 ≥ 2,000 steps/s.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

import a2gym


def _random_valid(space: gym.Space, mask: np.ndarray | None, rng: np.random.Generator):
    if mask is None:
        return space.sample()
    if isinstance(space, gym.spaces.MultiBinary):
        return (mask.reshape(-1, 2)[:, 1] & (rng.random(space.n) < 0.5)).astype(np.int8)
    if isinstance(space, gym.spaces.MultiDiscrete):  # mask: one block of nvec[i] booleans per component
        blocks = mask.reshape(len(space.nvec), -1)
        return np.argmax(rng.random(blocks.shape) * blocks, axis=1)
    return int(np.argmax(rng.random(mask.shape) * mask))


def bench_single(env_id: str, seconds: float, clock: Callable[[], float] = time.perf_counter, **kw) -> float:
    """Steps/s of one env, replaying recorded random valid episodes (``clock``: wall time by default;
    ``time.process_time`` counts this process's CPU seconds only, steadier on a loaded machine)."""
    env = gym.make(env_id, **kw)
    env.action_space.seed(0)
    rng = np.random.default_rng(0)
    episodes: list[list] = []
    t_rec = time.perf_counter()
    while time.perf_counter() - t_rec < max(0.5, seconds / 4) or not episodes:
        _, info = env.reset(seed=len(episodes))
        acts = []
        while True:
            a = _random_valid(env.action_space, info.get("action_mask"), rng)
            acts.append(a)
            _, _, term, trunc, info = env.step(a)
            if term or trunc:
                break
        episodes.append(acts)
    steps, t0 = 0, clock()
    while True:
        for e, acts in enumerate(episodes):
            env.reset(seed=e)
            for a in acts:
                env.step(a)
            steps += len(acts)
        if clock() - t0 > seconds:
            return steps / (clock() - t0)


def bench_vector(env_id: str, num_envs: int, seconds: float, clock: Callable[[], float] = time.perf_counter,
                 **kw) -> float:
    """Env-steps/s of the native vector env (vector_entry_point), replaying recorded random valid actions."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kw)
    rng = np.random.default_rng(0)
    _, info = venv.reset(seed=0)
    record = []
    for _ in range(200):
        mask = info.get("action_mask")
        a = (np.argmax(rng.random(mask.shape) * mask, axis=1) if mask is not None
             else rng.integers(0, 2, num_envs))
        record.append(a)
        _, _, _, _, info = venv.step(a)
    steps, t0 = 0, clock()
    while True:
        venv.reset(seed=0)
        for a in record:
            venv.step(a)
        steps += len(record) * num_envs
        if clock() - t0 > seconds:
            return steps / (clock() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="scenario://paper-default-v0")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per row")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--out", default=None, help="also write the table here")
    args = p.parse_args()
    s, n = args.scenario, args.num_envs
    scn = a2gym.load_scenario(s)
    rows = [("CartPole-v1", bench_single("CartPole-v1", args.seconds))]
    rows.append((f"CartPole-v1 vector (N={n}, per env-step)", bench_vector("CartPole-v1", n, args.seconds)))
    rows.append(("a2gym/Placement-v0", bench_single("a2gym/Placement-v0", args.seconds, scenario=s)))
    rows.append(("a2gym/Placement-v0 invalid_action='raise'",
                 bench_single("a2gym/Placement-v0", args.seconds, scenario=s, invalid_action="raise")))
    rows.append(("a2gym/Scheduling-v0", bench_single("a2gym/Scheduling-v0", args.seconds, scenario=s)))
    rows.append(("a2gym/GeoServe-v0", bench_single("a2gym/GeoServe-v0", args.seconds, scenario=s)))
    cap = "a2gym/GeoServeCapacity-v0"
    rows.append((cap, bench_single(cap, args.seconds, scenario=s)))
    for env_id in ("a2gym/Placement-v0", "a2gym/Scheduling-v0"):
        rows.append((f"{env_id} native vector (N={n}, per env-step)", bench_vector(env_id, n, args.seconds,
                                                                                  scenario=s)))
    cart = rows[0][1]
    lines = [f"a2gym {a2gym.__version__} env throughput on {s} ({scn!r})",
             f"python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}, "
             f"{platform.machine()}; {args.seconds:g} s per row",
             "", f"{'env':<60} {'steps/s':>12} {'x CartPole':>11}", "-" * 85]
    lines += [f"{name:<60} {v:>12,.0f} {v / cart:>11.2f}" for name, v in rows]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
