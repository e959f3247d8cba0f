"""Env wrappers of the agent scripts (applied by :func:`agents.common.make_env`, never inside the library).

Masked actions are handled by the envs themselves (the ``invalid_action`` make-kwarg, one implementation
in :mod:`a2gym.envs.invalid`); what is left here is the training-time scenario pool.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def pool_uris(generator_uri: str, size: int) -> list[str]:
    """``size`` generator URIs with the parameters of ``generator_uri`` and seeds ``s, s+1, …`` (s: its
    seed)."""
    from a2gym.scenario.uri import GENERATOR_SCHEME, GeneratorURI

    if not generator_uri.startswith(GENERATOR_SCHEME):
        raise ValueError(f"scenario_pool needs a generator:// scenario URI, got {generator_uri!r}")
    g = GeneratorURI.parse(generator_uri)
    return [g.with_seed(g.seed + j) for j in range(size)]


class ScenarioPool(gym.Wrapper):
    """Train on a fixed pool of generated scenarios instead of a fresh one per episode.

    Every reset picks one of ``uris`` (uniformly, from an RNG seeded by the first seeded reset) and
    passes it as ``options["scenario"]``. The loaded scenarios are kept, so the reference solve that
    normalises the reward runs once per pool scenario, not once per episode (A2-Greedy takes about
    0.1 s on a 20-class scenario, which would otherwise dominate training time). Generalisation is then
    measured on scenarios outside the pool.
    """

    def __init__(self, env: gym.Env, uris: list[str]):
        super().__init__(env)
        if not uris:
            raise ValueError("scenario pool is empty")
        self.uris = list(uris)
        self._loaded: dict[int, Any] = {}
        self._rng = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        from a2gym import load_scenario

        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if not options or "scenario" not in options:
            j = int(self._rng.integers(len(self.uris)))
            if j not in self._loaded:
                self._loaded[j] = load_scenario(self.uris[j])
            options = {**(options or {}), "scenario": self._loaded[j]}
        return self.env.reset(seed=seed, options=options)
