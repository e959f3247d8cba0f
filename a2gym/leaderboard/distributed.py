"""``a2gym eval --ray`` and ``a2gym validate --ray``: the leaderboard's episodes as Ray tasks (optional
extra).

Ray (``pip install "a2gym[ray]"``) is imported only here and only when asked for, so the package works
without it. :func:`ray_session` joins a running Ray cluster (``address``, e.g. ``auto`` inside
``ray job submit``) or starts a local one (``num_cpus``, no dashboard, worker logs not forwarded); an
already initialised Ray (a notebook, a test fixture) is used as it is and left running.

Units of work: eval runs one task per (env, scenario), all of its seeds, so the policy (a trained
model, the reference solver) and the scenario set-up are made once per task; validate replays chunks of
at most :data:`REPLAY_CHUNK` records of one scenario per task. A task receives the policy *spec* string
(``reference``, a baseline name, ``MODULE:OBJECT``, ``sb3:PATH``) and resolves it in the worker, which
must therefore be able to import the module or read the model file (same folder on a local Ray; on a
cluster, ship it with ``ray job submit --working-dir .``). Results are gathered in suite (or file) order
and written by the same record writer, so a file differs from the sequential path's only in
``wall_time_s``, which record equality ignores.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from a2gym.errors import A2GymError
from a2gym.leaderboard.evaluate import evaluate_seeds
from a2gym.leaderboard.policy import resolve_policy
from a2gym.leaderboard.record import EpisodeRecord
from a2gym.leaderboard.suite import Suite
from a2gym.leaderboard.validate import replay_each, validate_files

RAY_EXTRA = 'pip install "a2gym[ray]"'
REPLAY_CHUNK = 16
"""Most records one validate task replays (records of one scenario share its set-up)."""


def import_ray() -> ModuleType:
    """The ``ray`` module; A2GymError naming the extra to install when it is missing."""
    try:
        import ray
    except ImportError:
        raise A2GymError(f"--ray needs Ray, an optional extra: {RAY_EXTRA}") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[ModuleType]:
    """Ray, initialised: joined at ``address``, or a local cluster of ``num_cpus`` CPUs (default: all).

    Shuts Ray down on exit only if it started it here.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if address is not None:
        if num_cpus is not None:
            raise A2GymError("num_cpus sizes a local Ray; it cannot be given with a cluster address")
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
        )
    try:
        yield ray
    finally:
        ray.shutdown()


def _get(ray: ModuleType, ref: Any) -> Any:
    """``ray.get(ref)``; a2gym's own error raised in a task is re-raised as itself (one clear line)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, A2GymError):
            raise e.cause from None
        raise


def _in_order(ray: ModuleType, refs: Iterable[Any]) -> Iterator[Any]:
    """Every item of every task's list result, task by task in submission order."""
    for ref in refs:
        yield from _get(ray, ref)


def _remote(ray: ModuleType, fn: Callable[..., Any]) -> Any:
    """``fn`` as a Ray remote function of one CPU (``fn`` is module-level: workers import it by name)."""
    return ray.remote(num_cpus=1)(fn)


def evaluate_suite_ray(
    spec: str,
    suite: Suite,
    n_seeds: int | None = None,
    env_ids: tuple[str, ...] | None = None,
    skip: frozenset[tuple[str, str, int]] = frozenset(),
    address: str | None = None,
    num_cpus: int | None = None,
) -> Iterator[EpisodeRecord]:
    """:func:`~a2gym.leaderboard.evaluate.evaluate_suite` with one Ray task per (env, scenario).

    Yields the same records in the same (suite) order; the spec is resolved here first, so a bad one
    fails before any task starts.
    """
    resolve_policy(spec).close()  # (its worker process: each task starts its own)
    episodes = [ep for ep in suite.episodes(n_seeds, env_ids) if (ep[0].env_id, ep[1], ep[2]) not in skip]
    groups = itertools.groupby(episodes, key=lambda ep: (ep[0], ep[1]))
    with ray_session(address, num_cpus) as ray:
        task = _remote(ray, evaluate_seeds)
        refs = [task.remote(spec, entry.env_id, dict(entry.env_kwargs), uri, [seed for _, _, seed in eps])
                for (entry, uri), eps in groups]
        yield from _in_order(ray, refs)


def _chunks(recs: list[EpisodeRecord]) -> list[list[int]]:
    """Indices of ``recs`` split by scenario URI (first-seen order), in chunks of at most REPLAY_CHUNK."""
    by_uri: dict[str, list[int]] = {}
    for i, rec in enumerate(recs):
        by_uri.setdefault(rec.scenario_uri, []).append(i)
    return [idx[k:k + REPLAY_CHUNK] for idx in by_uri.values() for k in range(0, len(idx), REPLAY_CHUNK)]


def _replay_chunk(recs: list[EpisodeRecord]) -> list[list[str]]:
    """Replay problems of each record of one chunk (the remote task of :func:`replay_ray`)."""
    return list(replay_each(recs))


def replay_ray(recs: list[EpisodeRecord]) -> Iterator[list[str]]:
    """A :data:`~a2gym.leaderboard.validate.Replayer` running chunks as Ray tasks (Ray initialised);
    yields the problems of each record in the order of ``recs``."""
    ray = import_ray()
    task = _remote(ray, _replay_chunk)
    chunks = _chunks(recs)
    refs = [task.remote([recs[i] for i in idx]) for idx in chunks]
    where = {i: (c, k) for c, idx in enumerate(chunks) for k, i in enumerate(idx)}
    done: dict[int, list[list[str]]] = {}
    for i in range(len(recs)):
        c, k = where[i]
        if c not in done:
            done[c] = _get(ray, refs[c])
        yield done[c][k]


def validate_files_ray(paths: Iterable[str], progress: Callable[[int], None] | None = None,
                       address: str | None = None, num_cpus: int | None = None, rerun: bool = False
                       ) -> tuple[list[EpisodeRecord], list[str]]:
    """:func:`~a2gym.leaderboard.validate.validate_files` with the replays as Ray tasks (same result; a
    re-execution runs in this process)."""
    with ray_session(address, num_cpus):
        return validate_files(paths, progress, replayer=replay_ray, rerun=rerun)
