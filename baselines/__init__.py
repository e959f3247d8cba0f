"""Heuristic policies that act through ``env.step``: ``make_policy(name, env, seed=None)``.

Names: ``local`` (alias ``nearest``: serve each class in its origin region, else the nearest region by RTT
that can serve it), ``cheapest`` (per-request cheapest: each class's least C[r, i], ignoring opening
costs), ``random`` (uniform over the valid actions), and the paper's baselines as A2-Greedy on a restricted
instance: ``no-adaptation``, ``model-only``, ``data-only``, ``local-greedy``.
"""

from baselines.heuristics import POLICIES, make_policy

__all__ = ["POLICIES", "make_policy"]
