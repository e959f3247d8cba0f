"""Run one episode with a policy, and replay a recorded action sequence in a fresh env.

Both go through :func:`suite_env`, which builds the env from a scenario object read from its file and
checked against the SHA-256 pinned in the bundled manifest, never from the loader's shared cache. A
:class:`ScenarioCache` keeps one such object per URI for one purpose (the policy's envs, or the replay
envs), so the env's per-scenario set-up (cost model, reference plan) runs once per cache, and a policy
never holds the objects its episodes are replayed with. The outcome of an episode is read from the env's
``info`` only: ``info["cost"]``
[$ so far] after the last step, its breakdown and its SLO violation count.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from a2gym.errors import A2GymError, RecordError
from a2gym.heuristics import Policy, PolicyContext, PolicyFactory
from a2gym.rollout import violation_count
from a2gym.scenario import Scenario
from a2gym.scenario.uri import SCENARIO_SCHEME


class EpisodeError(RecordError):
    """A policy (or the env on its action) raised during an episode; the message names the episode."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What an episode produced: actions (JSON-able), cost [$], its breakdown [$], return, violations."""

    actions: list[Any]
    cost: float
    cost_breakdown: dict[str, float]
    return_: float
    violations: int
    wall_time_s: float = 0.0


def scenario_dir() -> Path:
    """The folder of the bundled scenario files (``a2gym/data/scenarios``)."""
    from importlib import resources

    return Path(str(resources.files("a2gym") / "data" / "scenarios"))


def manifest() -> dict[str, str]:
    """Bundled scenario name -> pinned SHA-256, read from disk on every call (no shared cache)."""
    from a2gym.scenario import bundled_manifest

    return bundled_manifest()


def bundled_name(uri: str) -> str:
    """``scenario://NAME`` -> NAME; RecordError for any other URI (suites use bundled files only)."""
    if not uri.startswith(SCENARIO_SCHEME):
        raise RecordError(f"scenario {uri!r} is not a bundled scenario:// URI")
    return uri[len(SCENARIO_SCHEME):]


def load_fresh(uri: str) -> Scenario:
    """A new Scenario object read from the bundled file, checked against the manifest's pinned SHA-256
    (:func:`a2gym.scenario.load_bundled_scenario` with ``fresh=True``)."""
    from a2gym.errors import ScenarioError
    from a2gym.scenario import load_bundled_scenario

    bundled_name(uri)
    try:
        return load_bundled_scenario(uri, fresh=True)
    except ScenarioError as e:
        raise RecordError(f"scenario {uri!r}: {e}") from None


def content_sha256(scn: Scenario) -> str:
    """SHA-256 of the scenario's current content, recomputed (not the cached ``sha256`` property)."""
    return Scenario.from_dict(scn.to_dict()).sha256


class ScenarioCache:
    """Scenario objects loaded with :func:`load_fresh`, one per URI, for one purpose (see module
    docstring)."""

    def __init__(self) -> None:
        self._by_uri: dict[str, Scenario] = {}

    def get(self, uri: str) -> Scenario:
        if uri not in self._by_uri:
            self._by_uri[uri] = load_fresh(uri)
        return self._by_uri[uri]


def suite_env(env_id: str, scenario_uri: str, env_kwargs: Mapping[str, Any], pool: ScenarioCache | None = None
              ) -> gym.Env:
    """``gymnasium.make(env_id, scenario=<Scenario of scenario_uri from pool>, **env_kwargs)``: the env of
    one suite episode (named apart from :func:`agents.common.make_env`, the training env factory).

    Without a cache the scenario is a new object read from its file. A retired id
    (:data:`a2gym.envs.registration.LEGACY_IDS`, e.g. ``a2gym/GeoServe-v1``) makes its successor with the
    kwargs that reproduce it, so old records keep replaying.
    """
    import a2gym  # noqa: F401  (registers the envs)
    from a2gym.envs.registration import resolve_env_id

    registered, kwargs = resolve_env_id(env_id, dict(env_kwargs))  # a retired id: its successor
    if registered not in gym.registry:
        raise RecordError(f"unknown env id {env_id!r}")
    scn = pool.get(scenario_uri) if pool is not None else load_fresh(scenario_uri)
    return gym.make(registered, scenario=scn, **kwargs)


def env_scenario(env: gym.Env) -> Scenario:
    """The Scenario object the env runs on."""
    scn = getattr(env.unwrapped, "scenario", None)
    if not isinstance(scn, Scenario):
        raise RecordError(f"{env.spec.id if env.spec else env}: env has no .scenario attribute")
    return scn


def to_jsonable(action: Any, space: spaces.Space) -> Any:
    """An action as stored in a record: int for Discrete, list of ints for MultiBinary/MultiDiscrete."""
    if isinstance(space, spaces.Discrete):
        a = np.asarray(action)
        if a.size != 1 or a.dtype.kind not in "iub":
            raise RecordError(f"action {action!r} is not an integer for {space}")
        return int(a.reshape(()))
    if isinstance(space, spaces.MultiBinary | spaces.MultiDiscrete):
        return [int(x) for x in np.asarray(action).reshape(-1)]
    raise RecordError(f"action space {space} cannot be recorded")


