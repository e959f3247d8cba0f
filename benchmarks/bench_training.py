"""Training throughput of vec_ppo next to SB3's MaskablePPO with the same network, in one run, and vec_ppo's
learning on the default scenario.

    python benchmarks/bench_training.py [--env a2gym/Placement-v0] [--seconds 20] [--rounds 2] \\
        [--learn-steps 400000] [--seeds 0] [--threads 1] [--out benchmarks/results/training.txt]

Both trainers get the network of ``hyperparams/vec_ppo.yml`` (a shared MLP trunk, linear policy and value
heads: :func:`agents.vec_ppo.sb3_policy_kwargs` for SB3) and their own section's hyperparameters
(``maskable_ppo.yml`` for SB3: 4 envs, 128-step rollouts, minibatches of 128, 10 epochs; ``vec_ppo.yml``:
the native vector env). Speed is marginal: each trainer first runs a warm-up (start-up, imports, first
rollouts excluded), then the timed segments alternate SB3, vec_ppo, SB3, vec_ppo … (``--rounds``) so both see
the same machine load; env steps are real transitions (vec_ppo's autoreset steps are not counted) and the
figure is steps / wall seconds of ``learn``/``collect + update`` including evaluation-free logging.
The 1-minute load average is printed beside each segment, and steps per CPU second of the process
(``time.process_time``) beside the wall-clock rate: on a shared machine the CPU-time ratio is the steadier.
The learning part trains vec_ppo from scratch
for ``--learn-steps`` per seed with the deterministic policy evaluated on the default scenario every
``--eval-every`` steps and reports the first step at which score = reference_cost / cost ≥ 0.95.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common import load_hyperparams, make_vec, parse_key_values
from agents.vec_ppo import VecPPO, algo_kwargs, make_vector_env, sb3_policy_kwargs


def load1() -> float:
    return os.getloadavg()[0]


class Sb3Anchor:
    """SB3 MaskablePPO (its YAML section) with the vec_ppo network; ``run(seconds)`` returns steps/s."""

    def __init__(self, env_id: str, seed: int, pk: dict[str, Any]):
        from sb3_contrib import MaskablePPO

        from agents.common import algo_kwargs as sb3_kwargs

        hp = load_hyperparams("maskable_ppo", env_id, {})
        kw = sb3_kwargs(hp)
        kw["policy_kwargs"] = sb3_policy_kwargs(**pk)
        self.hp = hp
        self.venv = make_vec(env_id, {}, int(hp["n_envs"]), seed, True)
        self.model = MaskablePPO("MlpPolicy", self.venv, seed=seed, device="cpu", **kw)
        self.chunk = int(hp["n_envs"]) * int(hp["n_steps"])
        self.model.learn(self.chunk * 2)  # warm-up

    def run(self, seconds: float) -> tuple[float, float]:
        t0, c0, s0 = time.perf_counter(), time.process_time(), self.model.num_timesteps
        while time.perf_counter() - t0 < seconds:
            self.model.learn(self.chunk, reset_num_timesteps=False)
        n = self.model.num_timesteps - s0
        return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


class VecAnchor:
    """vec_ppo (its YAML section); ``run(seconds)`` returns steps/s of collect + update."""

    def __init__(self, env_id: str, seed: int, overrides: dict[str, Any] | None = None):
        self.hp = load_hyperparams("vec_ppo", env_id, overrides or {})
        self.venv = make_vector_env(env_id, {}, int(self.hp["n_envs"]))
        self.algo = VecPPO(self.venv, **algo_kwargs(self.hp), seed=seed, total_timesteps=10**9)
        self.algo.reset(seed)
        for _ in range(2):  # warm-up
            self.algo.collect()
            self.algo.update()

    def run(self, seconds: float) -> tuple[float, float]:
        t0, c0, s0 = time.perf_counter(), time.process_time(), self.algo.num_timesteps
        while time.perf_counter() - t0 < seconds:
            self.algo.collect()
            self.algo.update()
            self.algo.drain_episodes()
        n = self.algo.num_timesteps - s0
        return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def learn(env_id: str, seed: int, steps: int, eval_every: int, target: float,
          overrides: dict[str, Any] | None = None) -> tuple[list, int | None, float]:
    """Train vec_ppo ``steps`` env steps; return [(step, score)], the first step with score ≥ target and the
    wall seconds."""
    import gymnasium as gym

    hp = load_hyperparams("vec_ppo", env_id, overrides or {})
    venv = make_vector_env(env_id, {}, int(hp["n_envs"]))
    algo = VecPPO(venv, **algo_kwargs(hp), seed=seed, total_timesteps=steps)
    env = gym.make(env_id)
    algo.reset(seed)
    curve: list[tuple[int, float]] = []
    first, next_eval, t0 = None, eval_every, time.perf_counter()
    while algo.num_timesteps < steps:
        algo.collect()
        algo.update()
        algo.drain_episodes()
        if algo.num_timesteps >= next_eval or algo.num_timesteps >= steps:
            obs, info = env.reset(seed=10_000)
            done = False
            while not done:
                a = int(algo.act(obs[None], info["action_mask"][None])[0])
                obs, _, term, trunc, info = env.step(a)
                done = term or trunc
            score = 0.0 if info.get("failed") else float(info["reference_cost"]) / float(info["cost"])
            curve.append((algo.num_timesteps, score))
            if first is None and score >= target:
                first = algo.num_timesteps
            next_eval += eval_every
    wall = time.perf_counter() - t0
    venv.close()
    env.close()
    return curve, first, wall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="a2gym/Placement-v0")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds per timed segment")
    p.add_argument("--rounds", type=int, default=2, help="timed segments per trainer (alternating)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of both trainers")
    p.add_argument("--learn-steps", type=int, default=400_000, help="vec_ppo learning run (0: skip)")
    p.add_argument("--eval-every", type=int, default=20_000)
    p.add_argument("--target", type=float, default=0.95)
    p.add_argument("--seeds", type=int, nargs="*", default=[0])
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="K=V",
                   help="override vec_ppo's YAML section (speed and learning), e.g. n_envs=512")
    p.add_argument("--out", default=None, help="also write the table here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines: list[str] = []

    def out(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    import sb3_contrib

    import a2gym

    out(f"a2gym {a2gym.__version__} training throughput on {args.env} (default scenario), one process, "
        f"{args.threads} torch thread(s)")
    out(f"python {platform.python_version()}, torch {torch.__version__}, sb3-contrib "
        f"{sb3_contrib.__version__}, {platform.machine()}, {os.cpu_count()} CPUs; {args.rounds} x "
        f"{args.seconds:.0f} s per trainer, alternating; marginal (warm-up excluded)")
    overrides = parse_key_values(args.hyperparams, "--hyperparams")
    vec = VecAnchor(args.env, 0, overrides)
    pk = dict(vec.hp["policy_kwargs"])
    sb3 = Sb3Anchor(args.env, 0, pk)
    hp_s, hp_v = sb3.hp, vec.hp
    out(f"network (both): shared trunk {pk.get('net_arch')} {pk.get('activation_fn')}, linear policy and "
        "value heads")
    out(f"SB3 MaskablePPO: n_envs {hp_s['n_envs']} (DummyVecEnv), n_steps {hp_s['n_steps']}, batch_size "
        f"{hp_s['batch_size']}, n_epochs {hp_s['n_epochs']}")
    out(f"vec_ppo:         n_envs {hp_v['n_envs']} (native vector env), n_steps {hp_v['n_steps']}, "
        f"batch_size {hp_v['batch_size']}, n_epochs {hp_v['n_epochs']}")
    out()
    out(f"{'segment':<28}{'steps/s':>12}{'per CPU s':>12}{'load1':>8}")
    rates: dict[str, list[float]] = {"sb3": [], "vec": []}
    cpu: dict[str, list[float]] = {"sb3": [], "vec": []}
    for r in range(args.rounds):
        for name, trainer in (("sb3", sb3), ("vec", vec)):
            la = load1()
            rate, per_cpu = trainer.run(args.seconds)
            rates[name].append(rate)
            cpu[name].append(per_cpu)
            label = "SB3 MaskablePPO" if name == "sb3" else "vec_ppo"
            out(f"{label + f' (round {r + 1})':<28}{rate:>12,.0f}{per_cpu:>12,.0f}{la:>8.2f}")
    s, v = float(np.mean(rates["sb3"])), float(np.mean(rates["vec"]))
    sc, vc = float(np.mean(cpu["sb3"])), float(np.mean(cpu["vec"]))
    out(f"{'SB3 MaskablePPO (mean)':<28}{s:>12,.0f}{sc:>12,.0f}")
    out(f"{'vec_ppo (mean)':<28}{v:>12,.0f}{vc:>12,.0f}")
    out(f"speed-up vec_ppo / SB3: {v / s:.1f}x wall, {vc / sc:.1f}x per CPU second (target >= 20x); "
        f"load average now {load1():.2f}")
    if overrides:
        out(f"vec_ppo overrides: {overrides}")
    if args.learn_steps > 0:
        out()
        out(f"vec_ppo learning on the default scenario: {args.learn_steps:,} env steps per seed, "
            f"deterministic score every {args.eval_every:,} steps (target >= {args.target})")
        out(f"{'seed':>4} {'first step >= target':>22} {'final score':>12} {'best score':>11} {'wall s':>8}")
        for seed in args.seeds:
            curve, first, wall = learn(args.env, seed, args.learn_steps, args.eval_every, args.target,
                                       overrides)
            out(f"{seed:>4} {first if first is not None else 'never':>22} {curve[-1][1]:>12.4f} "
                f"{max(c[1] for c in curve):>11.4f} {wall:>8.1f}")
            out("     curve: " + ", ".join(f"{st // 1000}k:{sc:.3f}" for st, sc in curve))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
