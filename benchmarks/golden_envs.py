"""Record (or check) every obs, reward, terminated, truncated, info and action mask of seeded episodes.

    python -m benchmarks.golden_envs record golden.pkl
    python -m benchmarks.golden_envs check golden.pkl

Single envs (gymnasium.make) play seeded random masked episodes and the reference policy; native vector
envs (N = 1, 7, 64) play seeded random masked actions through autoresets.  ``check`` compares exactly
(dtype, shape and bits; no tolerance).
"""

from __future__ import annotations

import pickle
import sys

import gymnasium as gym
import numpy as np

import a2gym  # noqa: F401
from a2gym.policies import reference_policy

SCENARIOS = ["scenario://paper-default-v0", "generator://synth-v0/1?classes=30&regions=5",
             "generator://synth-v0/2?classes=8&regions=3"]
ENVS = ["a2gym/Placement-v0", "a2gym/Scheduling-v0"]


def snap(x):
    """A comparable copy: arrays keep dtype/shape, floats keep bits."""
    if isinstance(x, np.ndarray):
        return ("nd", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, dict):
        return ("dict", tuple((k, snap(v)) for k, v in x.items()))
    if isinstance(x, list | tuple):
        return (type(x).__name__, tuple(snap(v) for v in x))
    if isinstance(x, float | np.floating):
        return (type(x).__name__, float(x).hex())
    if isinstance(x, bool | np.bool_ | int | np.integer):
        return (type(x).__name__, int(x))
    return (type(x).__name__, repr(x))


def single(env_id: str, uri: str, out: list) -> None:
    env = gym.make(env_id, scenario=uri)
    rng = np.random.default_rng(123)
    for ep in range(6):
        obs, info = env.reset(seed=ep)
        policy = reference_policy(env) if ep == 5 else None
        out.append(("reset", env_id, uri, ep, snap(obs), snap(info), snap(env.unwrapped.action_masks())))
        while True:
            if policy is not None:
                a = policy(obs, info)
            else:
                m = info["action_mask"]
                a = int(np.argmax(rng.random(m.shape) * m))
            obs, r, term, trunc, info = env.step(a)
            out.append(("step", a, snap(obs), snap(r), snap(term), snap(trunc), snap(info),
                        snap(env.unwrapped.action_masks())))
            if term or trunc:
                break


def vector(env_id: str, uri: str, n: int, out: list) -> None:
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=uri)
    rng = np.random.default_rng(7 + n)
    obs, info = venv.reset(seed=0)
    out.append(("vreset", env_id, uri, n, snap(obs), snap(info), snap(venv.action_masks())))
    steps = 130 if n < 64 else 90
    for _ in range(steps):
        m = info["action_mask"]
        a = np.argmax(rng.random(m.shape) * m, axis=1)
        obs, r, term, trunc, info = venv.step(a)
        out.append(("vstep", snap(a), snap(obs), snap(r), snap(term), snap(trunc), snap(info),
                    snap(venv.action_masks())))


def record() -> list:
    out: list = []
    for uri in SCENARIOS:
        for env_id in ENVS:
            single(env_id, uri, out)
            for n in (1, 7, 64):
                vector(env_id, uri, n, out)
    return out


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    rec = record()
    if mode == "record":
        with open(path, "wb") as f:
            pickle.dump(rec, f)
        print(f"recorded {len(rec)} entries")
        return
    with open(path, "rb") as f:
        gold = pickle.load(f)
    if len(gold) != len(rec):
        sys.exit(f"MISMATCH: {len(rec)} entries vs {len(gold)} golden")
    for k, (g, r) in enumerate(zip(gold, rec, strict=True)):
        if g != r:
            sys.exit(f"MISMATCH at entry {k}: {g[:2]} ...")
    print(f"OK: {len(rec)} entries identical")


if __name__ == "__main__":
    main()
