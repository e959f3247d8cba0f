"""``a2gym eval``: run a policy on a test suite and write its results file without ever losing records.

Integrity: every episode runs in a new env built from the scenario file (hash pinned in the manifest);
the policy is made from a :class:`~a2gym.heuristics.PolicyContext` (spaces, its own copy of the
scenario, the seed), never from the env. The scenario's content hash is recomputed before and after
the episode, and the record's outcome comes from replaying the actions in a second env, on scenario
objects the policy is never given; an episode whose cost differs from its replay is an error.

No lost records (:func:`eval_to_file`): the output is locked against a second concurrent writer
(:func:`~a2gym.leaderboard.safeio.exclusive_lock`); an existing file is refused unless ``mode`` is
``append`` (its records are kept, the episodes it already has are skipped, its header must match) or
``overwrite``; the file is written atomically; and when the policy raises, the episodes completed
before are written and the error names the episode that failed.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gymnasium.envs.registration import parse_env_id

import a2gym
from a2gym.errors import RecordError
from a2gym.heuristics import PolicyContext
from a2gym.leaderboard.closure import Closure, contexts, policy_closure
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.episode import (
    EpisodeError,
    Outcome,
    ScenarioPool,
    content_sha256,
    env_scenario,
    make_env,
    manifest,
    play_episode,
    replay,
)
from a2gym.leaderboard.policy import ResolvedPolicy, resolve_policy
from a2gym.leaderboard.record import EpisodeRecord, read_records, write_records
from a2gym.leaderboard.safeio import exclusive_lock
from a2gym.leaderboard.suite import Suite

Pools = tuple[ScenarioPool, ScenarioPool, ScenarioPool]
"""Scenario objects of (the policy's envs, the policies' own copies, the replay envs)."""

MODES = ("new", "append", "overwrite")


def new_pools() -> Pools:
    return ScenarioPool(), ScenarioPool(), ScenarioPool()


def run_policy(env_id: str, env_kwargs: dict[str, Any], scenario_uri: str, seed: int, policy: ResolvedPolicy,
               pools: Pools | None = None) -> Outcome:
    """One episode of a fresh policy in a fresh env (its outcome as the env reported it, not replayed);
    RecordError if the policy changed the scenario."""
    run_pool, ctx_pool, _ = pools or new_pools()
    pinned = manifest().get(scenario_uri.removeprefix("scenario://"))
    env = make_env(env_id, scenario_uri, env_kwargs, run_pool)
    try:
        before = content_sha256(env_scenario(env))
        ctx = PolicyContext(env_id, dict(env_kwargs), env.observation_space, env.action_space,
                            ctx_pool.get(scenario_uri), seed)
        run = play_episode(env, policy.factory, ctx)
        after = content_sha256(env_scenario(env))
    finally:
        env.close()
    if not before == after == pinned:
        raise RecordError(f"policy {policy.spec!r} changed scenario {scenario_uri} (sha256 {before[:12]} -> "
                          f"{after[:12]}, pinned {str(pinned)[:12]})")
    return run


def evaluate_episode(env_id: str, env_kwargs: dict[str, Any], scenario_uri: str, seed: int,
                     policy: ResolvedPolicy, pools: Pools | None = None) -> EpisodeRecord:
    """Run one episode with a fresh policy and env and return its record, with the outcome from replay."""
    pools = pools or new_pools()
    replay_pool = pools[2]
    run = run_policy(env_id, env_kwargs, scenario_uri, seed, policy, pools)
    pinned = manifest().get(scenario_uri.removeprefix("scenario://"))
    rep = replay(env_id, scenario_uri, env_kwargs, seed, run.actions, replay_pool)
    if not math.isclose(rep.cost, run.cost, rel_tol=1e-6, abs_tol=1e-9):
        raise RecordError(
            f"policy {policy.spec!r} on {scenario_uri} seed {seed}: episode cost {run.cost!r} != "
            f"replayed {rep.cost!r} (did the policy change the env?)"
        )
    return EpisodeRecord(
        env_id=env_id, env_version=int(parse_env_id(env_id)[2] or 0), scenario_uri=scenario_uri,
        scenario_sha256=str(pinned), env_kwargs=dict(env_kwargs), seed=seed, actions=rep.actions,
        cost=rep.cost, cost_breakdown=rep.cost_breakdown, return_=rep.return_, violations=rep.violations,
        wall_time_s=run.wall_time_s)


def evaluate_suite(policy: ResolvedPolicy, suite: Suite, n_seeds: int | None = None,
                   env_ids: tuple[str, ...] | None = None,
                   skip: frozenset[tuple[str, str, int]] = frozenset(), closure: Closure | None = None
                   ) -> Iterator[EpisodeRecord]:
    """Yield the record of every (env, scenario, seed) of ``suite`` not in ``skip``, in suite order (with
    ``closure``: RecordError as soon as the policy loads a repository file outside it)."""
    pools = new_pools()
    for entry, uri, seed in suite.episodes(n_seeds, env_ids):
        if (entry.env_id, uri, seed) not in skip:
            rec = evaluate_episode(entry.env_id, dict(entry.env_kwargs), uri, seed, policy, pools)
            if closure is not None:
                closure.check_no_new(policy)
            yield rec


def suite_closure(policy: ResolvedPolicy, suite: Suite, n_seeds: int | None = None,
                  env_ids: tuple[str, ...] | None = None) -> Closure | None:
    """The files the policy loads, pinned on the first episode of each env of the run (None: built in)."""
    return policy_closure(policy, contexts(
        (e.env_id, dict(e.env_kwargs), uri, seed) for e, uri, seed in suite.episodes(n_seeds, env_ids)))


def evaluate_seeds(spec: str, entry_env_id: str, env_kwargs: dict[str, Any], scenario_uri: str,
                   seeds: list[int]) -> list[EpisodeRecord]:
    """The records of one scenario for every seed, the policy resolved from its spec here (a Ray task)."""
    policy = resolve_policy(spec)
    pools = new_pools()
    try:
        return [evaluate_episode(entry_env_id, env_kwargs, scenario_uri, seed, policy, pools)
                for seed in seeds]
    finally:
        policy.close()


def make_header(policy: ResolvedPolicy, name: str | None, trained_on_test: bool | None, description: str,
                suite: Suite | None, closure: Closure | None = None) -> EntryHeader:
    """The entry header; built-in heuristics declare ``trained_on_test=False`` unless told otherwise."""
    if trained_on_test is None:
        if not policy.builtin:
            raise RecordError("declare --trained-on-test or --not-trained-on-test for a submitted policy")
        trained_on_test = False
    header = EntryHeader(name=name or policy.spec, policy=policy.spec, policy_sha256=policy.sha256,
                         trained_on_test=trained_on_test, description=description,
                         suite=suite.name if suite else None, a2gym_version=a2gym.__version__,
                         policy_files_sha256=closure.digest if closure else None)
    header.check()
    return header


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """What :func:`eval_to_file` wrote: the path, the header, every record now in the file, how many are
    new."""

    path: Path
    header: EntryHeader
    records: list[EpisodeRecord]
    new: int


Runner = Callable[[ResolvedPolicy, frozenset[tuple[str, str, int]]], Iterator[EpisodeRecord]]
"""Yields the new records (sequentially, or from Ray tasks), skipping the given (env, scenario, seed)."""


def eval_to_file(out: str | os.PathLike[str], header: EntryHeader, policy: ResolvedPolicy, runner: Runner,
                 mode: str = "new", on_record: Callable[[EpisodeRecord], None] | None = None) -> EvalResult:
    """Run ``runner`` and write the header and records to ``out`` (see the module docstring).

    Raises RecordError before any episode for an existing ``out`` in mode ``new``, a locked ``out``, an
    unwritable folder, or (``append``) a file whose header differs; if an episode fails, the completed
    records are written first and the error says so.
    """
    if mode not in MODES:
        raise RecordError(f"mode {mode!r} must be one of {', '.join(MODES)}")
    p = Path(out)
    with exclusive_lock(p):
        old: list[EpisodeRecord] = []
        if p.exists() and mode == "new":
            raise RecordError(f"{p} exists; pass --append to add episodes to it or --overwrite to replace it")
        if p.exists() and mode == "append":
            old_header, old = read_records(p)
            if old_header != header:
                raise RecordError(f"{p}: its header {old_header.to_dict()} differs from this run's "
                                  f"{header.to_dict()}; --append needs the same entry")
        done = [*old]
        try:
            for rec in runner(policy, frozenset(r.key for r in old)):
                done.append(rec)
                if on_record:
                    on_record(rec)
        except (RecordError, KeyboardInterrupt) as e:
            if len(done) > len(old):
                write_records(p, header, done)
                kept = f"the {len(done) - len(old)} episode(s) completed before were written to {p} " \
                       "(--append continues)"
            else:
                kept = "no episode completed; nothing was written"
            if isinstance(e, KeyboardInterrupt):
                raise
            raise RecordError(f"{e}; {kept}") from None
        write_records(p, header, done)
    return EvalResult(p, header, done, len(done) - len(old))


__all__ = ["EpisodeError", "EvalResult", "eval_to_file", "evaluate_episode", "evaluate_suite", "make_header"]
