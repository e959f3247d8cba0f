"""``a2gym validate``: replay every record of results files in fresh envs and compare every field;
with ``rerun``, also re-execute the entry's policy on every recorded episode and require its actions.

Each problem is one line ``path:line: message``, e.g. ``leaderboard/x.jsonl:3: cost 12.5 != replayed 12.4``.
Checked per file: line 1 is a valid entry header (:mod:`a2gym.leaderboard.entry`: name, policy spec,
hash, declaration); with ``rerun`` the policy resolves and its SHA-256 is the header's. Per record:

* the line parses (bounded size, no repeated keys; truncated, blank or malformed lines are reported,
  the scan goes on);
* ``env_id`` is registered and ``env_version`` is its version;
* the scenario is a bundled ``scenario://`` URI whose manifest SHA-256 equals ``scenario_sha256``;
* for a suite record: the suite knows the env, the env kwargs equal the suite's, the scenario is one
  of the env's and the seed follows the suite's seed rule;
* no two records of a file share (env, scenario, seed), and no two files share an entry name;
* the replay accepts every action and ends exactly after the last one, and reproduces ``cost``,
  ``return`` and every ``cost_breakdown`` entry to a relative 1e-6, and ``violations`` exactly;
* with ``rerun``: the policy, made afresh with the record's seed as its only randomness, chooses
  exactly the recorded actions (the first differing step is named).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Iterator

import gymnasium as gym
from gymnasium.envs.registration import parse_env_id

from a2gym.errors import A2GymError, RecordError
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.episode import Outcome, ScenarioCache, bundled_name, manifest, replay
from a2gym.leaderboard.record import EpisodeRecord, read_results
from a2gym.leaderboard.suite import SUITES

REL_TOL = 1e-6
ABS_TOL = 1e-9


def close(a: float, b: float) -> bool:
    """Equal to a relative 1e-6 (absolute 1e-9 near zero)."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def static_problems(rec: EpisodeRecord, pins: dict[str, str], suite: str | None) -> list[str]:
    """Problems that need no replay: env id and version, scenario hash, suite membership."""
    import a2gym  # noqa: F401  (registers the envs)
    from a2gym.envs.registration import LEGACY_IDS

    out: list[str] = []
    if rec.env_id not in gym.registry and rec.env_id not in LEGACY_IDS:
        out.append(f"unknown env {rec.env_id!r}")
    else:
        version = parse_env_id(rec.env_id)[2]
        if version != rec.env_version:
            out.append(f"env_version {rec.env_version} != version {version} of {rec.env_id}")
    try:
        pinned = pins.get(bundled_name(rec.scenario_uri))
    except RecordError as e:
        return [*out, str(e)]
    if pinned is None:
        out.append(f"scenario {rec.scenario_uri} is not bundled (not in MANIFEST.json)")
    elif pinned != rec.scenario_sha256:
        out.append(
            f"scenario_sha256 {rec.scenario_sha256[:12]}… != manifest {pinned[:12]}… for {rec.scenario_uri}"
        )
    if suite is not None:
        out += _suite_problems(rec, suite)
    return out


def _suite_problems(rec: EpisodeRecord, suite_name: str) -> list[str]:
    suite = SUITES.get(suite_name)
    if suite is None:
        return [f"unknown suite {suite_name!r}"]
    from a2gym.envs.registration import resolve_env_id

    env_id = resolve_env_id(rec.env_id)[0]  # a retired id (GeoServe-v1) is its successor's record
    if env_id not in suite.env_ids:
        return [f"suite {suite.name} has no env {rec.env_id}"]
    entry = suite.entry(env_id)
    out = []
    if rec.env_kwargs != dict(entry.env_kwargs):
        out.append(f"env_kwargs {rec.env_kwargs} != suite {suite.name}'s {dict(entry.env_kwargs)}")
    if rec.scenario_uri not in entry.scenarios:
        out.append(f"scenario {rec.scenario_uri} is not in suite {suite.name} for {rec.env_id}")
    if not suite.is_seed(rec.seed):
        out.append(f"seed {rec.seed} does not follow suite {suite.name}'s seed rule (>= {suite.seed_base})")
    return out


