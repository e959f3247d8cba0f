"""Heuristic policies for the a2gym envs, for scripts that hold the env: ``make_policy(name, env, seed)``.

The policies themselves live in the library (:mod:`a2gym.heuristics`), where the leaderboard re-runs
them; this module only builds their :class:`~a2gym.heuristics.PolicyContext` from an env. Names:

* ``origin-local``: each class in its origin region (else the nearest region by RTT that can serve it),
  at that region's cheapest facility. This is *not* the paper's ``local`` baseline: that one is A2-Greedy
  restricted to origin regions (``a2gym solve --restrict local``), here named ``local-greedy``;
* ``cheapest``: each class's per-request cheapest facility (least C[r, i], opening costs ignored);
* ``random``: uniform over the valid actions, seeded by ``seed``;
* the paper's baselines as A2-Greedy on a restricted instance: ``no-adaptation``, ``model-only``,
  ``data-only``, ``local-greedy``.
"""

from __future__ import annotations

import gymnasium as gym

from a2gym.heuristics import HEURISTICS, RESTRICTED, Policy, cheapest_target, context_of, make_heuristic
from a2gym.heuristics import origin_local_target as origin_local_target

POLICIES = (*HEURISTICS, *RESTRICTED)
PAPER_BASELINES = {name: RESTRICTED[name] for name in RESTRICTED}
"""Policy name -> ``restrict`` argument of :func:`a2gym.solve`."""


def make_policy(name: str, env: gym.Env, seed: int | None = None) -> Policy:
    """The heuristic ``name`` (one of ``POLICIES``) for ``env`` (any wrapper around an a2gym env)."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICIES)})")
    return make_heuristic(name, context_of(env, 0 if seed is None else seed))


__all__ = ["PAPER_BASELINES", "POLICIES", "cheapest_target", "make_policy", "origin_local_target"]
