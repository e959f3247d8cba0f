"""The Placement search entry: the published generalist plus inference-time search (issue 19, part 3).

    a2gym eval --policy agents.search_entry:make --suite a2-test-v1 --env a2gym/Placement-v0 \\
        --name placement-general-search --not-trained-on-test --out leaderboard/placement-general-search.jsonl

Per episode, :func:`make` runs :func:`agents.search.best_of_k` on private sets envs made from the context's
own scenario copy (:data:`K` episodes per round, :data:`ROUNDS` rounds, temperature :data:`TEMPERATURE`,
the policy fine-tuned to the instance between rounds through a logit bias with learning rate :data:`ADAPT`,
the sampler seeded with the episode's seed), then replays the cheapest episode's plain actions in the real
env. The search time is spent in ``make``'s first action, so it is in the episode's recorded time. The
configuration was chosen on ``a2-val-v1`` and fresh generated scenarios (``experiments/search_placement.py``,
``results/agents/search_placement.md``), never on the test suite; no solver and no optimum is consulted.
The checkpoint is the one :mod:`agents.generalist_entry` pins by SHA-256.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from a2gym.heuristics import PolicyContext
from agents.generalist_entry import ShadowDivergedError, pinned_model
from agents.search import SearchResult, best_of_k

K = 16
"""Sampled episodes per round."""
ROUNDS = 8
"""Rounds (round 0 with the deterministic episode; each later one from the policy fine-tuned to the instance
by the rounds before)."""
ADAPT = 5.0
"""Learning rate of the per-instance logit bias (:func:`agents.search.best_of_k`'s ``adapt``)."""
TEMPERATURE = 1.0
"""Softmax temperature of the sampled actions."""


class SearchPolicy:
    """``policy(obs, info) -> plain action`` of one episode: the search's cheapest episode, replayed."""

    def __init__(self, ctx: PolicyContext):
        kwargs = dict(ctx.env_kwargs)
        if kwargs.get("observation", "plain") != "plain":
            raise ValueError(f"{ctx.env_id} with observation={kwargs['observation']!r}: the search entry "
                             "plays the plain observation's env")
        self.ctx = ctx
        # every file the search needs is loaded here (the leaderboard pins what make loads): the checkpoint
        # and the sets env's modules; the search itself runs at the first call, inside the episode's time
        self.model = pinned_model("placement-general")
        gym.make(ctx.env_id, scenario=ctx.scenario, observation="sets", **kwargs).close()
        self.result: SearchResult | None = None
        self.step_no = 0

    def __call__(self, obs: Any, info: dict[str, Any]) -> int:
        if self.result is None:  # search at the first call, so its time counts in the episode's time
            self.result = best_of_k(self.model, self.ctx.env_id, self.ctx.scenario,
                                    dict(self.ctx.env_kwargs), self.ctx.seed, K, TEMPERATURE, ROUNDS,
                                    ADAPT)
        where = f"{self.ctx.env_id} {self.ctx.scenario.uri or self.ctx.scenario.name} seed {self.ctx.seed}"
        if self.step_no >= len(self.result.actions):
            raise ShadowDivergedError(f"{where}: step {self.step_no}: the searched episode has ended but the "
                                      "real env asks for another action")
        a = self.result.actions[self.step_no]
        mask = np.asarray(info["action_mask"], dtype=bool)
        if not (0 <= a < mask.size and mask[a]):
            raise ShadowDivergedError(f"{where}: step {self.step_no}: the searched action {a} is masked in "
                                      "the real env")
        self.step_no += 1
        return a


def make(ctx: PolicyContext) -> SearchPolicy:
    """The policy of one Placement-v0 episode (module doc)."""
    if ctx.env_id != "a2gym/Placement-v0":
        raise ValueError(f"the search entry plays a2gym/Placement-v0, not {ctx.env_id}")
    return SearchPolicy(ctx)
