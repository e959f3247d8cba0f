"""Episode records: one JSON object per line (JSONL), everything an episode depends on, by name.

A record names the env (id and version), the a2gym version, the scenario (URI and SHA-256), the env
kwargs and the seed, so that the episode can be replayed in a fresh env from its ``actions`` alone
(CompilerGym style). The outcome fields (``cost`` in dollars, ``cost_breakdown``, ``return``,
``violations``) are what ``a2gym validate`` recomputes and compares; ``wall_time_s`` is measured, not
replayable, and is ignored by equality.

Line format (keys in this order; floats written with ``repr`` so they round-trip exactly)::

    {"format": "a2gym-episode", "format_version": 1, "suite": "a2-test-v0", "env_id": "a2gym/Placement-v0",
     "env_version": 0, "a2gym_version": "0.1.0", "scenario_uri": "scenario://a2-test-v0/placement-0",
     "scenario_sha256": "<hex>", "env_kwargs": {}, "seed": 10000, "policy": "reference",
     "trained_on_test": false, "actions": [3, 17, 40], "cost": 12.5,
     "cost_breakdown": {"compute": 12.0, "bandwidth": 0.5, "deployment": 0.0}, "return": -1.0,
     "violations": 0, "wall_time_s": 0.12}
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from a2gym.checks import is_bool, is_finite_real, is_int
from a2gym.errors import RecordError
from a2gym.fileio import atomic_write_text

FORMAT = "a2gym-episode"
FORMAT_VERSION = 1
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?(?:\+[0-9A-Za-z.]+)?$")
"""Accepted ``a2gym_version`` strings (PEP 440 release, optional pre/post/dev and local parts)."""

Action = int | list[int]


@dataclasses.dataclass(frozen=True)
class EpisodeRecord:
    """One evaluated episode. Equality compares every field except ``wall_time_s``.

    Attributes (units in brackets):
        suite: test suite the episode belongs to (``"a2-test-v0"``), or None for a free run.
        env_id, env_version: Gymnasium id (``"a2gym/Placement-v0"``) and its version number.
        a2gym_version: version of the package that produced the record.
        scenario_uri, scenario_sha256: the scenario, by name and content hash.
        env_kwargs: every ``gymnasium.make`` keyword except ``scenario`` (JSON values).
        seed: the ``reset`` seed (also the policy's seed, for seeded policies).
        policy: the entry's name on the leaderboard.
        trained_on_test: the entrant's declaration: was the policy trained or tuned on test scenarios?
            None = not declared (built-in policies that learn nothing declare False).
        actions: the action of every step: ints (Discrete) or lists of 0/1 (MultiBinary).
        cost [$]: total cost of the episode (the final ``info["cost"]``).
        cost_breakdown [$]: the env's split of ``cost`` (compute, bandwidth, deployment, ...).
        return_: sum of rewards (JSON key ``"return"``).
        violations: SLO violations the env reported, summed over the episode's steps (GeoServe: unserved
            (class, slot) pairs; Placement, Scheduling: constraint violations of the final plan).
        wall_time_s [s]: time the policy took to act over the episode (not compared).
    """

    suite: str | None
    env_id: str
    env_version: int
    a2gym_version: str
    scenario_uri: str
    scenario_sha256: str
    env_kwargs: dict[str, Any]
    seed: int
    policy: str
    trained_on_test: bool | None
    actions: list[Action]
    cost: float
    cost_breakdown: dict[str, float]
    return_: float
    violations: int
    wall_time_s: float = dataclasses.field(default=0.0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one line (key ``return`` instead of ``return_``)."""
        d: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            d["return" if f.name == "return_" else f.name] = getattr(self, f.name)
        return d

    def to_json(self) -> str:
        """One line of JSON (no newline); raises RecordError for NaN/inf or non-JSON values."""
        try:
            return json.dumps(self.to_dict(), allow_nan=False, separators=(", ", ": "))
        except (TypeError, ValueError) as e:
            raise RecordError(f"record of {self.policy!r} on {self.scenario_uri} seed {self.seed} "
                              f"is not JSON-able: {e}") from None

    @classmethod
    def from_dict(cls, d: Any) -> EpisodeRecord:
        """Parse and type-check one line's object; RecordError names the bad field."""
        if not isinstance(d, dict):
            raise RecordError(f"expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise RecordError(f"field 'format' = {d.get('format')!r}, expected {FORMAT!r}")
        if d.get("format_version") != FORMAT_VERSION:
            raise RecordError(f"field 'format_version' = {d.get('format_version')!r} is not supported "
                              f"(expected {FORMAT_VERSION})")
        names = [("return" if f.name == "return_" else f.name) for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in d]
        if missing:
            raise RecordError(f"missing field(s): {', '.join(missing)}")
        unknown = sorted(set(d) - set(names) - {"format", "format_version"})
        if unknown:
            raise RecordError(f"unknown field(s): {', '.join(unknown)}")
        _check_types(d)
        kw = {("return_" if n == "return" else n): d[n] for n in names}
        kw["cost"] = float(kw["cost"])
        kw["return_"] = float(kw["return_"])
        kw["wall_time_s"] = float(kw["wall_time_s"])
        kw["cost_breakdown"] = {k: float(v) for k, v in kw["cost_breakdown"].items()}
        return cls(**kw)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(policy, env id, scenario URI, seed): what must be unique in a leaderboard."""
        return self.policy, self.env_id, self.scenario_uri, self.seed


def _check_types(d: dict[str, Any]) -> None:
    def need(name: str, ok: bool, what: str) -> None:
        if not ok:
            raise RecordError(f"field {name!r} = {d[name]!r:.80} must be {what}")

    need("suite", d["suite"] is None or isinstance(d["suite"], str), "a string or null")
    for name in ("env_id", "a2gym_version", "scenario_uri", "scenario_sha256", "policy"):
        need(name, isinstance(d[name], str) and bool(d[name]), "a non-empty string")
    for name in ("env_version", "seed", "violations"):
        need(name, is_int(d[name]) and d[name] >= 0,
             "a non-negative integer")
    need("trained_on_test", d["trained_on_test"] is None or is_bool(d["trained_on_test"]),
         "true, false or null")
    need("env_kwargs", isinstance(d["env_kwargs"], dict), "an object")
    need("scenario_sha256", bool(re.fullmatch(r"[0-9a-f]{64}", d["scenario_sha256"])), "64 lowercase hex digits")
    for name in ("cost", "return", "wall_time_s"):
        need(name, is_finite_real(d[name]), "a finite number")
    need("cost_breakdown", isinstance(d["cost_breakdown"], dict)
         and all(isinstance(k, str) and is_finite_real(v) for k, v in d["cost_breakdown"].items()),
         "an object of finite numbers")
    acts = d["actions"]
    need("actions", isinstance(acts, list) and all(_is_action(a) for a in acts),
         "a list of non-negative integers or lists of 0/1")


def _is_action(a: Any) -> bool:
    if is_int(a):
        return a >= 0
    return isinstance(a, list) and all(is_int(x) and x in (0, 1) for x in a)


@dataclasses.dataclass(frozen=True)
class LineError:
    """A line of a results file that could not be parsed: ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def iter_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, EpisodeRecord | LineError]]:
    """Yield ``(line number, record or LineError)`` for every line of a JSONL file (1-based).

    A blank line, a line that is not JSON (e.g. a truncated last line), or one that fails the field
    checks yields a :class:`LineError` instead of stopping the scan. A last line without a newline is
    reported as truncated even when it happens to parse.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"results file not found: {p}") from None
    except UnicodeDecodeError as e:
        raise RecordError(f"{p}: not UTF-8 text: {e}") from None
    if not text:
        yield 0, LineError(str(p), 0, "empty file (no records)")
        return
    lines = text.split("\n")
    truncated = lines[-1] != ""
    if not truncated:
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if truncated and n == len(lines):
            yield n, LineError(str(p), n, f"truncated line (no final newline): {line[:60]!r}")
            continue
        if not line.strip():
            yield n, LineError(str(p), n, "blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, LineError(str(p), n, f"malformed JSON: {e.msg} at column {e.colno}")
            continue
        try:
            yield n, EpisodeRecord.from_dict(obj)
        except RecordError as e:
            yield n, LineError(str(p), n, str(e))


def read_records(path: str | os.PathLike[str]) -> list[EpisodeRecord]:
    """All records of a file; raises RecordError listing every bad line (``path:line: message``)."""
    out: list[EpisodeRecord] = []
    errors: list[str] = []
    for _, r in iter_records(path):
        if isinstance(r, LineError):
            errors.append(str(r))
        else:
            out.append(r)
    if errors:
        raise RecordError("\n".join(errors))
    return out


def write_records(path: str | os.PathLike[str], records: Iterable[EpisodeRecord]) -> Path:
    """Write records as JSONL atomically (temp file + ``os.replace``); returns the path."""
    text = "".join(r.to_json() + "\n" for r in records)
    return atomic_write_text(Path(path), text)
