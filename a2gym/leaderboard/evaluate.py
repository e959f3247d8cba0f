"""``a2gym eval``: run a policy on a test suite and produce validated episode records.

Policy specs (:func:`resolve_policy`):

* ``reference``: the reference solver acting through ``env.step`` (:func:`a2gym.policies.reference_policy`);
* ``sb3:PATH`` or ``sb3:ALGO:PATH``: a Stable-Baselines3 / sb3-contrib model zip (MaskablePPO is given
  ``env.unwrapped.action_masks()``; the algorithm is read from the zip when not named);
* ``MODULE:OBJECT``: a factory ``f(env) -> policy`` (one required argument) or a policy object
  ``policy(obs, info) -> action`` (two); MODULE is imported with the current folder on ``sys.path``;
  a factory is called once per episode, a policy object is reused;
* any other name: a baseline, ``baselines.make_policy(name, env, seed=seed)``.

Integrity: every episode runs in a new env built from the scenario file (hash pinned in the manifest);
the scenario's content hash is recomputed before and after the episode, and the record's outcome comes
from replaying the actions in a second env, on scenario objects the policy is never given; an episode
whose cost differs from its replay is an error. A policy that
changes the scenario, the costs or the SLOs therefore fails here, and ``a2gym validate`` repeats the
replay in a process of its own.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import parse_env_id

import a2gym
from a2gym.errors import RecordError
from a2gym.leaderboard.episode import (
    Policy,
    ScenarioPool,
    content_sha256,
    env_scenario,
    make_env,
    manifest,
    replay,
    run_episode,
)
from a2gym.leaderboard.record import EpisodeRecord
from a2gym.leaderboard.suite import Suite, SuiteEntry

PolicyFactory = Callable[[gym.Env, int], Policy]
"""Makes a fresh policy for one episode from its env and seed."""

BUILTIN_TRAINED_ON_TEST = False
"""Declaration for the reference and the baselines: they learn nothing, so they were not trained on tests."""


def resolve_policy(spec: str) -> tuple[str, PolicyFactory, bool]:
    """(default leaderboard name, factory, is built-in) of a policy spec (see module docstring)."""
    if spec == "reference":
        from a2gym.policies import reference_policy

        return "reference", lambda env, seed: reference_policy(env), True
    if spec.startswith("sb3:"):
        return spec, _sb3_factory(spec[len("sb3:"):]), False
    if ":" in spec:
        return spec, _object_factory(spec), False
    from baselines import POLICIES, make_policy

    if spec not in POLICIES:
        raise RecordError(f"unknown policy {spec!r}: not reference, a baseline ({', '.join(POLICIES)}), "
                          "MODULE:OBJECT or sb3:PATH")
    return spec, lambda env, seed: make_policy(spec, env, seed=seed), True


def _object_factory(spec: str) -> PolicyFactory:
    module_name, _, attr = spec.partition(":")
    if os.getcwd() not in sys.path:  # like `python -m`: a module in the current folder is importable
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise RecordError(f"policy {spec!r}: cannot import {module_name!r}: {e}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RecordError(f"policy {spec!r}: {module_name} has no attribute {attr!r}") from None
    if not callable(obj):
        raise RecordError(f"policy {spec!r} is not callable")
    if _required_args(obj) == 1:
        return lambda env, seed: obj(env)
    return lambda env, seed: obj


def _required_args(obj: Any) -> int:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return 2
    return sum(1 for p in sig.parameters.values()
               if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


_SB3_ALGOS = {"ppo": ("stable_baselines3", "PPO"), "a2c": ("stable_baselines3", "A2C"),
              "dqn": ("stable_baselines3", "DQN"), "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
              "qrdqn": ("sb3_contrib", "QRDQN"), "trpo": ("sb3_contrib", "TRPO"),
              "recurrent_ppo": ("sb3_contrib", "RecurrentPPO")}


def _sb3_algo_of(path: str) -> str:
    """Guess the algorithm from the policy class stored in the zip's ``data`` entry."""
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise RecordError(f"sb3 model {path!r} cannot be read: {e}") from None
    policy = json.dumps(data.get("policy_class", "")).lower()
    for key, algo in (("maskable", "maskable_ppo"), ("recurrent", "recurrent_ppo"), ("qrdqn", "qrdqn"),
                      ("dqn", "dqn")):
        if key in policy:
            return algo
    return "ppo"


