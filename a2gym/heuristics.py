"""Heuristic policies that see only what an agent sees: the spaces, the scenario file, ``(obs, info)``.

A policy factory takes a :class:`PolicyContext` (env id and kwargs, observation and action spaces,
a copy of the episode's scenario, and the episode's seed: the policy's only source of randomness) and
returns ``policy(obs, info) -> action``. It never gets the env object, so it cannot read the env's
hidden state (GeoServe's future demand) or change it.

Names (:data:`HEURISTICS`):

* ``origin-local``: each class at the cheapest (by per-request cost C) facility of the nearest region
  (by RTT from its origin) that can serve it, usually its origin region. Not the paper's ``local``
  baseline (A2-Greedy restricted to origin regions, ``a2gym solve --restrict local``), which the
  leaderboard shows as the reserved row ``local-greedy``.
* ``cheapest``: each class at argmin_i C[r, i], the per-request cheapest facility (opening costs ignored).
* ``random``: uniform over the valid actions (GeoServe: each deployable facility with probability ½),
  drawn from ``numpy.random.default_rng(seed)``.

The paper's restricted baselines (§9) are A2-Greedy on a restricted instance
(:data:`RESTRICTED`: ``no-adaptation``, ``model-only``, ``data-only``, ``local-greedy``): their
policies play the restricted plan's (facility, data version) per class.

A target (facility per class, data version per class) becomes actions the same way in every env
(:func:`target_policy`), through the target-to-action adaptor of the env's spec
(:attr:`a2gym.envs.spec.EnvSpec.target_adaptor`, the rule its ``target_action`` uses):
Placement-v0 opens the next target facility that is not masked, then STOP (``open_next``);
Scheduling-v0 serves the current class (``info["class"]``) at its target (``SchedulingTables.action_of``);
GeoServe-v0 deploys the target set in every slot (``deploy_bits``); GeoServeCapacity-v0, whose actions are
instance counts, has none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.costmodel import CostModel
from a2gym.envs.geoserve.policy import is_bits
from a2gym.envs.registration import spec_of
from a2gym.envs.spec import EnvSpec, load_object
from a2gym.rollout import Policy
from a2gym.scenario import Scenario


@dataclasses.dataclass(frozen=True)
class PolicyContext:
    """What a policy is made from: never the env object (see the module docstring).

    Attributes:
        env_id: the Gymnasium id (``a2gym/Placement-v0``).
        env_kwargs: the ``gymnasium.make`` kwargs besides ``scenario``.
        observation_space, action_space: the env's spaces.
        scenario: a copy of the episode's scenario (its own object; changing it changes nothing in the env).
        seed: the episode's reset seed; a policy's only source of randomness.
    """

    env_id: str
    env_kwargs: Mapping[str, Any]
    observation_space: spaces.Space
    action_space: spaces.Space
    scenario: Scenario
    seed: int

    @property
    def kind(self) -> str:
        """The env's problem, ``placement``, ``scheduling`` or ``geoserve`` (its spec's ``kind``)."""
        return self.spec.kind

    @property
    def spec(self) -> EnvSpec:
        """The env's :class:`~a2gym.envs.spec.EnvSpec`; ValueError for an id that is not an a2gym env."""
        try:
            return spec_of(self.env_id)
        except ValueError:
            raise ValueError(f"no heuristic policies for {self.env_id}") from None


PolicyFactory = Callable[[PolicyContext], Policy]
Target = Callable[[Scenario], tuple[np.ndarray, np.ndarray]]
"""scenario -> (facility per class, data version per class)."""


