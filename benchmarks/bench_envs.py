"""Steps per second of the a2gym envs next to CartPole-v1, timed in the same run.

    python benchmarks/bench_envs.py [--scenario URI] [--seconds S] [--out results/bench_envs.txt]
        [--json rows.json] [--also earlier-rows.json ...] [--before rows-of-the-old-code.json ...]

The table of issue 20: single envs against CartPole-v1, ``observation="sets"`` against the flat
observation, the native vector envs at N = 64 / 256 / 1024 against CartPole-v1's own numpy vector env
at the same N (env-steps/s summed over the N copies), the memory a vector env allocates at N = 1024
beside CartPole's, and what a ``resample=True`` reset costs in episodes.  Times are CPU seconds of this
process (``time.process_time``: steadier than wall time on a shared machine) and the load average is
printed with the table.  ``--json`` writes the rows; ``--before`` adds the ratios of such files (the
same script run on the old code: ``PYTHONPATH=<old checkout> python benchmarks/bench_envs.py --json``)
as a before column, and ``--also`` merges earlier runs of this code; each row is the best of its runs
(see :func:`best`).  Run the old and the new code alternately so that both see the same load.

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
import json
import os
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


def bench_memory(make: Callable[[], gym.vector.VectorEnv], steps: int = 200) -> float:
    """Peak MiB that numpy/Python allocate while a vector env is made, reset and stepped (tracemalloc;
    per-scenario tables built beforehand by a single env are not counted)."""
    import tracemalloc

    tracemalloc.start()
    venv = make()
    rng = np.random.default_rng(0)
    _, info = venv.reset(seed=0)
    for _ in range(steps):
        mask = info.get("action_mask")
        a = (np.argmax(rng.random(mask.shape) * mask, axis=1) if mask is not None
             else rng.integers(0, 2, venv.num_envs))
        _, _, _, _, info = venv.step(a)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del venv
    return peak / 2**20


def bench_resample(env_id: str, uri: str, first_seed: int, clock: Callable[[], float] = time.process_time,
                   **kw) -> dict:
    """ms per reset with resample=True on new scenarios, on scenarios seen before (another env object),
    and ms per episode (random valid actions, reset included) on one scenario."""
    env = gym.make(env_id, scenario=uri, resample=True, **kw)
    env.reset(seed=0)
    t0 = clock()
    for s in range(8):
        env.reset(seed=first_seed + s)
    new = (clock() - t0) / 8
    other = gym.make(env_id, scenario=uri, resample=True, **kw)
    t0 = clock()
    for s in range(8):
        other.reset(seed=first_seed + s)
    seen = (clock() - t0) / 8
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=7)
    t0 = clock()
    for _ in range(10):
        while True:
            mask = info["action_mask"]
            _, _, term, trunc, info = env.step(int(np.argmax(rng.random(mask.shape) * mask)))
            if term or trunc:
                break
        _, info = env.reset(seed=7)
    episode = (clock() - t0) / 10
    return {"new_ms": new * 1e3, "seen_ms": seen * 1e3, "episode_ms": episode * 1e3}


SINGLE = ("a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServe-v0", "a2gym/GeoServeCapacity-v0")
VECTOR = ("a2gym/Placement-v0", "a2gym/Scheduling-v0")
NO_VECTOR = ("a2gym/GeoServe-v0", "a2gym/GeoServeCapacity-v0", "a2gym/Placement-v0 sets",
             "a2gym/Scheduling-v0 sets")
SIZES = (64, 256, 1024)


def measure(s: str, seconds: float) -> dict:
    """Every row of the table: steps/s (CPU time), MiB, ms."""
    clock = time.process_time
    out: dict = {"single": {}, "vector": {}, "memory": {}, "resample": {}}
    out["single"]["CartPole-v1"] = bench_single("CartPole-v1", seconds, clock)
    for env_id in SINGLE:
        out["single"][env_id] = bench_single(env_id, seconds, clock, scenario=s)
    for env_id in VECTOR:
        out["single"][f"{env_id} sets"] = bench_single(env_id, seconds, clock, scenario=s, observation="sets")
    out["single"]["a2gym/Placement-v0 invalid_action='raise'"] = bench_single(
        "a2gym/Placement-v0", seconds, clock, scenario=s, invalid_action="raise")
    for n in SIZES:
        out["vector"][f"CartPole-v1 N={n}"] = bench_vector("CartPole-v1", n, seconds, clock)
        for env_id in VECTOR:
            out["vector"][f"{env_id} N={n}"] = bench_vector(env_id, n, seconds, clock, scenario=s)
    n = SIZES[-1]
    for env_id in ("CartPole-v1", *VECTOR):
        kw = {} if env_id == "CartPole-v1" else {"scenario": s}
        gym.make(env_id, **kw)  # per-scenario tables exist before the measurement

        def make(e: str = env_id, k: dict = kw) -> gym.vector.VectorEnv:
            return gym.make_vec(e, num_envs=n, vectorization_mode="vector_entry_point", **k)

        out["memory"][env_id] = bench_memory(make)
    gen = "generator://synth-v0/1?classes=54&regions=9"
    for j, env_id in enumerate(VECTOR):  # seeds of their own: no scenario solved by another row
        out["resample"][env_id] = bench_resample(env_id, gen, 1000 * (j + 1))
    return out


def _ratio(rows: dict, group: str, name: str, anchor: str) -> float | None:
    try:
        return rows[group][name] / rows[group][anchor]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def table(rows: dict, before: dict | None, s: str, seconds: float) -> str:
    def r(x: float | None) -> str:
        return f"{x:8.3f}x" if x is not None else " " * 9

    def pair(group: str, name: str, anchor: str) -> str:
        now = _ratio(rows, group, name, anchor)
        old = _ratio(before, group, name, anchor) if before else None
        return f"{r(now)}  {r(old) if before else ''}"

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"a2gym {a2gym.__version__} env throughput on {s}",
             f"python {platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}, "
             f"{platform.machine()}, {os.cpu_count()} CPUs; {seconds:g} CPU s per row; load average {load}",
             "steps/s: CPU-time steps per second of this process (vector: env-steps summed over N copies)",
             ""]
    hdr = f"{'':<44} {'steps/s':>12} {'ratio':>9}  {'before' if before else '':>9}"
    lines += ["Single env, ratio to CartPole-v1 (sets: ratio to the same env's flat observation)", hdr,
              "-" * len(hdr)]
    cart = rows["single"]["CartPole-v1"]
    lines.append(f"{'CartPole-v1':<44} {cart:>12,.0f}")
    for name, v in rows["single"].items():
        if name == "CartPole-v1":
            continue
        anchor = name.removesuffix(" sets") if name.endswith(" sets") else "CartPole-v1"
        if "raise" in name:
            anchor = "a2gym/Placement-v0"
        lines.append(f"{name:<44} {v:>12,.0f} {pair('single', name, anchor)}")
    for name in ("a2gym/Placement-v0 sets", "a2gym/Scheduling-v0 sets"):
        lines.append(f"{name + ' vs CartPole-v1':<44} {'':>12} {pair('single', name, 'CartPole-v1')}")
    lines += ["", "Native vector env (vector_entry_point), ratio to CartPole-v1's vector env at the same N",
              hdr, "-" * len(hdr)]
    for n in SIZES:
        cart_n = f"CartPole-v1 N={n}"
        lines.append(f"{cart_n:<44} {rows['vector'][cart_n]:>12,.0f}")
        for env_id in VECTOR:
            name = f"{env_id} N={n}"
            lines.append(f"{name:<44} {rows['vector'][name]:>12,.0f} {pair('vector', name, cart_n)}")
    for name in NO_VECTOR:
        lines.append(f"{name:<44} {'no native vector env':>22}")
    lines += ["", f"Memory of the vector env at N={SIZES[-1]} (tracemalloc peak over make, reset, 200 steps)"]
    for name, mib in rows["memory"].items():
        had = before.get("memory", {}) if before else {}
        old = f"   (before: {had[name]:.1f} MiB)" if name in had else ""
        lines.append(f"{name:<44} {mib:>10.1f} MiB{old}")
    lines += ["", "resample=True reset (generator://synth-v0/<seed>?classes=54&regions=9), in episodes"]
    for name, d in rows["resample"].items():
        ep = d["episode_ms"]
        lines.append(f"{name:<44} new scenario {d['new_ms']:7.1f} ms = {d['new_ms'] / ep:6.1f} episodes; "
                     f"seen before {d['seen_ms']:6.2f} ms = {d['seen_ms'] / ep:5.2f} episodes")
        if before and name in before.get("resample", {}):
            b = before["resample"][name]
            lines.append(f"{'  before':<44} new scenario {b['new_ms']:7.1f} ms = "
                         f"{b['new_ms'] / b['episode_ms']:6.1f} episodes; "
                         f"seen before {b['seen_ms']:6.2f} ms = "
                         f"{b['seen_ms'] / b['episode_ms']:5.2f} episodes")
    return "\n".join(lines) + "\n"


def best(runs: list[dict]) -> dict:
    """Per row, the best of several runs (highest steps/s, least memory and reset time): on a shared
    machine the best run is the one least disturbed by the others' load."""
    out = json.loads(json.dumps(runs[0]))
    for run in runs[1:]:
        for group in ("single", "vector"):
            for k, v in run[group].items():
                out[group][k] = max(out[group].get(k, 0.0), v)
        for k, v in run["memory"].items():
            out["memory"][k] = min(out["memory"].get(k, v), v)
        for k, d in run["resample"].items():
            out["resample"][k] = {m: min(out["resample"].get(k, d)[m], x) for m, x in d.items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="scenario://paper-default-v0")
    p.add_argument("--seconds", type=float, default=2.0, help="timed CPU seconds per row")
    p.add_argument("--out", default=None, help="also write the table here")
    p.add_argument("--json", default=None, help="write the measured rows here (for --before)")
    p.add_argument("--before", nargs="+", default=None,
                   help="rows of the old code (--json of runs on it; the best of each row)")
    p.add_argument("--also", nargs="+", default=(),
                   help="rows of earlier runs of this code to merge (the best of each row)")
    args = p.parse_args()
    rows = measure(args.scenario, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    rows = best([rows, *(json.loads(Path(f).read_text(encoding="utf-8")) for f in args.also)])
    before = None
    if args.before:
        before = best([json.loads(Path(f).read_text(encoding="utf-8")) for f in args.before])
    text = table(rows, before, args.scenario, args.seconds)
    print(text, end="")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