def from_jsonable(action: Any, space: spaces.Space) -> Any:
    """The env action of a stored one (inverse of :func:`to_jsonable`)."""
    if isinstance(space, spaces.Discrete):
        if not isinstance(action, int):
            raise RecordError(f"action {action!r} must be an integer for {space}")
        return action
    if isinstance(space, spaces.MultiBinary | spaces.MultiDiscrete):
        if not isinstance(action, list):
            raise RecordError(f"action {str(action)[:40]} must be a list for {space}")
        return np.asarray(action, dtype=space.dtype).reshape(space.shape)
    raise RecordError(f"action space {space} cannot be replayed")


BREAKDOWN_KEYS = ("compute", "bandwidth", "deployment", "penalty")
"""``info`` keys [$ so far] that split ``info["cost"]``; each env reports those that apply to it."""


def cost_breakdown(info: Mapping[str, Any]) -> dict[str, float]:
    """The env's split of the total cost [$]: the ``BREAKDOWN_KEYS`` present in ``info``."""
    return {k: float(info[k]) for k in BREAKDOWN_KEYS if k in info}


def run_episode(env: gym.Env, policy: Policy, seed: int) -> Outcome:
    """Reset with ``seed`` and step an already made ``policy(obs, info)`` to the end (scripts and tests
    that hold a policy object; :func:`play_episode` makes it from a context, as the leaderboard does)."""
    return play_episode(env, lambda ctx: policy, PolicyContext(
        env.spec.id if env.spec else "", {}, env.observation_space, env.action_space,
        env.unwrapped.scenario, int(seed)))


def play_episode(env: gym.Env, factory: PolicyFactory, ctx: PolicyContext) -> Outcome:
    """Make the policy from ``ctx``, reset with ``ctx.seed`` and step ``policy(obs, info)`` to the end.

    Times the policy's calls [s]. Anything the policy raises (or the env raises on its action) becomes
    an :class:`EpisodeError` naming the step.
    """
    where = f"{ctx.env_id} {ctx.scenario.uri or ctx.scenario.name} seed {ctx.seed}"
    obs, info = env.reset(seed=ctx.seed)
    actions: list[Any] = []
    ret, wall, violations = 0.0, 0.0, 0
    try:
        t0 = time.perf_counter()
        policy: Policy = factory(ctx)
        wall += time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001  (the entrant's code: any exception is its failure, named)
        raise EpisodeError(f"{where}: making the policy failed: {type(e).__name__}: {e}") from None
    while True:
        try:
            t0 = time.perf_counter()
            action = policy(obs, info)
            wall += time.perf_counter() - t0
            actions.append(to_jsonable(action, env.action_space))
            obs, reward, terminated, truncated, info = env.step(action)
        except Exception as e:  # noqa: BLE001
            raise EpisodeError(f"{where}: step {len(actions)}: {type(e).__name__}: {e}") from None
        ret += float(reward)
        violations += violation_count(info)
        if terminated or truncated:
            break
    return Outcome(actions, float(info["cost"]), cost_breakdown(info), ret, violations, wall)


def replay(env_id: str, scenario_uri: str, env_kwargs: Mapping[str, Any], seed: int,
           actions: list[Any], pool: ScenarioCache | None = None) -> Outcome:
    """Replay ``actions`` from ``reset(seed)`` in a new env (scenarios from ``pool``); RecordError if an
    action is rejected or the episode does not end exactly after the last action."""
    env = suite_env(env_id, scenario_uri, env_kwargs, pool)
    try:
        _, info = env.reset(seed=seed)
        ret, violations = 0.0, 0
        if not actions:
            raise RecordError("record has no actions")
        for t, stored in enumerate(actions):
            action = from_jsonable(stored, env.action_space)
            try:
                _, reward, terminated, truncated, info = env.step(action)
            except A2GymError as e:
                raise RecordError(f"action {str(stored)[:40]} at step {t} rejected on replay: {e}") from None
            ret += float(reward)
            violations += violation_count(info)
            if (terminated or truncated) and t != len(actions) - 1:
                raise RecordError(f"episode ended at step {t} but the record has {len(actions)} actions")
        if not (terminated or truncated):
            raise RecordError(f"episode did not end after the record's {len(actions)} actions")
        return Outcome(list(actions), float(info["cost"]), cost_breakdown(info), ret, violations)
    finally:
        env.close()


_RENAMED = {"make_env": "suite_env", "ScenarioPool": "ScenarioCache"}
"""Names this module had until 0.2.0 -> their names now (one name per thing: ``agents.common.make_env`` and
``agents.wrappers.ScenarioPool`` are other things)."""


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        import warnings

        warnings.warn(f"a2gym.leaderboard.episode.{name} is now {_RENAMED[name]}", DeprecationWarning,
                      stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
