"""Env wrappers of the agent scripts (applied by :func:`agents.common.make_env`, never inside the library).

a2gym envs raise :class:`a2gym.ActionError` on a masked action. An algorithm that does not use masks
(PPO, A2C, DQN) therefore trains and is evaluated through :class:`InvalidActionWrapper`:

* ``Discrete`` / ``MultiDiscrete`` (Placement, Scheduling): a masked action is not sent to the env: it
  is a no-op with reward ``-penalty`` (the "invalid action penalty" alternative to masking, Huang &
  Ontañón 2022, *A Closer Look at Invalid Action Masking*). After ``max_invalid`` masked actions in a
  row the episode ends as a failure with reward ``-failure_penalty``. Two measured pitfalls shaped
  this: ending the episode at the *first* masked action taught PPO to fail at step 1 (a random policy
  almost never completes a Placement episode, so failing early, before paying any cost, looked best);
  and an unbounded no-op loop would stop paying costs forever. The failure penalty must exceed the
  normalised cost of completed episodes (returns are −cost/reference_cost: a random valid Placement
  policy scores about −4, a random Scheduling policy about −8). A deterministic agent that picks a
  masked action repeats it, so at evaluation any masked action is a failure.
* ``MultiBinary`` (GeoServe): every bit is its own decision, so the bits that may not be 1 are cleared
  and the rest of the action is executed (``info["cleared_bits"]`` counts them); no penalty.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def action_is_valid(mask: np.ndarray, action: Any, space: gym.Space) -> bool:
    """Whether ``action`` is allowed by ``mask`` in sb3-contrib's layout (:func:`agents.common.action_mask`)."""
    if isinstance(space, gym.spaces.Discrete):
        return bool(mask[int(np.asarray(action).reshape(())) - int(space.start)])
    if isinstance(space, gym.spaces.MultiBinary):
        bits = np.asarray(action, dtype=np.int64).reshape(-1)
        return bool(np.all(mask.reshape(-1, 2)[np.arange(bits.size), bits]))
    if isinstance(space, gym.spaces.MultiDiscrete):
        offsets = np.concatenate([[0], np.cumsum(space.nvec.reshape(-1))[:-1]])
        return bool(np.all(mask[offsets + np.asarray(action, dtype=np.int64).reshape(-1)]))
    return True


class InvalidActionWrapper(gym.Wrapper):
    """Handle masked actions of an agent that does not use masks (see the module docstring).

    Discrete: a masked action is a no-op with reward ``-penalty``; the ``max_invalid``-th in a row ends
    the episode with reward ``-failure_penalty``, and that last ``info`` holds ``invalid_action`` and
    ``failed = True`` (the env's state, ``info["cost"]``, is that of the incomplete episode).
    MultiBinary: disallowed bits are cleared before the env sees the action (``info["executed_action"]``).
    """

    def __init__(self, env: gym.Env, penalty: float = 0.1, failure_penalty: float = 10.0, max_invalid: int = 16):
        super().__init__(env)
        self.penalty = float(penalty)
        self.failure_penalty = float(failure_penalty)
        self.max_invalid = int(max_invalid)
        self._obs: Any = None
        self._info: dict[str, Any] = {}
        self._invalid_run = 0

    def reset(self, **kwargs: Any):
        self._obs, self._info = self.env.reset(**kwargs)
        self._invalid_run = 0
        return self._obs, self._info

    def step(self, action: Any):
        from agents.common import action_mask

        if isinstance(self.action_space, gym.spaces.MultiBinary):
            allowed = action_mask(self.env).reshape(-1, 2)[:, 1].reshape(self.action_space.shape)
            bits = np.asarray(action).astype(self.action_space.dtype)
            cleared = int(np.sum(bits.astype(bool) & ~allowed))
            executed = np.where(allowed, bits, 0).astype(bits.dtype)
            self._obs, reward, terminated, truncated, self._info = self.env.step(executed)
            return self._obs, reward, terminated, truncated, {**self._info, "cleared_bits": cleared,
                                                              "executed_action": executed}
        if not action_is_valid(action_mask(self.env), action, self.action_space):
            self._invalid_run += 1
            info = {**self._info, "invalid_action": np.asarray(action).tolist()}
            if self._invalid_run >= self.max_invalid:
                return self._obs, -self.failure_penalty, True, False, {**info, "failed": True}
            return self._obs, -self.penalty, False, False, info
        self._invalid_run = 0
        self._obs, reward, terminated, truncated, self._info = self.env.step(action)
        return self._obs, reward, terminated, truncated, self._info


def pool_uris(generator_uri: str, size: int) -> list[str]:
    """``size`` generator URIs with the parameters of ``generator_uri`` and seeds ``s, s+1, …`` (s = its seed)."""
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
