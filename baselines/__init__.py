"""Heuristic policies that act through ``env.step``: ``make_policy(name, env, seed=None)``.

Names: ``local`` (alias ``nearest``: serve each class in its origin region, else the nearest region by RTT
that can serve it), ``cheapest`` (per-request cheapest: each class's least C[r, i], ignoring opening
costs) and ``random`` (uniform over the valid actions).
"""

from baselines.heuristics import POLICIES, make_policy

__all__ = ["POLICIES", "make_policy"]
