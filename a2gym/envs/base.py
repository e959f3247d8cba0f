"""Pieces every a2gym env shares: action validation, observation scaling, rank tables, the env base class."""

from __future__ import annotations

import abc
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from a2gym.checks import is_int
from a2gym.costmodel import CostModel, Evaluation
from a2gym.envs.invalid import (
    DEFAULT_FAILURE_PENALTY,
    DEFAULT_INVALID_PENALTY,
    DEFAULT_MAX_INVALID,
    InvalidActionCounter,
    InvalidActionCounters,
    InvalidActionRule,
    check_bool,
)
from a2gym.envs.reward import make_reward
from a2gym.envs.source import ScenarioSource
from a2gym.envs.viewer import Viewer
from a2gym.errors import ActionError, ResetNeededError
from a2gym.plan import Plan
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


def mask_obs_space(obs_space: spaces.Box, n_mask: int) -> spaces.Dict:
    """The ``action_mask_in_obs=True`` observation space: today's Box and the mask as 0/1 floats (the layout
    RLlib's action-masking RLModule, TorchRL and Tianshou read)."""
    return spaces.Dict({"observations": obs_space,
                        "action_mask": spaces.Box(0.0, 1.0, (n_mask,), dtype=np.float32)})


class A2Env(gym.Env, abc.ABC):
    """Base of the a2gym envs: scenario source, reward, viewer, masked actions, masks, reset options.

    A subclass builds, in ``__init__`` (before :meth:`_finish_spaces`) and at every reset, the attributes
    declared below, and implements :meth:`_mask`, :meth:`_obs`, :meth:`_info` and :meth:`plan`.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}
    reset_options = ("scenario",)

    batch: Any
    """The episode state: a batch of one copy (``costs[0]`` = total, compute, bandwidth, deployment [$])."""
    tables: Any
    """Per-scenario arrays the env reads (``<Env>Tables.of(scenario)``)."""
    reference_cost: float
    """The reward normaliser: the reference's cost on the current scenario [$ per epoch, or per day]."""
    _last_eval: Evaluation | None = None
    """The evaluation of the finished plan (Placement, Scheduling), else None."""

    def __init__(self, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 *, invalid_action: str = "noop", invalid_penalty: float = DEFAULT_INVALID_PENALTY,
                 invalid_failure_penalty: float = DEFAULT_FAILURE_PENALTY,
                 max_invalid_actions: int = DEFAULT_MAX_INVALID, action_mask_in_obs: bool = False):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.invalid_rule = InvalidActionRule.from_kwargs(invalid_action, invalid_penalty,
                                                          invalid_failure_penalty, max_invalid_actions)
        self.invalid = InvalidActionCounter(self.invalid_rule)
        self.action_mask_in_obs = check_bool("action_mask_in_obs", action_mask_in_obs)
        self.source = ScenarioSource(scenario, resample=resample, max_classes=max_classes)
        self.reward_fn = make_reward(reward)
        self.viewer = Viewer()
        self.scenario: Scenario = self.source.first
        self._make_kwargs: dict[str, Any] = {"resample": resample, "max_classes": max_classes,
                                             "reward": reward, **self.invalid_rule.kwargs(),
                                             "action_mask_in_obs": action_mask_in_obs}
        self._needs_reset: str | None = "step() before reset()"  # why step() raises ResetNeededError now

    @property
    def invalid_action(self) -> str:
        """What a masked action does: ``"noop"`` or ``"raise"`` (the ``invalid_action`` make-kwarg)."""
        return self.invalid_rule.mode

    def make_kwargs(self) -> dict[str, Any]:
        """Every make-kwarg of this env except ``scenario`` and ``render_mode``, with the values in effect
        (defaults included): what a record needs to replay an episode, masked actions and all."""
        return dict(self._make_kwargs)

    def _finish_spaces(self, obs_space: spaces.Box, n_mask: int) -> None:
        """Set ``observation_space`` (a Dict with the mask when ``action_mask_in_obs``)."""
        self.box_space = obs_space
        self.observation_space = mask_obs_space(obs_space, n_mask) if self.action_mask_in_obs else obs_space

    def _observation(self) -> Any:
        """The observation: :meth:`_obs` (the Box), wrapped with the mask when ``action_mask_in_obs``."""
        obs = self._obs()
        if self.action_mask_in_obs:
            return {"observations": obs, "action_mask": self._mask().astype(np.float32)}
        return obs

    def _reset_needed(self) -> ResetNeededError:
        """The error of a step() while ``_needs_reset`` (before the first reset, or after the end)."""
        name = self.spec.id if self.spec is not None else type(self).__name__
        return ResetNeededError(f"{name}: {self._needs_reset}; call reset() first")

    def _begin_episode(self) -> None:
        """reset(): the episode's masked-action counters start at 0 and step() is allowed."""
        self.invalid.reset()
        self._last_eval = None
        self._needs_reset = None

    def _invalid_info(self, invalid: bool) -> dict[str, Any]:
        return {"invalid_action": invalid, "invalid_actions": self.invalid.total}

    def _masked_step(self, why: Any) -> tuple:
        """step() of a masked action: raise (``invalid_action="raise"``), or a no-op that pays
        ``-invalid_penalty`` and, the ``max_invalid_actions``-th time in a row, ends the episode as a
        failure (Discrete envs; see :mod:`a2gym.envs.invalid`)."""
        reward, failed = self.invalid.masked(why)
        info = {**self._info(), **self._invalid_info(True)}
        if failed:
            self._needs_reset = "the episode has ended (failed: too many masked actions in a row)"
            info["failed"] = True
            info["violations"] = self._failed_violations()
        return self._observation(), reward, failed, False, info

    def _failed_violations(self) -> list[str]:
        """``info["violations"]`` of an episode failed by masked actions: the classes it leaves unserved."""
        names = self.scenario.classes
        return [f"unserved: {names[r]}" for r in self._unserved_classes()]

    def _unserved_classes(self) -> np.ndarray:
        """Indices of the classes the plan does not serve yet."""
        served = np.zeros(self.scenario.n_classes, dtype=bool)
        served[self.plan().cls] = True
        return np.flatnonzero(~served)

    @abc.abstractmethod
    def _obs(self) -> np.ndarray:
        """The observation Box's array now (fresh); see each env's ``## Observation Space``."""

    @abc.abstractmethod
    def _info(self) -> dict[str, Any]:
        """``info`` now (reset's, and a step's when nothing more happened); see each env's docstring."""

    @abc.abstractmethod
    def plan(self) -> Plan:
        """The plan built so far (Placement, Scheduling) or of the last slot (GeoServe)."""

    def target_action(self, target: Plan | np.ndarray, data: np.ndarray | None = None) -> Any:
        """The action that moves this episode toward a target assignment: a :class:`Plan`, or each class's
        target facility ``target[r]`` (and data version ``data[r]``, default d*).  The one target-to-action
        adaptor the reference policy and the heuristic baselines share (see each env's ``## Reference``)."""
        raise NotImplementedError(f"{type(self).__name__} has no target-to-action adaptor")

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
            raise ValueError(f"scenario {self.scenario.name!r} needs up to {needed} steps per episode, "
                             f"more than the registered max_episode_steps = {MAX_EPISODE_STEPS}")

    def action_masks(self) -> np.ndarray:
        """Valid actions now (bool), for sb3-contrib's MaskablePPO; equals ``info["action_mask"]``."""
        return self._mask().copy()

    def render(self):
        """``rgb_array``: a map of the current plan; ``ansi``: a table of it with the cost so far [$]."""
        if self.render_mode == "rgb_array":
            return self.viewer.rgb(self.scenario, self.plan())
        if self.render_mode == "ansi":
            return self.viewer.ansi(self.scenario, self.plan(), self._cost_parts(),
                                    title=self._render_title())
        return None

    def _render_title(self) -> str:
        name = self.spec.id.removeprefix("a2gym/") if self.spec is not None else type(self).__name__
        return f"{name} on {self.scenario.name}"

    def _cost_parts(self) -> dict[str, float]:
        """Cost so far [$] as total / compute / bandwidth / deployment (envs built on a one-copy batch)."""
        names = ("total", "compute", "bandwidth", "deployment")
        return dict(zip(names, self.batch.costs[0].tolist(), strict=True))

    def _cost_info(self, **extra: Any) -> dict[str, Any]:
        """``info``: the cost keys [$], the reference cost, ``extra``, then the plan's violations once the
        episode has been evaluated (always in this key order)."""
        parts = self._cost_parts()
        info: dict[str, Any] = {"cost": parts.pop("total"), **parts, "reference_cost": self.reference_cost,
                                **extra}
        if self._last_eval is not None:
            info["violations"] = [str(v) for v in self._last_eval.violations]
        return info

    @abc.abstractmethod
    def _mask(self) -> np.ndarray:
        """The valid actions now (bool; the env's own array, copied by :meth:`action_masks`)."""


