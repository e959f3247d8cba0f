"""``a2gym eval``: run a policy on a test suite and write its results file without ever losing records.

Integrity: every episode runs in a new env built from the scenario file (hash pinned in the manifest);
the policy is made from a :class:`~a2gym.heuristics.PolicyContext` (spaces, its own copy of the
scenario, the seed), never from the env. The scenario's content hash is recomputed before and after
the episode, and the record's outcome comes from replaying the actions in a second env, on scenario
objects the policy is never given; an episode whose cost differs from its replay is an error.

No lost records (:func:`eval_to_file`): the output is locked against a second concurrent writer
(:func:`~a2gym.leaderboard.safeio.exclusive_lock`, released on SIGTERM and SIGHUP too; a lock whose
holder died, even by ``kill -9``, is taken over); an existing file is refused unless ``mode`` is
``append`` (its records are kept, the episodes it already has are skipped, its header must match, a
last line cut short by a kill is dropped) or ``overwrite``; the file appears (atomically) with its
first finished episode, and every later episode is appended and fsync-ed as it ends; when the policy
raises, the error names the episode that failed; when the folder cannot be written any more (made
read-only, disk full), the finished episodes go to a named fallback file (:func:`fallback_path`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gymnasium.envs.registration import parse_env_id

import a2gym
from a2gym.errors import A2GymError, RecordError
from a2gym.heuristics import PolicyContext
from a2gym.leaderboard.closure import Closure, contexts, policy_closure
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.episode import (
    EpisodeError,
    Outcome,
    ScenarioCache,
    content_sha256,
    env_scenario,
    manifest,
    play_episode,
    replay,
    suite_env,
)
from a2gym.leaderboard.policy import ResolvedPolicy, resolve_policy
from a2gym.leaderboard.record import EpisodeRecord, read_results, write_records
from a2gym.leaderboard.safeio import exclusive_lock
from a2gym.leaderboard.suite import Suite

Pools = tuple[ScenarioCache, ScenarioCache, ScenarioCache]
"""Scenario objects of (the policy's envs, the policies' own copies, the replay envs)."""

MODES = ("new", "append", "overwrite")


def new_pools() -> Pools:
    return ScenarioCache(), ScenarioCache(), ScenarioCache()


def run_policy(env_id: str, env_kwargs: dict[str, Any], scenario_uri: str, seed: int, policy: ResolvedPolicy,
               pools: Pools | None = None) -> Outcome:
    """One episode of a fresh policy in a fresh env (its outcome as the env reported it, not replayed);
    RecordError if the policy changed the scenario."""
    run_pool, ctx_pool, _ = pools or new_pools()
    pinned = manifest().get(scenario_uri.removeprefix("scenario://"))
    env = suite_env(env_id, scenario_uri, env_kwargs, run_pool)
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


def fallback_path(out: Path) -> Path:
    """Where finished episodes go when ``out``'s folder cannot be written: ``$A2GYM_FALLBACK_DIR`` (default
    the system's temporary folder) ``/a2gym-eval-<name>-<pid>.jsonl``."""
    folder = Path(os.environ.get("A2GYM_FALLBACK_DIR") or tempfile.gettempdir())
    return folder / f"a2gym-eval-{out.name.removesuffix('.jsonl')}-{os.getpid()}.jsonl"