def _sb3_factory(rest: str) -> PolicyFactory:
    algo, _, path = rest.partition(":")
    if not path:
        algo, path = _sb3_algo_of(rest), rest
    if algo.lower() not in _SB3_ALGOS:
        raise RecordError(f"unknown SB3 algorithm {algo!r} (known: {', '.join(_SB3_ALGOS)})")
    module, cls = _SB3_ALGOS[algo.lower()]
    try:
        model = getattr(importlib.import_module(module), cls).load(path, device="cpu")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise RecordError(f"sb3 model {path!r} cannot be loaded as {cls}: {type(e).__name__}: {e}") from None
    masked = cls == "MaskablePPO"

    def factory(env: gym.Env, seed: int) -> Policy:
        for what in ("observation_space", "action_space"):
            mine, theirs = getattr(model, what), getattr(env, what)
            if mine.shape != theirs.shape or type(mine) is not type(theirs):
                raise RecordError(
                    f"sb3 model {path!r} was trained with {what} {mine}, but "
                    f"{env.spec.id if env.spec else env} "
                    f"on {env_scenario(env).name!r} with these env kwargs has {theirs}: train it with the "
                    "suite's env kwargs (see a2gym.leaderboard.suite)"
                )

        def policy(obs: Any, info: dict[str, Any]) -> Any:
            kw = {"action_masks": env.unwrapped.action_masks()} if masked else {}
            action, _ = model.predict(obs, deterministic=True, **kw)
            return action

        return policy

    return factory


def evaluate_episode(suite: Suite | None, env_id: str, env_kwargs: dict[str, Any], scenario_uri: str,
                     seed: int, factory: PolicyFactory, name: str, trained_on_test: bool | None,
                     pools: tuple[ScenarioPool, ScenarioPool] | None = None) -> EpisodeRecord:
    """Run one episode with a fresh policy and env and return its record, with the outcome from replay.

    ``pools`` = (scenarios of the policy's envs, scenarios of the replay envs); new objects if None.
    """
    run_pool, replay_pool = pools or (None, None)
    pinned = manifest().get(scenario_uri.removeprefix("scenario://"))
    env = make_env(env_id, scenario_uri, env_kwargs, run_pool)
    try:
        before = content_sha256(env_scenario(env))
        policy = factory(env, seed)
        run = run_episode(env, policy, seed)
        after = content_sha256(env_scenario(env))
    finally:
        env.close()
    if not before == after == pinned:
        raise RecordError(
            f"policy {name!r} changed scenario {scenario_uri} (sha256 {before[:12]} -> {after[:12]}, "
            f"pinned {str(pinned)[:12]})"
        )
    rep = replay(env_id, scenario_uri, env_kwargs, seed, run.actions, replay_pool)
    if not math.isclose(rep.cost, run.cost, rel_tol=1e-6, abs_tol=1e-9):
        raise RecordError(f"policy {name!r} on {scenario_uri} seed {seed}: episode cost {run.cost!r} != "
                          f"replayed {rep.cost!r} (did the policy change the env?)")
    return EpisodeRecord(
        suite=suite.name if suite else None, env_id=env_id, env_version=int(parse_env_id(env_id)[2] or 0),
        a2gym_version=a2gym.__version__, scenario_uri=scenario_uri, scenario_sha256=str(pinned),
        env_kwargs=dict(env_kwargs), seed=seed, policy=name, trained_on_test=trained_on_test,
        actions=rep.actions, cost=rep.cost, cost_breakdown=rep.cost_breakdown, return_=rep.return_,
        violations=rep.violations, wall_time_s=run.wall_time_s)


def evaluate_suite(spec: str, suite: Suite, n_seeds: int | None = None, name: str | None = None,
                   env_ids: tuple[str, ...] | None = None, trained_on_test: bool | None = None
                   ) -> Iterator[EpisodeRecord]:
    """Yield the record of every (env, scenario, seed) of ``suite`` for the policy ``spec``, in suite order.

    Built-in policies (reference, baselines) declare ``trained_on_test=False`` unless told otherwise.
    """
    name, factory, trained_on_test = policy_entry(spec, name, trained_on_test)
    pools = (ScenarioPool(), ScenarioPool())
    for entry, uri, seed in suite.episodes(n_seeds, env_ids):
        yield evaluate_episode(suite, entry.env_id, dict(entry.env_kwargs), uri, seed, factory, name,
                               trained_on_test, pools)


def policy_entry(spec: str, name: str | None, trained_on_test: bool | None
                 ) -> tuple[str, PolicyFactory, bool | None]:
    """(leaderboard name, factory, ``trained_on_test``) of the entry ``spec``: the name defaults to the
    spec's, and built-in policies (reference, baselines) declare False unless told otherwise."""
    default_name, factory, builtin = resolve_policy(spec)
    if trained_on_test is None and builtin:
        trained_on_test = BUILTIN_TRAINED_ON_TEST
    return name or default_name, factory, trained_on_test


def evaluate_seeds(spec: str, suite: Suite, entry: SuiteEntry, scenario_uri: str, seeds: list[int], name: str,
                   trained_on_test: bool | None) -> list[EpisodeRecord]:
    """The records of one scenario of ``suite`` for every seed, the policy made from its spec here.

    One unit of work for a remote worker (:mod:`a2gym.leaderboard.distributed`): it receives the spec
    string, not a policy object, and its own scenario pools serve all its seeds.
    """
    factory = resolve_policy(spec)[1]
    pools = (ScenarioPool(), ScenarioPool())
    return [evaluate_episode(suite, entry.env_id, dict(entry.env_kwargs), scenario_uri, seed, factory, name,
                             trained_on_test, pools) for seed in seeds]
