"""Pieces every a2gym env shares: action validation, observation scaling, rank tables, the env base class."""

from __future__ import annotations

import abc
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from a2gym.checks import is_int
from a2gym.costmodel import CostModel
from a2gym.envs.reward import make_reward
from a2gym.envs.source import ScenarioSource
from a2gym.envs.viewer import Viewer
from a2gym.errors import ActionError
from a2gym.scenario import Scenario

DEFAULT_SCENARIO = "scenario://paper-default-v0"
MAX_EPISODE_STEPS = 1_000_000
"""Registered ``max_episode_steps``: a safety cap above any episode an env accepts (each ends by itself)."""


def squash(x: Any, scale: Any) -> Any:
    """x / (x + scale): maps a non-negative amount (e.g. dollars) into [0, 1), 0.5 at ``scale``."""
    return x / (x + scale)


def discrete_action(action: Any, n: int) -> int:
    """The int of a ``Discrete(n)`` action, or :class:`ActionError` naming it (no silent conversion)."""
    if type(action) is int and 0 <= action < n:  # the common case, checked first
        return action
    if isinstance(action, np.ndarray):
        if action.shape != () or action.dtype.kind not in "iu":
            raise ActionError(f"action {action!r} is not an integer in Discrete({n})")
        action = action.item()
    elif not is_int(action):
        raise ActionError(f"action {action!r} ({type(action).__name__}) is not an integer in Discrete({n})")
    a = int(action)
    if not 0 <= a < n:
        raise ActionError(f"action {a} is outside the action space Discrete({n})")
    return a


def facility_ranks(cm: CostModel) -> np.ndarray:
    """rank[r, i] of facility i in class r's order of ascending C[r, i] (ties: lower index first);
    |I| where infeasible.  Routing to the open facility of least rank = cheapest by C, order-independent."""
    R, n_fac = cm.C.shape
    order = np.argsort(cm.C, axis=1, kind="stable")
    rank = np.empty((R, n_fac), dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(n_fac)[None, :], axis=1)
    return np.where(cm.fac_feasible, rank, n_fac)


class A2Env(gym.Env, abc.ABC):
    """Base of the a2gym envs: scenario source, reward, viewer, ``action_masks`` and reset options."""

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}
    reset_options = ("scenario",)

    def __init__(self, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.source = ScenarioSource(scenario, resample=resample, max_classes=max_classes)
        self.reward_fn = make_reward(reward)
        self.viewer = Viewer()
        self.scenario: Scenario = self.source.first

    def _choose_scenario(self, options: dict[str, Any] | None) -> Scenario:
        options = options or {}
        unknown = sorted(set(options) - set(self.reset_options))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown} (known: {list(self.reset_options)})")
        if "scenario" in options:
            return self.source.load(options["scenario"])
        return self.source.draw(self.np_random)

    def _check_steps(self, needed: int) -> None:
        """Refuse an episode that could outlast the registered cap (the inner env cannot see a TimeLimit
        wrapper, so a cap the user lowers at ``make`` truncates as Gymnasium documents)."""
        if needed > MAX_EPISODE_STEPS:
            raise ValueError(f"scenario {self.scenario.name!r} needs up to {needed} steps per episode, more than "
                             f"the registered max_episode_steps = {MAX_EPISODE_STEPS}")

    def action_masks(self) -> np.ndarray:
        """Valid actions now (bool), for sb3-contrib's MaskablePPO; equals ``info["action_mask"]``."""
        return self._mask().copy()

    def render(self):
        """``rgb_array``: a map of the current plan; ``ansi``: a table of it with the cost so far [$]."""
        if self.render_mode == "rgb_array":
            return self.viewer.rgb(self.scenario, self.plan())
        if self.render_mode == "ansi":
            return self.viewer.ansi(self.scenario, self.plan(), self._cost_parts(), title=self._render_title())
        return None

    def _render_title(self) -> str:
        name = self.spec.id.removeprefix("a2gym/") if self.spec is not None else type(self).__name__
        return f"{name} on {self.scenario.name}"

    def _cost_parts(self) -> dict[str, float]:
        """Cost so far [$] as total / compute / bandwidth / deployment (envs built on a one-copy batch)."""
        return dict(zip(("total", "compute", "bandwidth", "deployment"), self.batch.costs[0].tolist(), strict=True))

    def _cost_info(self, **extra: Any) -> dict[str, Any]:
        """``info``: the cost keys [$], the reference cost, ``extra``, then the plan's violations once the
        episode has been evaluated (always in this key order)."""
        parts = self._cost_parts()
        info: dict[str, Any] = {"cost": parts.pop("total"), **parts, "reference_cost": self.reference_cost, **extra}
        if self._last_eval is not None:
            info["violations"] = [str(v) for v in self._last_eval.violations]
        return info

    @abc.abstractmethod
    def _mask(self) -> np.ndarray:
        """The valid actions now (bool; the env's own array, copied by :meth:`action_masks`)."""