class _Appender:
    """Writes a results file one finished episode at a time, durably: the file appears with its header and
    first record (atomically), then each record is appended and ``fsync``-ed as it ends. A write that
    fails (read-only folder, full disk) puts every finished episode into :func:`fallback_path` and raises
    RecordError naming it."""

    def __init__(self, path: Path, header: EntryHeader, old: list[EpisodeRecord], rewrite: bool) -> None:
        self.path, self.header, self.done = path, header, list(old)
        self.rewrite = rewrite  # the next record starts the file afresh (new, overwrite, repaired append)
        self._f: Any = None

    def add(self, rec: EpisodeRecord) -> None:
        self.done.append(rec)
        try:
            if self.rewrite:
                write_records(self.path, self.header, self.done)
                self.rewrite = False
            else:
                if self._f is None:
                    self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                self._f.write(rec.to_json() + "\n")
                self._f.flush()
                os.fsync(self._f.fileno())
        except (OSError, A2GymError) as e:
            self._fail(e)

    def _fail(self, e: Exception) -> None:
        self.close()
        why = getattr(e, "strerror", None) or str(e)
        fb = fallback_path(self.path)
        try:
            write_records(fb, self.header, self.done)
        except (OSError, A2GymError) as e2:
            raise WriteFailed(f"cannot write {self.path} ({why}) nor the fallback {fb} "
                              f"({getattr(e2, 'strerror', None) or e2}); {len(self.done)} finished "
                              "episode(s) are lost") from None
        raise WriteFailed(f"cannot write {self.path} ({why}); the {len(self.done)} finished episode(s) are "
                          f"in {fb}: copy it to {self.path} and run again with --append") from None

    def close(self) -> None:
        if self._f is not None:
            with contextlib.suppress(OSError):
                self._f.close()
            self._f = None


class WriteFailed(RecordError):
    """The results file could not be written; the message names the fallback file."""


class Interrupted(RecordError):
    """``eval`` got SIGTERM or SIGHUP (the finished episodes are on disk; the lock is released)."""


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread for the block (so ``finally``
    blocks run: the lock is released, the worker stopped)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}")

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _resume(p: Path, header: EntryHeader) -> tuple[list[EpisodeRecord], bool]:
    """The records of an existing file to append to, and whether it must be rewritten (a last line cut
    short by a kill is dropped); RecordError if another line is bad or the header differs."""
    res = read_results(p)
    errors = list(res.errors)
    n_lines = 1 + len(res.records)
    cut = [e for e in errors if e.message.startswith("truncated line") and e.line == n_lines + 1]
    if res.header is None or len(errors) != len(cut):
        raise RecordError("\n".join(str(e) for e in errors) or f"{p}: no header")
    if res.header != header:
        raise RecordError(f"{p}: its header {res.header.to_dict()} differs from this run's "
                          f"{header.to_dict()}; --append needs the same entry")
    return [r for _, r in res.records], bool(cut)


def eval_to_file(out: str | os.PathLike[str], header: EntryHeader, policy: ResolvedPolicy, runner: Runner,
                 mode: str = "new", on_record: Callable[[EpisodeRecord], None] | None = None) -> EvalResult:
    """Run ``runner`` and write the header and records to ``out`` (see the module docstring).

    Raises RecordError before any episode for an existing ``out`` in mode ``new``, a locked ``out``, an
    unwritable folder, or (``append``) a file whose header differs. Each finished episode is appended
    and fsync-ed as it ends, so a failing policy, SIGTERM, SIGHUP, Ctrl-C or ``kill -9`` keeps every
    finished episode (``--append`` resumes); a write that fails puts them into a named fallback file.
    """
    if mode not in MODES:
        raise RecordError(f"mode {mode!r} must be one of {', '.join(MODES)}")
    p = Path(out)
    with exclusive_lock(p), _signals_raise():
        old: list[EpisodeRecord] = []
        if p.exists() and mode == "new":
            raise RecordError(f"{p} exists; pass --append to add episodes to it or --overwrite to replace it")
        rewrite = True
        if p.exists() and mode == "append":
            old, rewrite = _resume(p, header)
        writer = _Appender(p, header, old, rewrite)
        try:
            for rec in runner(policy, frozenset(r.key for r in old)):
                writer.add(rec)
                if on_record:
                    on_record(rec)
        except (RecordError, KeyboardInterrupt) as e:
            if isinstance(e, WriteFailed):
                raise
            n = len(writer.done) - len(old)
            kept = (f"the {n} episode(s) completed before were written to {p} (--append continues)" if n
                    else "no episode completed; nothing was written")
            if isinstance(e, KeyboardInterrupt):
                raise
            raise RecordError(f"{e}; {kept}") from None
        finally:
            writer.close()
        done = writer.done
    return EvalResult(p, header, done, len(done) - len(old))


__all__ = ["EpisodeError", "EvalResult", "eval_to_file", "evaluate_episode", "evaluate_suite", "make_header"]
