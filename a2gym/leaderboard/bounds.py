"""Lower bounds [$] of the suite's episodes, cached in a committed JSON file beside the records.

A lower bound costs an LP solve, so ``a2gym leaderboard build`` computes each one once and stores it
in ``<dir>/lower_bounds.json``, keyed by env id, env kwargs, scenario URI, scenario SHA-256 and seed
(``null`` for envs whose episode does not depend on the seed). A changed scenario file has a new hash, so a
stale
bound is never reused. The file is sorted and indented, so it diffs well and is byte-for-byte
reproducible.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from a2gym.leaderboard.episode import load_fresh
from a2gym.leaderboard.record import EpisodeRecord
from a2gym.leaderboard.score import BoundKey

SEED_DEPENDENT_ENVS = ("a2gym/GeoServe-v0",)
"""Envs whose demand (and so whose bound) depends on the reset seed."""

CacheKey = tuple[str, str, str, str, int | None]
"""(env id, env kwargs as canonical JSON, scenario URI, scenario SHA-256, seed or None)."""


def cache_key(r: EpisodeRecord) -> CacheKey:
    """The cache key of a record's episode bound."""
    kwargs = json.dumps(r.env_kwargs, sort_keys=True, separators=(",", ":"))
    return (
        r.env_id,
        kwargs,
        r.scenario_uri,
        r.scenario_sha256,
        (r.seed if r.env_id in SEED_DEPENDENT_ENVS else None),
    )


def compute_lower_bound(env_id: str, env_kwargs: dict, scenario_uri: str, seed: int | None) -> float:
    """Lower bound on any policy's episode cost [$].

    Placement and Scheduling plan one epoch of the scenario: ``a2gym.lower_bound(scenario)``. GeoServe
    runs a day of slots whose demand depends on the seed: the sum of per-slot bounds on that seed's
    demand (:func:`a2gym.policies.geoserve_lower_bound` after ``reset(seed)``).
    """
    import a2gym

    scn = load_fresh(scenario_uri)
    if env_id not in SEED_DEPENDENT_ENVS:
        return float(a2gym.lower_bound(scn))
    import gymnasium as gym

    from a2gym.policies import geoserve_lower_bound

    env = gym.make(env_id, scenario=scn, **env_kwargs)
    try:
        env.reset(seed=seed)
        return geoserve_lower_bound(env)
    finally:
        env.close()


def read_cache(path: str | os.PathLike[str]) -> dict[CacheKey, float]:
    """The cached bounds of ``path`` (empty if the file does not exist)."""
    p = Path(path)
    if not p.exists():
        return {}
    rows = json.loads(p.read_text(encoding="utf-8"))
    return {(r["env_id"], r["env_kwargs"], r["scenario_uri"], r["scenario_sha256"], r["seed"]):
            float(r["lower_bound"]) for r in rows}


def cache_text(cache: dict[CacheKey, float]) -> str:
    """The canonical text of a cache (sorted rows, one key per line)."""
    rows = [
        {"env_id": e, "env_kwargs": k, "scenario_uri": u, "scenario_sha256": h, "seed": s, "lower_bound": v}
        for (e, k, u, h, s), v in sorted(cache.items(), key=lambda kv: (kv[0][:4], kv[0][4] or -1))
    ]
    return json.dumps(rows, indent=1) + "\n"


def bounds_for(records: Iterable[EpisodeRecord], cache: dict[CacheKey, float]
               ) -> tuple[dict[BoundKey, float], dict[CacheKey, float]]:
    """Bounds of every record's episode, from ``cache`` or computed when missing.

    Returns (bound per (env id, URI, seed), the new cache: exactly the entries the records use).
    """
    used: dict[CacheKey, float] = {}
    out: dict[BoundKey, float] = {}
    for r in records:
        key = cache_key(r)
        if key not in used:
            used[key] = cache[key] if key in cache else compute_lower_bound(r.env_id, r.env_kwargs,
                                                                           r.scenario_uri, key[4])
        out[(r.env_id, r.scenario_uri, r.seed)] = used[key]
    return out, used
