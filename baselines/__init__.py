"""Heuristic policies that act through ``env.step``: ``make_policy(name, env, seed=None)``.

Names: ``origin-local`` (serve each class in its origin region, else the nearest region by RTT that can
serve it; not the paper's ``local`` baseline), ``cheapest`` (per-request cheapest: each class's least
C[r, i], ignoring opening costs), ``random`` (uniform over the valid actions), and the paper's baselines
as A2-Greedy on a restricted instance: ``no-adaptation``, ``model-only``, ``data-only``, ``local-greedy``
(the paper's ``local``). The policies live in :mod:`a2gym.heuristics`.
"""

from baselines.heuristics import POLICIES, make_policy

__all__ = ["POLICIES", "make_policy"]
