"""``a2gym validate``: replay every record of results files in fresh envs and compare every field.

Each problem is one line ``path:line: message``, e.g. ``leaderboard/x.jsonl:3: cost 12.5 != replayed 12.4``.
Checked per record:

* the line parses (truncated, blank or malformed lines are reported, the scan goes on);
* ``a2gym_version`` has a release format; ``env_id`` is registered and ``env_version`` is its version;
* the scenario is a bundled ``scenario://`` URI whose manifest SHA-256 equals ``scenario_sha256``;
* for a suite record: the suite knows the env, the env kwargs equal the suite's, the scenario is one
  of the env's and the seed follows the suite's seed rule;
* no two records share (policy, env, scenario, seed), across all files given;
* the replay accepts every action and ends exactly after the last one, and reproduces ``cost``,
  ``return`` and every ``cost_breakdown`` entry to a relative 1e-6, and ``violations`` exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Iterator

import gymnasium as gym
from gymnasium.envs.registration import parse_env_id

from a2gym.errors import A2GymError, RecordError
from a2gym.leaderboard.episode import ScenarioPool, bundled_name, manifest, replay
from a2gym.leaderboard.record import VERSION_RE, EpisodeRecord, LineError, iter_records
from a2gym.leaderboard.suite import SUITES

REL_TOL = 1e-6
ABS_TOL = 1e-9


def close(a: float, b: float) -> bool:
    """Equal to a relative 1e-6 (absolute 1e-9 near zero)."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def static_problems(rec: EpisodeRecord, pins: dict[str, str]) -> list[str]:
    """Problems that need no replay: version format, env id and version, scenario hash, suite membership."""
    import a2gym  # noqa: F401  (registers the envs)

    out: list[str] = []
    if not VERSION_RE.match(rec.a2gym_version):
        out.append(f"a2gym_version {rec.a2gym_version!r} is not a version number")
    if rec.env_id not in gym.registry:
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
    if rec.suite is not None:
        out += _suite_problems(rec)
    return out


def _suite_problems(rec: EpisodeRecord) -> list[str]:
    suite = SUITES.get(rec.suite or "")
    if suite is None:
        return [f"unknown suite {rec.suite!r}"]
    if rec.env_id not in suite.env_ids:
        return [f"suite {suite.name} has no env {rec.env_id}"]
    entry = suite.entry(rec.env_id)
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
    return rec.env_id in gym.registry and rec.scenario_uri.startswith("scenario://") and name in pins


def replay_problems(rec: EpisodeRecord, pool: ScenarioPool | None = None) -> list[str]:
    """Replay the record's actions in a new env and list every outcome field that differs."""
    try:
        rep = replay(rec.env_id, rec.scenario_uri, rec.env_kwargs, rec.seed, rec.actions, pool)
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


def replay_each(recs: list[EpisodeRecord]) -> Iterator[list[str]]:
    """The sequential :data:`Replayer`: one scenario object per URI serves every replay (no policy runs)."""
    pool = ScenarioPool()
    for rec in recs:
        yield replay_problems(rec, pool)


@dataclasses.dataclass
class _Checked:
    """A parsed record at ``where`` (``path:line``), its problems so far and whether it can be replayed."""

    where: str
    rec: EpisodeRecord
    found: list[str]
    replayable: bool


def _check_files(paths: Iterable[str | os.PathLike[str]], pins: dict[str, str]) -> list[str | _Checked]:
    """Parse every file and run the checks that need no replay; a problem line, or a record, per item."""
    seen: dict[tuple[str, str, str, int], str] = {}
    items: list[str | _Checked] = []
    for path in paths:
        try:
            lines = list(iter_records(path))
        except RecordError as e:
            items.append(str(e))
            continue
        for n, rec in lines:
            if isinstance(rec, LineError):
                items.append(str(rec))
                continue
            where = f"{path}:{n}"
            found = static_problems(rec, pins)
            if rec.key in seen:
                found.append(f"duplicate of {seen[rec.key]} (same policy, env, scenario and seed)")
            else:
                seen[rec.key] = where
            items.append(_Checked(where, rec, found, _replayable(rec, pins)))
    return items


def validate_files(paths: Iterable[str | os.PathLike[str]], progress: Callable[[int], None] | None = None,
                   replayer: Replayer = replay_each) -> tuple[list[EpisodeRecord], list[str]]:
    """Validate every record of every file; returns (valid records, problems as ``path:line: message``).

    ``progress(n)`` is called with the number of records checked after each one. ``replayer`` runs the
    replays (e.g. as Ray tasks, :func:`a2gym.leaderboard.distributed.validate_files_ray`); the result does
    not depend on it.
    """
    items = _check_files(paths, manifest())
    replays = replayer([it.rec for it in items if isinstance(it, _Checked) and it.replayable])
    good: list[EpisodeRecord] = []
    problems: list[str] = []
    done = 0
    for it in items:
        if isinstance(it, str):
            problems.append(it)
            continue
        found = it.found + (next(replays) if it.replayable else [])
        problems += [f"{it.where}: {p}" for p in found]
        if not found:
            good.append(it.rec)
        done += 1
        if progress:
            progress(done)
    return good, problems