def _replayable(rec: EpisodeRecord, pins: dict[str, str]) -> bool:
    name = rec.scenario_uri.removeprefix("scenario://")
    from a2gym.envs.registration import resolve_env_id

    registered = resolve_env_id(rec.env_id)[0] in gym.registry
    return registered and rec.scenario_uri.startswith("scenario://") and name in pins


def replay_problems(rec: EpisodeRecord, pool: ScenarioCache | None = None,
                    outcomes: list[Outcome | None] | None = None) -> list[str]:
    """Replay the record's actions in a new env and list every outcome field that differs (the replayed
    outcome, or None, is appended to ``outcomes``)."""
    if outcomes is not None:
        outcomes.append(None)
    try:
        rep = replay(rec.env_id, rec.scenario_uri, rec.env_kwargs, rec.seed, rec.actions, pool)
        if outcomes is not None:
            outcomes[-1] = rep
    except A2GymError as e:
        return [f"replay failed: {e}"]
    except Exception as e:  # noqa: BLE001  (an env crash on tampered input is a rejection, not a crash of validate)
        return [f"replay failed: {type(e).__name__}: {e}"]
    out = []
    if not close(rec.cost, rep.cost):
        out.append(f"cost {rec.cost!r} != replayed {rep.cost!r}")
    if not close(rec.return_, rep.return_):
        out.append(f"return {rec.return_!r} != replayed {rep.return_!r}")
    if set(rec.cost_breakdown) != set(rep.cost_breakdown):
        out.append(
            f"cost_breakdown keys {sorted(rec.cost_breakdown)} != replayed {sorted(rep.cost_breakdown)}"
        )
    else:
        for k, v in rec.cost_breakdown.items():
            if not close(v, rep.cost_breakdown[k]):
                out.append(f"cost_breakdown[{k!r}] {v!r} != replayed {rep.cost_breakdown[k]!r}")
    if rec.violations != rep.violations:
        out.append(f"violations {rec.violations} != replayed {rep.violations}")
    return out


Replayer = Callable[[list[EpisodeRecord]], Iterator[list[str]]]
"""Replays records and yields each one's :func:`replay_problems`, in the order given (lazily or not)."""


def replay_each(recs: list[EpisodeRecord], outcomes: list[Outcome | None] | None = None
                ) -> Iterator[list[str]]:
    """The sequential :data:`Replayer`: one scenario object per URI serves every replay (no policy runs);
    each replayed outcome is appended to ``outcomes`` if given."""
    pool = ScenarioCache()
    for rec in recs:
        yield replay_problems(rec, pool, outcomes)


@dataclasses.dataclass
class _Checked:
    """A parsed record at ``where`` (``path:line``), its problems so far and whether it can be replayed."""

    where: str
    rec: EpisodeRecord
    found: list[str]
    replayable: bool
    header: EntryHeader


@dataclasses.dataclass
class Validated:
    """The valid entries of a validation: per file, its header and records (only files without problems)."""

    entries: dict[str, tuple[EntryHeader, list[EpisodeRecord]]]
    problems: list[str]

    @property
    def records(self) -> list[EpisodeRecord]:
        return [r for _, recs in self.entries.values() for r in recs]


def _check_files(paths: Iterable[str | os.PathLike[str]], pins: dict[str, str]) -> list[str | _Checked]:
    """Parse every file and run the checks that need no replay; a problem line, or a record, per item."""
    names: dict[str, str] = {}
    items: list[str | _Checked] = []
    for path in paths:
        try:
            res = read_results(path)
        except RecordError as e:
            items.append(str(e))
            continue
        items += [str(e) for e in res.errors]
        if res.header is None:
            continue
        if res.header.name in names:
            items.append(f"{path}:1: entry name {res.header.name!r} is also used by {names[res.header.name]}")
        names.setdefault(res.header.name, str(path))
        seen: dict[tuple[str, str, int], str] = {}
        for n, rec in res.records:
            where = f"{path}:{n}"
            found = static_problems(rec, pins, res.header.suite)
            if rec.key in seen:
                found.append(f"duplicate of {seen[rec.key]} (same env, scenario and seed)")
            else:
                seen[rec.key] = where
            items.append(_Checked(where, rec, found, _replayable(rec, pins), res.header))
    return items