class A2VectorEnv(VectorEnv, abc.ABC):
    """Natively batched copies of one a2gym env on one scenario (numpy over the batch, NEXT_STEP autoreset).

    Subclasses set ``single_action_space``, ``single_observation_space`` and implement ``_setup`` (build
    ``self.batch``, ``self.reference_cost``), ``_apply`` (step the acting copies), ``_unserved`` and
    ``_unserved_classes``.  Each copy computes exactly what the single env computes: the single env is the
    same batch code with N = 1, and masked actions follow the same :class:`InvalidActionRule`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    batch: Any
    tables: Any
    reference_cost: float

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 max_episode_steps: int | None = None, *, invalid_action: str = "noop",
                 invalid_penalty: float = DEFAULT_INVALID_PENALTY,
                 invalid_failure_penalty: float = DEFAULT_FAILURE_PENALTY,
                 max_invalid_actions: int = DEFAULT_MAX_INVALID, action_mask_in_obs: bool = False):
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
        self.invalid_rule = InvalidActionRule.from_kwargs(invalid_action, invalid_penalty,
                                                          invalid_failure_penalty, max_invalid_actions)
        self.invalid = InvalidActionCounters(self.invalid_rule, self.num_envs)
        self.action_mask_in_obs = check_bool("action_mask_in_obs", action_mask_in_obs)
        self.source = ScenarioSource(scenario, max_classes=max_classes)
        self.reward_fn = make_reward(reward)
        self.max_episode_steps = max_episode_steps
        self.scenario: Scenario = self.source.first
        self._make_kwargs: dict[str, Any] = {"resample": resample, "max_classes": max_classes,
                                             "reward": reward, **self.invalid_rule.kwargs(),
                                             "action_mask_in_obs": action_mask_in_obs}
        self._needs_reset = True

    @property
    def invalid_action(self) -> str:
        """What a masked action does: ``"noop"`` or ``"raise"`` (as :attr:`A2Env.invalid_action`)."""
        return self.invalid_rule.mode

    def make_kwargs(self) -> dict[str, Any]:
        """As :meth:`A2Env.make_kwargs` (without ``num_envs`` and ``max_episode_steps``)."""
        return dict(self._make_kwargs)

    def _finish_init(self) -> None:
        n_act = int(self.single_action_space.n)
        self.box_space = self.single_observation_space
        if self.action_mask_in_obs:
            self.single_observation_space = mask_obs_space(self.box_space, n_act)
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

    @abc.abstractmethod
    def _unserved(self) -> np.ndarray:
        """[N] classes each copy does not serve yet (``info["unserved"]``)."""

    @abc.abstractmethod
    def _unserved_classes(self, e: int) -> np.ndarray:
        """Indices of the classes copy e does not serve yet."""

    def _observation(self) -> Any:
        obs = self.batch.observe(self.reference_cost)
        if self.action_mask_in_obs:
            return {"observations": obs, "action_mask": self.batch.masks().astype(np.float32)}
        return obs

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
        self.invalid.reset()
        self._needs_reset = False
        no = np.zeros(self.num_envs, dtype=bool)
        return self._observation(), self._info(no, no, no)

    def step(self, actions: Any):
        if self._needs_reset:
            raise ResetNeededError(f"{type(self).__name__}.step() before reset(): call reset() first")
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
        failed = np.zeros(self.num_envs, dtype=bool)
        if bad.size:
            if self.invalid_rule.raises:
                e = int(bad[0])
                raise ActionError(f"env {e}: action {int(a[e])} is masked off")
            failed[bad[self.invalid.masked(bad)]] = True
            acting = acting[allowed]
        self.invalid.valid(acting)
        before = self.batch.costs[:, 0].copy()
        self._apply(acting, a[acting].astype(np.int64))
        reward = self.reward_fn(before, self.batch.costs[:, 0], self.reference_cost)
        terminated = self.batch.done.copy()
        invalid = np.zeros(self.num_envs, dtype=bool)
        if bad.size:  # the single env's numbers: -penalty, or -failure_penalty ending the episode
            invalid[bad] = True
            reward[bad] = -self.invalid_rule.penalty
            reward[failed] = -self.invalid_rule.failure_penalty
            terminated |= failed
        self.steps += 1
        cap = self.max_episode_steps
        no = np.zeros(self.num_envs, dtype=bool)
        truncated = (self.steps >= cap) & ~terminated if cap is not None else no
        ended = terminated | truncated
        idx = np.flatnonzero(resetting)
        if idx.size:
            self.batch.reset(idx)
            self.steps[idx] = 0
            self.invalid.reset(idx)
            reward[idx] = 0.0
            terminated[idx] = truncated[idx] = False
            ended[idx] = False
        self.prev_done = terminated | truncated
        return self._observation(), reward, terminated, truncated, self._info(invalid, failed, ended)

    def action_masks(self) -> np.ndarray:
        """[N, n_actions] valid actions of every copy (MaskablePPO with a VecEnv calls this per copy)."""
        return self.batch.masks().copy()

    def _masks_copy(self) -> np.ndarray:
        m = self.batch.masks()
        return m if getattr(self.batch, "masks_are_fresh", False) else m.copy()

    def _info(self, invalid: np.ndarray, failed: np.ndarray, ended: np.ndarray) -> dict[str, Any]:
        """The single envs' ``info`` keys, batched (Gymnasium's layout: ``info[k][e]`` with the ``_k`` mask):
        ``violations`` (a list per copy) and ``failed`` only where a copy's episode ended this step."""
        c = self.batch.costs
        ones = np.ones(self.num_envs, dtype=bool)
        info: dict[str, Any] = {"cost": c[:, 0].copy(), "compute": c[:, 1].copy(),
                                "bandwidth": c[:, 2].copy(), "deployment": c[:, 3].copy(),
                                "action_mask": self._masks_copy(),
                                "reference_cost": np.full(self.num_envs, self.reference_cost),
                                "unserved": self._unserved(), "invalid_action": invalid,
                                "invalid_actions": self.invalid.total.copy()}
        info.update({f"_{k}": ones for k in list(info)})
        if ended.any():
            viol = np.empty(self.num_envs, dtype=object)
            names = self.scenario.classes
            for e in range(self.num_envs):  # a complete plan is feasible by the masks: no violation
                viol[e] = [f"unserved: {names[r]}" for r in self._unserved_classes(e)] if failed[e] else []
            info["violations"], info["_violations"] = viol, ended.copy()
        if failed.any():
            info["failed"], info["_failed"] = failed.copy(), failed.copy()
        return info