def origin_local_target(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per class: cheapest (by C) facility in the nearest region (by RTT from its origin) able to serve it."""
    cm = CostModel.of(scenario)
    fac = np.empty(scenario.n_classes, dtype=np.int64)
    for r in range(scenario.n_classes):
        o = scenario.class_origin[r]
        for k in np.lexsort((np.arange(scenario.n_regions) != o, scenario.rtt_ms[o])):
            c = np.where(cm.fac_region == k, cm.C[r], np.inf)
            if np.isfinite(c).any():
                fac[r] = int(np.argmin(c))
                break
    return fac, cm.dstar[np.arange(scenario.n_classes), fac]


def cheapest_target(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per class: argmin_i C[r, i] and its data version."""
    cm = CostModel.of(scenario)
    fac = np.argmin(cm.C, axis=1)
    return fac, cm.dstar[np.arange(scenario.n_classes), fac]


_PLANS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
"""Restricted plans by (scenario SHA-256, restriction): a deterministic function of the content."""


def restricted_target(restrict: str) -> Target:
    """A2-Greedy's integral plan on the ``restrict``-ed instance (the paper's §9 baselines)."""

    def target(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        from a2gym.solvers import solve

        key = (scenario.sha256, restrict)
        if key not in _PLANS:
            if len(_PLANS) > 256:
                _PLANS.clear()
            sol = solve(scenario, "greedy", restrict=restrict, split=False)
            _PLANS[key] = sol.plan.assignment(scenario.n_classes)
        return _PLANS[key]

    return target


def target_policy(ctx: PolicyContext, target: Target) -> Policy:
    """The policy playing ``target(ctx.scenario)`` in ctx's env (computed once, on first use), through the
    target-to-action adaptor of the env's spec; ValueError for an env without one."""
    adaptor = ctx.spec.target_adaptor
    if adaptor is None:
        raise ValueError(f"the target heuristics deploy a set of facilities; {ctx.env_id}'s action space "
                         f"{ctx.action_space} cannot express one (its spec has no target adaptor)")
    memo: list[tuple[np.ndarray, np.ndarray]] = []

    def plan() -> tuple[np.ndarray, np.ndarray]:
        if not memo:
            memo.append(target(ctx.scenario))
        return memo[0]

    return load_object(adaptor)(ctx.action_space, ctx.scenario, plan)


def random_policy(ctx: PolicyContext) -> Policy:
    """Uniform over the valid actions, from ``default_rng(ctx.seed)``: Discrete, one of the unmasked
    actions; one bit per facility (GeoServe-v0), each deployable facility with probability ½; another
    MultiDiscrete (GeoServe-v1), each component uniform among its valid values."""
    rng = np.random.default_rng(ctx.seed)
    space = ctx.action_space
    if is_bits(space):
        def bits(obs: Any, info: dict) -> np.ndarray:
            can = np.asarray(info["action_mask"]).reshape(-1, 2)[:, 1]
            return (can & (rng.random(can.size) < 0.5)).astype(space.dtype)
        return bits
    if isinstance(space, spaces.MultiDiscrete):
        ends = np.cumsum(space.nvec.reshape(-1))

        def components(obs: Any, info: dict) -> np.ndarray:
            blocks = np.split(np.asarray(info["action_mask"], dtype=bool), ends[:-1])
            return np.array([int(rng.choice(np.flatnonzero(m))) for m in blocks], dtype=space.dtype)
        return components

    def discrete(obs: Any, info: dict) -> int:
        return int(rng.choice(np.flatnonzero(info["action_mask"])))
    return discrete


HEURISTICS: dict[str, PolicyFactory] = {
    "origin-local": lambda ctx: target_policy(ctx, origin_local_target),
    "cheapest": lambda ctx: target_policy(ctx, cheapest_target),
    "random": random_policy,
}
"""The built-in heuristics that enter the leaderboard like any entrant (and are re-executed)."""

RESTRICTED: dict[str, str] = {"no-adaptation": "no-adaptation", "model-only": "model-only",
                              "data-only": "data-only", "local-greedy": "local"}
"""The paper's restricted baselines: row name -> ``restrict`` argument of :func:`a2gym.solve`."""


def restricted_policy(name: str) -> PolicyFactory:
    """The factory of the paper baseline ``name`` (a key of :data:`RESTRICTED`)."""
    target = restricted_target(RESTRICTED[name])
    return lambda ctx: target_policy(ctx, target)


def make_heuristic(name: str, ctx: PolicyContext) -> Policy:
    """The heuristic or paper baseline ``name`` for ``ctx``; ValueError listing the names otherwise."""
    if name in HEURISTICS:
        return HEURISTICS[name](ctx)
    if name in RESTRICTED:
        return restricted_policy(name)(ctx)
    raise ValueError(f"unknown policy {name!r} (known: {', '.join([*HEURISTICS, *RESTRICTED])})")


def context_of(env: Any, seed: int, scenario: Scenario | None = None) -> PolicyContext:
    """The :class:`PolicyContext` of a made env (for scripts that hold the env; ``scenario`` defaults to
    the env's own scenario object)."""
    base = env.unwrapped
    env_id = env.spec.id if getattr(env, "spec", None) is not None else f"a2gym/{type(base).__name__}"
    kwargs = {
        k: v for k, v in (env.spec.kwargs if getattr(env, "spec", None) else {}).items() if k != "scenario"
    }
    return PolicyContext(env_id, kwargs, env.observation_space, env.action_space,
                         scenario if scenario is not None else base.scenario, int(seed))
