"""Results files: an entry header, then one episode record per line (JSONL).

A record names the env (id and version), the scenario (URI and SHA-256), the env kwargs (which include
how the env treats masked actions) and the seed, so that the episode can be replayed in a fresh env
from its ``actions`` alone, and re-executed from the header's policy (:mod:`a2gym.leaderboard.entry`).
The outcome fields (``cost`` in dollars, ``cost_breakdown``, ``return``, ``violations``) are what
``a2gym validate`` recomputes and compares; ``wall_time_s`` is measured, not replayable, and is
ignored by equality.

Line format (keys in this order; floats written with ``repr`` so they round-trip exactly)::

    {"format": "a2gym-episode", "format_version": 2, "env_id": "a2gym/Placement-v0", "env_version": 0,
     "scenario_uri": "scenario://a2-test-v1/medium-0", "scenario_sha256": "<hex>", "env_kwargs": {},
     "seed": 10000, "actions": [3, 17, 40], "cost": 12.5,
     "cost_breakdown": {"compute": 12.0, "bandwidth": 0.5, "deployment": 0.0}, "return": -1.0,
     "violations": 0, "wall_time_s": 0.12}

Bounded input: a file is read only if it is a regular file of at most
:data:`~a2gym.leaderboard.safeio.MAX_FILE_BYTES`; a line may have at most :data:`MAX_LINE_CHARS`
characters; strings, lists and objects inside have the limits below. Repeated keys are refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from a2gym.checks import is_finite_real, is_int
from a2gym.errors import RecordError
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.safeio import read_bounded_text

FORMAT = "a2gym-episode"
FORMAT_VERSION = 2
MAX_LINE_CHARS = 1_000_000
MAX_STRING = 512
MAX_STEPS = 100_000
MAX_ACTION_LEN = 65_536
MAX_KEYS = 32

Action = int | list[int]


@dataclasses.dataclass(frozen=True)
class EpisodeRecord:
    """One evaluated episode. Equality compares every field except ``wall_time_s``.

    Attributes (units in brackets):
        env_id, env_version: Gymnasium id (``"a2gym/Placement-v0"``) and its version number.
        scenario_uri, scenario_sha256: the scenario, by name and content hash.
        env_kwargs: every ``gymnasium.make`` keyword except ``scenario`` (JSON values).
        seed: the ``reset`` seed, also the policy's only source of randomness.
        actions: the action of every step: ints (Discrete) or lists of ints (MultiBinary/MultiDiscrete).
        cost [$]: total cost of the episode (the final ``info["cost"]``).
        cost_breakdown [$]: the env's split of ``cost`` (compute, bandwidth, deployment, ...).
        return_: sum of rewards (JSON key ``"return"``).
        violations: SLO violations the env reported, summed over the episode's steps.
        wall_time_s [s]: time the policy took to act over the episode (declared, not compared).
    """

    env_id: str
    env_version: int
    scenario_uri: str
    scenario_sha256: str
    env_kwargs: dict[str, Any]
    seed: int
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
        return _dumps(self.to_dict(), f"record on {self.scenario_uri} seed {self.seed}")

    @classmethod
    def from_dict(cls, d: Any) -> EpisodeRecord:
        """Parse and type-check one line's object; RecordError names the bad field."""
        if not isinstance(d, dict):
            raise RecordError(f"expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise RecordError(f"field 'format' = {str(d.get('format'))[:40]!r}, expected {FORMAT!r}")
        if d.get("format_version") != FORMAT_VERSION:
            raise RecordError(
                f"field 'format_version' = {str(d.get('format_version'))[:20]} is not supported "
                f"(expected {FORMAT_VERSION})"
            )
        names = [("return" if f.name == "return_" else f.name) for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in d]
        if missing:
            raise RecordError(f"missing field(s): {', '.join(missing)}")
        unknown = sorted(set(d) - set(names) - {"format", "format_version"})
        if unknown:
            raise RecordError(f"unknown field(s): {', '.join(u[:40] for u in unknown[:5])}")
        _check_types(d)
        kw = {("return_" if n == "return" else n): d[n] for n in names}
        kw["cost"] = float(kw["cost"])
        kw["return_"] = float(kw["return_"])
        kw["wall_time_s"] = float(kw["wall_time_s"])
        kw["cost_breakdown"] = {k: float(v) for k, v in kw["cost_breakdown"].items()}
        return cls(**kw)

    @property
    def key(self) -> tuple[str, str, int]:
        """(env id, scenario URI, seed): what must be unique within an entry."""
        return self.env_id, self.scenario_uri, self.seed


def _dumps(obj: dict[str, Any], what: str) -> str:
    try:
        return json.dumps(obj, allow_nan=False, separators=(", ", ": "))
    except (TypeError, ValueError) as e:
        raise RecordError(f"{what} is not JSON-able: {e}") from None


def _is_num(x: Any) -> bool:
    return is_finite_real(x)


def _is_nat(x: Any) -> bool:
    return is_int(x) and x >= 0


def _small_json(x: Any, depth: int = 0) -> bool:
    """A JSON value of env kwargs: scalars, short strings, at most 3 levels of small lists/objects."""
    if x is None or isinstance(x, bool) or _is_num(x):
        return True
    if isinstance(x, str):
        return len(x) <= MAX_STRING
    if depth >= 3:
        return False
    if isinstance(x, list):
        return len(x) <= MAX_KEYS and all(_small_json(v, depth + 1) for v in x)
    if isinstance(x, dict):
        return len(x) <= MAX_KEYS and all(len(k) <= 64 and _small_json(v, depth + 1) for k, v in x.items())
    return False


def _check_types(d: dict[str, Any]) -> None:
    def need(name: str, ok: bool, what: str) -> None:
        if not ok:
            raise RecordError(f"field {name!r} = {str(d[name])[:80]!r} must be {what}")

    for name in ("env_id", "scenario_uri"):
        need(name, isinstance(d[name], str) and 0 < len(d[name]) <= MAX_STRING and d[name].isprintable(),
             f"a printable string of 1..{MAX_STRING} characters")
    need("scenario_sha256", isinstance(d["scenario_sha256"], str)
         and bool(re.fullmatch(r"[0-9a-f]{64}", d["scenario_sha256"])), "64 lowercase hex digits")
    for name in ("env_version", "seed", "violations"):
        need(name, _is_nat(d[name]) and d[name] < 2**63, "a non-negative integer")
    need("env_kwargs", isinstance(d["env_kwargs"], dict) and _small_json(d["env_kwargs"]),
         f"an object of at most {MAX_KEYS} small JSON values")
    for name in ("cost", "return"):
        need(name, _is_num(d[name]), "a finite number")
    need("wall_time_s", _is_num(d["wall_time_s"]) and d["wall_time_s"] >= 0, "a finite number >= 0 [s]")
    need("cost_breakdown", isinstance(d["cost_breakdown"], dict) and len(d["cost_breakdown"]) <= MAX_KEYS
         and all(isinstance(k, str) and len(k) <= 64 and _is_num(v) for k, v in d["cost_breakdown"].items()),
         "an object of finite numbers")
    acts = d["actions"]
    need(
        "actions",
        isinstance(acts, list) and 0 < len(acts) <= MAX_STEPS and all(_is_action(a) for a in acts),
        f"a list of 1..{MAX_STEPS} non-negative integers or lists of them",
    )


def _is_action(a: Any) -> bool:
    if _is_nat(a):
        return True
    return isinstance(a, list) and len(a) <= MAX_ACTION_LEN and all(_is_nat(x) for x in a)


@dataclasses.dataclass(frozen=True)
class LineError:
    """A line of a results file that could not be parsed: ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclasses.dataclass
class ResultsFile:
    """A parsed results file: its header (None if line 1 is bad), its records with line numbers, and the
    problems of the lines that did not parse."""

    path: str
    header: EntryHeader | None
    records: list[tuple[int, EpisodeRecord]]
    errors: list[LineError]


def _lines(path: str | os.PathLike[str]) -> tuple[list[str], LineError | None]:
    text = read_bounded_text(path, what="results file")
    if not text:
        return [], LineError(str(path), 0, "empty file (no header, no records)")
    lines = text.split("\n")
    last = None
    if lines[-1] != "":
        last = LineError(str(path), len(lines), f"truncated line (no final newline): {lines[-1][:60]!r}")
        lines[-1] = ""
    lines.pop()
    return lines, last


def _parse(line: str, n: int, path: str) -> Any:
    if len(line) > MAX_LINE_CHARS:
        raise RecordError(f"line of {len(line)} characters, more than the limit of {MAX_LINE_CHARS}")
    if not line.strip():
        raise RecordError("blank line")
    from a2gym.leaderboard.safeio import loads_strict

    try:
        return loads_strict(line)
    except json.JSONDecodeError as e:
        raise RecordError(f"malformed JSON: {e.msg} at column {e.colno}") from None
    except ValueError as e:
        raise RecordError(f"malformed JSON: {e}") from None


def read_results(path: str | os.PathLike[str]) -> ResultsFile:
    """Parse a results file; bad lines become :class:`LineError` s and the scan goes on.

    RecordError (naming the path) if the file cannot be read at all: missing, not a regular file, too
    large, not UTF-8.
    """
    p = str(path)
    lines, last = _lines(path)
    out = ResultsFile(p, None, [], [])
    for n, line in enumerate(lines, start=1):
        try:
            obj = _parse(line, n, p)
            if n == 1:
                out.header = EntryHeader.from_dict(obj)
            else:
                out.records.append((n, EpisodeRecord.from_dict(obj)))
        except RecordError as e:
            out.errors.append(LineError(p, n, str(e)))
    if last is not None:
        out.errors.append(last)
    if not lines and last is None:
        out.errors.append(LineError(p, 0, "empty file (no header, no records)"))
    return out


def read_records(path: str | os.PathLike[str]) -> tuple[EntryHeader, list[EpisodeRecord]]:
    """The header and records of a file; RecordError listing every bad line (``path:line: message``)."""
    res = read_results(path)
    if res.errors or res.header is None:
        raise RecordError("\n".join(str(e) for e in res.errors) or f"{path}: no header")
    return res.header, [r for _, r in res.records]


def results_text(header: EntryHeader, records: Iterable[EpisodeRecord]) -> str:
    """The text of a results file: the header line, then one line per record."""
    lines = [_dumps(header.to_dict(), f"header of {header.name!r}")]
    lines += [r.to_json() for r in records]
    return "".join(line + "\n" for line in lines)


def write_records(
    path: str | os.PathLike[str], header: EntryHeader, records: Iterable[EpisodeRecord]
) -> Path:
    """Write a results file atomically (temp file + ``os.replace``); returns the path."""
    from a2gym.fileio import atomic_write_text

    return atomic_write_text(Path(path), results_text(header, records))
