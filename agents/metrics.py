"""Per-episode numbers read from the ``info`` of an episode's last step (shared by training and evaluation).

The envs put the running total cost in ``info["cost"]`` [$], its split as top-level keys (``compute``,
``bandwidth``, ``deployment``, and ``penalty`` on GeoServe) [$], the reference solver's cost on the scenario in ``info["reference_cost"]`` [$] and
the violated constraints in ``info["violations"]``. An episode ended by a
run of masked actions (``info["failed"]``, :mod:`a2gym.envs.invalid`) has no valid plan: its score is 0
and its partial cost is not logged. The return of an episode is −cost/reference_cost, so the
score versus the reference is reference_cost/cost = −1/return when the reference cost is not in info.
"""

from __future__ import annotations

import math
from typing import Any

from a2gym.leaderboard.episode import cost_breakdown, violation_count

#: Parts of the cost breakdown logged under ``a2gym/cost_<part>``; other parts the env reports are logged too.
BREAKDOWN_PARTS = ("compute", "bandwidth", "deployment", "slo_penalty")
#: Env info keys that hold a part under another name (GeoServe-v0 reports ``penalty``).
PART_ALIASES = {"penalty": "slo_penalty"}


def cost_parts(info: dict[str, Any]) -> dict[str, float]:
    """The cost breakdown [$] of an info dict, read as the leaderboard reads it (one reader for both)."""
    return {PART_ALIASES.get(k, k): v for k, v in cost_breakdown(info).items()}


def episode_metrics(info: dict[str, Any], episode_return: float | None = None) -> dict[str, float]:
    """Cost, breakdown, reference cost, score and violation count of a finished episode.

    ``episode_return`` defaults to the Monitor wrapper's ``info["episode"]["r"]``; it is only used for the
    score when the env does not report ``reference_cost``.
    """
    if info.get("failed"):
        return {"score": 0.0, "failed": 1.0}
    out: dict[str, float] = {"failed": 0.0}
    cost = info.get("cost")
    if cost is not None:
        out["episode_cost"] = float(cost)
    breakdown = cost_parts(info)
    for part, value in breakdown.items():
        out[f"cost_{part}"] = value
    if breakdown:
        for part in BREAKDOWN_PARTS:
            out.setdefault(f"cost_{part}", 0.0)
    ref = info.get("reference_cost")
    if episode_return is None and isinstance(info.get("episode"), dict):
        episode_return = float(info["episode"]["r"])
    if ref is not None:
        out["reference_cost"] = float(ref)
    if ref is not None and cost is not None and float(cost) > 0:
        out["score"] = float(ref) / float(cost)
    elif episode_return is not None and episode_return < 0:
        out["score"] = -1.0 / episode_return
    if "violations" in info:
        out["violations"] = float(violation_count(info))
    return {k: v for k, v in out.items() if math.isfinite(v)}
