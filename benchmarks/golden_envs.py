"""Golden digests of seeded env episodes: every obs, reward, terminated, truncated, cost, mask and action.

    python -m benchmarks.golden_envs record   # rewrite tests/golden/envs.json (after a deliberate change)
    python -m benchmarks.golden_envs check    # compare with it (tests/test_golden_envs.py runs this)

Single envs (``gymnasium.make``) play seeded random masked episodes and the reference policy; native vector
envs (N = 1, 7, 64) play seeded random masked actions through autoresets; GeoServe plays a short day.  Each
case is hashed (SHA-256 of the exact bits: dtype, shape and bytes of arrays, ``float.hex`` of floats), so a
refactor that changes any number by one ulp, or the order of a step's outputs, fails with the case's name.
Only the ``info`` keys of :data:`INFO_KEYS` enter the digest, so adding an ``info`` key is not a change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import a2gym  # noqa: F401  (registers the envs)
from a2gym.policies import reference_policy

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "envs.json"
SCENARIOS = ("scenario://paper-default-v0", "generator://synth-v0/1?classes=30&regions=5",
             "generator://synth-v0/2?classes=8&regions=3")
ENVS = ("a2gym/Placement-v0", "a2gym/Scheduling-v0")
GEO = ("generator://synth-v0/2?classes=8&regions=3", {"n_slots": 8, "slot_minutes": 60.0})
LARGE = "generator://synth-v0/5?classes=100&regions=8"
"""A larger scenario for the throughput paths (many facilities per episode, many finishes per step)."""
SETS = ("scenario://paper-default-v0", "generator://synth-v0/1?classes=30&regions=5")
RESAMPLE = "generator://synth-v0/3?classes=12&regions=3"
INFO_KEYS = ("cost", "compute", "bandwidth", "deployment", "penalty", "reference_cost", "action_mask",
             "violations", "unserved_requests", "observed_rates", "slot")


def snap(x: Any) -> Any:
    """A comparable, JSON-able form: arrays keep dtype/shape/bytes, floats keep bits."""
    if isinstance(x, np.ndarray) and x.dtype == object:  # e.g. a vector env's per-copy lists
        return ["ndobj", list(x.shape), [snap(v) for v in x.ravel()]]
    if isinstance(x, np.ndarray):
        data = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
        return ["nd", x.dtype.str, list(x.shape), data]
    if isinstance(x, dict) and "facilities" in x:  # a sets observation: every key
        return ["obsdict", [[k, snap(x[k])] for k in sorted(x)]]
    if isinstance(x, dict):
        return ["dict", [[k, snap(x[k])] for k in INFO_KEYS if k in x]]
    if isinstance(x, list | tuple):
        return [type(x).__name__, [snap(v) for v in x]]
    if isinstance(x, float | np.floating):
        return [type(x).__name__, float(x).hex()]
    if isinstance(x, bool | np.bool_ | int | np.integer):
        return [type(x).__name__, int(x)]
    return [type(x).__name__, repr(x)]


def _random(info: dict, rng: np.random.Generator, binary: bool, space: gym.Space | None = None) -> Any:
    m = info["action_mask"]
    if not binary and isinstance(space, gym.spaces.MultiDiscrete):  # GeoServe-v1: a block per facility
        blocks = m.reshape(len(space.nvec), -1)
        return np.argmax(rng.random(blocks.shape) * blocks, axis=1)
    if binary:
        return (m.reshape(-1, 2)[:, 1] & (rng.random(m.size // 2) < 0.5)).astype(np.int8)
    return int(np.argmax(rng.random(m.shape) * m))


def single(env_id: str, uri: str, episodes: int = 6, **kw: Any) -> list:
    """Episodes 0 … episodes-2 random, the last one the reference policy."""
    env = gym.make(env_id, scenario=uri, **kw)
    binary = env_id.endswith("GeoServe-v0")
    rng = np.random.default_rng(123)
    out: list = []
    for ep in range(episodes):
        obs, info = env.reset(seed=ep)
        policy = reference_policy(env) if ep == episodes - 1 else None
        out.append(["reset", ep, snap(obs), snap(info), snap(env.unwrapped.action_masks())])
        while True:
            a = policy(obs, info) if policy is not None else _random(info, rng, binary, env.action_space)
            obs, r, term, trunc, info = env.step(a)
            out.append(["step", snap(np.asarray(a, dtype=np.int64)), snap(obs), snap(r), snap(term),
                        snap(trunc), snap(info), snap(env.unwrapped.action_masks())])
            if term or trunc:
                break
    return out


def vector(env_id: str, uri: str, n: int) -> list:
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", scenario=uri)
    rng = np.random.default_rng(7 + n)
    obs, info = venv.reset(seed=0)
    out: list = [["vreset", snap(obs), snap(info), snap(venv.unwrapped.action_masks())]]
    for _ in range(130 if n < 64 else 90):
        m = info["action_mask"]
        a = np.argmax(rng.random(m.shape) * m, axis=1)
        obs, r, term, trunc, info = venv.step(a)
        out.append(["vstep", snap(a), snap(obs), snap(r), snap(term), snap(trunc), snap(info),
                    snap(venv.unwrapped.action_masks())])
    return out


def cases() -> dict[str, Callable[[], list]]:
    """Case name -> the function that plays it."""
    out: dict[str, Callable[[], list]] = {}
    for uri in SCENARIOS:
        for env_id in ENVS:
            out[f"{env_id} single {uri}"] = lambda e=env_id, u=uri: single(e, u)
            for n in (1, 7, 64):
                out[f"{env_id} vector N={n} {uri}"] = lambda e=env_id, u=uri, k=n: vector(e, u, k)
    out[f"a2gym/GeoServe-v0 single {GEO[0]}"] = lambda: single("a2gym/GeoServe-v0", GEO[0], 3, **GEO[1])
    # the throughput paths (issue 20), pinned before they were rewritten
    # recorded as GeoServe-v1, which is GeoServeCapacity-v0 normalised by the reactive re-solve (0.2.0)
    out[f"a2gym/GeoServe-v1 single {GEO[0]}"] = lambda: single("a2gym/GeoServeCapacity-v0", GEO[0], 3,
                                                               normaliser="reactive", **GEO[1])
    for env_id in ENVS:
        out[f"{env_id} single {LARGE}"] = lambda e=env_id: single(e, LARGE, 4)
        out[f"{env_id} vector N=256 {LARGE}"] = lambda e=env_id: vector(e, LARGE, 256)
        out[f"{env_id} single resample {RESAMPLE}"] = lambda e=env_id: single(e, RESAMPLE, 5, resample=True)
        for uri in SETS:
            out[f"{env_id} single sets {uri}"] = lambda e=env_id, u=uri: single(e, u, 4, observation="sets")
    return out


def digest(name: str) -> str:
    """SHA-256 of case ``name``'s snapshots."""
    return hashlib.sha256(json.dumps(cases()[name](), separators=(",", ":")).encode()).hexdigest()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "check"
    if mode not in ("record", "check"):
        sys.exit(f"usage: python -m benchmarks.golden_envs record|check (got {mode!r})")
    got = {name: digest(name) for name in cases()}
    if mode == "record":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        tmp = GOLDEN.with_suffix(".tmp")
        tmp.write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        tmp.replace(GOLDEN)
        print(f"recorded {len(got)} cases in {GOLDEN.name}")
        return
    gold = json.loads(GOLDEN.read_text(encoding="utf-8"))
    bad = [k for k in sorted(set(gold) | set(got)) if gold.get(k) != got.get(k)]
    if bad:
        sys.exit("MISMATCH: " + "; ".join(bad))
    print(f"OK: {len(got)} cases identical")


if __name__ == "__main__":
    main()