class A2VectorEnv(VectorEnv, abc.ABC):
    """Natively batched copies of one a2gym env on one scenario (numpy over the batch, NEXT_STEP autoreset).

    Subclasses set ``single_action_space``, ``single_observation_space`` and implement ``_setup`` (build
    ``self.batch``, ``self.reference_cost``) and ``_apply`` (step the acting copies).  Each copy computes
    exactly what the single env computes: the single env is the same batch code with N = 1.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 max_episode_steps: int | None = None):
        if resample:
            raise ValueError("the native vector env runs one fixed scenario; for resample=True use "
                             "gymnasium.make_vec(..., vectorization_mode='sync' or 'async')")
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r}: the native vector env does not render; "
                             "render a single env instead")
        if not (isinstance(num_envs, int | np.integer) and num_envs >= 1):
            raise ValueError(f"num_envs = {num_envs!r} must be an integer >= 1")
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.source = ScenarioSource(scenario, max_classes=max_classes)
        self.reward_fn = make_reward(reward)
        self.max_episode_steps = max_episode_steps
        self.scenario: Scenario = self.source.first

    def _finish_init(self) -> None:
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._setup(self.scenario)
        self.steps = np.zeros(self.num_envs, dtype=np.int64)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)

    @abc.abstractmethod
    def _setup(self, scenario: Scenario) -> None:
        """Build the batch state for ``scenario`` (all copies)."""

    @abc.abstractmethod
    def _apply(self, b: np.ndarray, a: np.ndarray) -> None:
        """Apply action ``a[j]`` to copy ``b[j]`` (already validated)."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        unknown = sorted(set(options) - {"scenario"})
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown} (known: ['scenario'])")
        if "scenario" in options:
            self.scenario = self.source.load(options["scenario"])
        self._setup(self.scenario)
        self.steps[:] = 0
        self.prev_done[:] = False
        return self.batch.observe(self.reference_cost), self._info()

    def step(self, actions: Any):
        a = np.asarray(actions)
        n_act = int(self.single_action_space.n)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise ActionError(f"actions {actions!r} must be an integer array of shape ({self.num_envs},)")
        out = np.flatnonzero((a < 0) | (a >= n_act))
        if out.size:
            e = int(out[0])
            raise ActionError(f"env {e}: action {int(a[e])} is outside the action space Discrete({n_act})")
        resetting = self.prev_done.copy()
        acting = np.flatnonzero(~resetting)
        allowed = self.batch.allowed(acting, a[acting]) if hasattr(self.batch, "allowed") else \
            self.batch.masks()[acting, a[acting]]
        bad = acting[~allowed]
        if bad.size:
            e = int(bad[0])
            raise ActionError(f"env {e}: action {int(a[e])} is masked off")
        before = self.batch.costs[:, 0].copy()
        self._apply(acting, a[acting].astype(np.int64))
        reward = self.reward_fn(before, self.batch.costs[:, 0], self.reference_cost)
        terminated = self.batch.done.copy()
        self.steps += 1
        cap = self.max_episode_steps
        truncated = (self.steps >= cap) & ~terminated if cap is not None else np.zeros(self.num_envs, dtype=bool)
        idx = np.flatnonzero(resetting)
        if idx.size:
            self.batch.reset(idx)
            self.steps[idx] = 0
            reward[idx] = 0.0
            terminated[idx] = truncated[idx] = False
        self.prev_done = terminated | truncated
        return self.batch.observe(self.reference_cost), reward, terminated, truncated, self._info()

    def action_masks(self) -> np.ndarray:
        """[N, n_actions] valid actions of every copy (MaskablePPO with a VecEnv calls this per copy)."""
        return self.batch.masks().copy()

    def _masks_copy(self) -> np.ndarray:
        m = self.batch.masks()
        return m if getattr(self.batch, "masks_are_fresh", False) else m.copy()

    def _info(self) -> dict[str, Any]:
        c = self.batch.costs
        ones = np.ones(self.num_envs, dtype=bool)
        info: dict[str, Any] = {"cost": c[:, 0].copy(), "compute": c[:, 1].copy(), "bandwidth": c[:, 2].copy(),
                                "deployment": c[:, 3].copy(), "action_mask": self._masks_copy(),
                                "reference_cost": np.full(self.num_envs, self.reference_cost)}
        info.update({f"_{k}": ones for k in list(info)})
        return info
