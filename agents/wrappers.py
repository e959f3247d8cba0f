"""Env wrappers of the agent scripts (applied by :func:`agents.common.make_env`, never inside the library).

Masked actions are handled by the envs themselves (the ``invalid_action`` make-kwarg, one implementation
in :mod:`a2gym.envs.invalid`); what is left here is the training-time scenario pool.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agents.sizes import SEED_BASE, TRAIN_SIZES, sized_uri


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


_POOL_CACHE: dict[str, Any] = {}
"""Loaded scenarios of :class:`FreshMixedSizes` pools, shared by every copy in the process (URI ->
Scenario)."""


class FreshMixedSizes(gym.Wrapper):
    """Generated scenarios of random sizes, a new one drawn at every reset (``observation="sets"`` envs).

    A draw is a generator seed from ``split``'s range (:data:`agents.sizes.SEED_BASE`: training seeds in
    [0, 5e6), validation in [5e6, 9e6); the test scenarios of :func:`agents.sizes.uris` start at 9e6)
    and sizes from ``sizes`` (inclusive ranges per generator parameter, default
    :data:`agents.sizes.TRAIN_SIZES`); the URI goes to the env as ``options["scenario"]``. The draws come
    from an RNG seeded by the seeded reset (``[seed, split]``), so a seeded reset's scenario is reproducible
    and autoresets (unseeded) continue the sequence. It is ``resample=True`` over mixed sizes (``resample``
    alone keeps the first scenario's sizes).

    ``pool=0``: a fresh scenario at every reset, whose reference solve (A2-Greedy with local search) and
    generation then run at that reset, ~0.05-0.07 s at 8-40 classes (measured: 55% of a training step's time
    on Placement). ``pool=N``: the draws are the first N of ``split``'s sequence ``[0, N]`` (the same in every
    copy), loaded once per process and kept (:data:`_POOL_CACHE`), so each reference solve runs once.
    """

    def __init__(self, env: gym.Env, split: str = "train", sizes: dict[str, tuple[int, int]] | None = None,
                 pool: int = 0):
        super().__init__(env)
        if split not in ("train", "val"):
            raise ValueError(f"split={split!r}: 'train' or 'val' (the test range is agents.sizes.uris')")
        self.split, self.sizes = split, dict(sizes or TRAIN_SIZES)
        self._lo = SEED_BASE[split]
        self._hi = SEED_BASE["val"] if split == "train" else SEED_BASE["test"]
        self._rng = np.random.default_rng([0, len(split)])
        self.pool: list[str] = []
        if pool:
            rng = np.random.default_rng([0, int(pool), len(split)])
            self.pool = [self._draw(rng) for _ in range(int(pool))]

    def _draw(self, rng: np.random.Generator) -> str:
        return sized_uri(int(rng.integers(self._lo, self._hi)), rng, sizes=self.sizes)

    def draw_scenario(self) -> Any:
        """The next scenario (a URI, or a loaded pool Scenario) of this wrapper's sequence."""
        if not self.pool:
            return self._draw(self._rng)
        uri = self.pool[int(self._rng.integers(len(self.pool)))]
        if uri not in _POOL_CACHE:
            from a2gym import load_scenario

            _POOL_CACHE[uri] = load_scenario(uri)
        return _POOL_CACHE[uri]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = np.random.default_rng([seed, len(self.split)])
        if not options or "scenario" not in options:
            options = {**(options or {}), "scenario": self.draw_scenario()}
        return self.env.reset(seed=seed, options=options)