def _rescored(rec: EpisodeRecord, out: Outcome | None) -> EpisodeRecord:
    """The record with its outcome fields as the scorer computed them (re-executed, else replayed): the
    board scores those; a recorded cost is only compared with them."""
    if out is None:
        return rec
    return dataclasses.replace(rec, cost=out.cost, cost_breakdown=dict(out.cost_breakdown),
                               return_=out.return_, violations=out.violations)


Rerunner = Callable[[EntryHeader, list[EpisodeRecord]], Iterator[list[str]]]
"""Re-executes an entry's policy on its records; yields each record's problems, in order."""


def validate_files(
    paths: Iterable[str | os.PathLike[str]],
    progress: Callable[[int], None] | None = None,
    replayer: Replayer = replay_each,
    rerun: bool = False,
) -> tuple[list[EpisodeRecord], list[str]]:
    """Validate every record of every file; returns (valid records, problems as ``path:line: message``).

    ``progress(n)`` is called after each record. ``replayer`` runs the replays (e.g. as Ray tasks); the
    result does not depend on it. With ``rerun`` each file's policy is also re-executed
    (:func:`a2gym.leaderboard.rerun.rerun_problems`).
    """
    v = validate_entries(paths, progress, replayer, rerun)
    return v.records, v.problems


def validate_entries(paths: Iterable[str | os.PathLike[str]], progress: Callable[[int], None] | None = None,
                     replayer: Replayer = replay_each, rerun: bool = False) -> Validated:
    """:func:`validate_files`, keeping each valid file's header and records."""
    paths = [str(p) for p in paths]
    items = _check_files(paths, manifest())
    to_replay = [it for it in items if isinstance(it, _Checked) and it.replayable]
    replayed: list[Outcome | None] = []
    if replayer is replay_each:
        replays = replay_each([it.rec for it in to_replay], replayed)
    else:
        replays = replayer([it.rec for it in to_replay])
    rerun_found: dict[str, list[str]] = {}
    scored: dict[str, Outcome] = {}
    if rerun:
        from a2gym.leaderboard.rerun import rerun_problems

        by_file: dict[str, list[_Checked]] = {}
        for it in items:
            if isinstance(it, _Checked) and not it.found and it.replayable:
                by_file.setdefault(it.where.rsplit(":", 1)[0], []).append(it)
        for path, its in by_file.items():
            again: dict[int, Outcome] = {}
            for it, found in zip(its, rerun_problems(path, its[0].header, [i.rec for i in its], again),
                                 strict=True):
                rerun_found[it.where] = found
            scored.update({its[j].where: out for j, out in again.items()})
    problems: list[str] = []
    bad_files: set[str] = set()
    good: dict[str, list[EpisodeRecord]] = {}
    headers: dict[str, EntryHeader] = {}
    n_replayed = 0
    for it in items:
        if isinstance(it, str):
            problems.append(it)
            bad_files.add(it.split(":", 1)[0] if ":" in it else it)
            continue
        path = it.where.rsplit(":", 1)[0]
        headers[path] = it.header
        found = it.found + (next(replays) if it.replayable else []) + rerun_found.get(it.where, [])
        if it.replayable and replayed:
            # the replay of the actions (which the re-execution chose, identically) in the scorer's env;
            # the re-executed episode's own outcome where there is no replay
            rep = replayed[n_replayed]
            n_replayed += 1
            if rep is not None:
                scored[it.where] = rep
        problems += [f"{it.where}: {p}" for p in found]
        if found:
            bad_files.add(path)
        good.setdefault(path, []).append(_rescored(it.rec, scored.get(it.where)))
        if progress:
            progress(1)
    problems = [p for p in problems if p]
    entries = {p: (headers[p], recs) for p, recs in good.items() if p not in bad_files}
    return Validated(entries, problems)
