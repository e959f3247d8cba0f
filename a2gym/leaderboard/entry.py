"""An entry's declarations, in one place: the header line of its results file.

A results file (``leaderboard/<name>.jsonl``) starts with one header object, then one episode record
per line (:mod:`a2gym.leaderboard.record`)::

    {"format": "a2gym-entry", "format_version": 2, "name": "origin-local", "policy": "origin-local",
     "policy_sha256": null, "trained_on_test": false, "description": "...", "suite": "a2-test-v1",
     "a2gym_version": "0.1.0"}

* ``name``: the entry's name on the board, ``[A-Za-z0-9._-]{1,64}``; the reserved rows' names
  (:data:`RESERVED_NAMES`) cannot be used, in any case or Unicode compatibility form.
* ``policy``: a spec the validator can run again (:mod:`a2gym.leaderboard.policy`): a built-in
  heuristic, ``sb3:[ALGO:]PATH`` or ``MODULE:OBJECT``.
* ``policy_sha256``: SHA-256 of the checkpoint (``sb3:``) or of the module's file (``MODULE:OBJECT``);
  null for a built-in heuristic. ``a2gym validate --rerun`` checks it before re-running.
* ``policy_files_sha256`` (``MODULE:OBJECT``, ``FILE.py:OBJECT``; absent for older entries and
  heuristics): one digest of every repository file the policy loads, its module, the modules it
  imports and its data files (:mod:`a2gym.leaderboard.closure`). Re-execution requires it for code
  entries; ``a2gym leaderboard pin FILE`` re-executes an entry and writes it.
* ``trained_on_test``: the entrant's declaration (true if the policy, its hyperparameters or its
  checkpoint selection ever saw a test scenario).
* ``description``: free text, at most :data:`MAX_DESCRIPTION` characters, shown escaped.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from a2gym.errors import RecordError

ENTRY_FORMAT = "a2gym-entry"
FORMAT_VERSION = 2
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_DESCRIPTION = 1000
MAX_SPEC = 512
SHA_RE = re.compile(r"[0-9a-f]{64}")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?(?:\+[0-9A-Za-z.]+)?$")
"""Accepted ``a2gym_version`` strings (PEP 440 release, optional pre/post/dev and local parts)."""

RESERVED_NAMES = frozenset({"reference", "optimum", "oracle", "no-adaptation", "model-only", "data-only",
                            "local-greedy", "forecast", "hindsight", "reactive"})
"""Rows the scorer computes itself (:mod:`a2gym.leaderboard.reserved`); no entry may take these names."""

_FIELDS = ("name", "policy", "policy_sha256", "trained_on_test", "description", "suite", "a2gym_version")
_OPTIONAL = ("policy_files_sha256",)
"""Header fields that may be absent (null): entries written before they existed still parse."""


def fold(name: str) -> str:
    """``name`` as compared with the reserved names: NFKC-normalised, then case-folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(name)).casefold())


def is_reserved(name: str) -> bool:
    """True if ``name`` is a reserved row's name in any case or Unicode compatibility form
    (``Reference``, ``ＲＥＦＥＲＥＮＣＥ``)."""
    return fold(name) in RESERVED_NAMES


def check_name(name: Any, what: str = "entry name") -> str:
    """``name`` if it is a valid, unreserved entry name; RecordError saying why not."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RecordError(f"{what} {str(name)[:80]!r} must match [A-Za-z0-9._-]{{1,64}}")
    if is_reserved(name):
        raise RecordError(f"{what} {name!r} is reserved for a row the scorer computes itself "
                          f"({', '.join(sorted(RESERVED_NAMES))})")
    return name


@dataclasses.dataclass(frozen=True)
class EntryHeader:
    """The declarations of one entry (see the module docstring)."""

    name: str
    policy: str
    policy_sha256: str | None
    trained_on_test: bool
    description: str
    suite: str | None
    a2gym_version: str
    policy_files_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"format": ENTRY_FORMAT, "format_version": FORMAT_VERSION,
             **{f: getattr(self, f) for f in _FIELDS}}
        d.update({f: getattr(self, f) for f in _OPTIONAL if getattr(self, f) is not None})
        return d

    @classmethod
    def from_dict(cls, d: Any) -> EntryHeader:
        """Parse and check a header object; RecordError names the bad field."""
        if not isinstance(d, dict):
            raise RecordError(f"header: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != ENTRY_FORMAT:
            raise RecordError(f"the first line must be the entry header (format {ENTRY_FORMAT!r}), "
                              f"got format {str(d.get('format'))[:40]!r}")
        if d.get("format_version") != FORMAT_VERSION:
            raise RecordError(f"header: format_version {str(d.get('format_version'))[:20]} is not supported "
                              f"(expected {FORMAT_VERSION})")
        missing = [f for f in _FIELDS if f not in d]
        if missing:
            raise RecordError(f"header: missing field(s): {', '.join(missing)}")
        unknown = sorted(set(d) - set(_FIELDS) - set(_OPTIONAL) - {"format", "format_version"})
        if unknown:
            raise RecordError(f"header: unknown field(s): {', '.join(u[:40] for u in unknown[:5])}")
        h = cls(**{f: d[f] for f in _FIELDS}, **{f: d[f] for f in _OPTIONAL if f in d})
        h.check()
        return h

    def check(self) -> None:
        """RecordError for the first invalid field."""
        check_name(self.name)
        if (
            not isinstance(self.policy, str)
            or not 0 < len(self.policy) <= MAX_SPEC
            or not self.policy.isprintable()
        ):
            raise RecordError(f"header: policy must be a printable spec of 1..{MAX_SPEC} characters")
        if self.policy_sha256 is not None and not (isinstance(self.policy_sha256, str)
                                                   and SHA_RE.fullmatch(self.policy_sha256)):
            raise RecordError("header: policy_sha256 must be null or 64 lowercase hex digits")
        if self.policy_files_sha256 is not None and not (isinstance(self.policy_files_sha256, str)
                                                         and SHA_RE.fullmatch(self.policy_files_sha256)):
            raise RecordError("header: policy_files_sha256 must be null or 64 lowercase hex digits")
        if not isinstance(self.trained_on_test, bool):
            raise RecordError("header: trained_on_test must be true or false")
        if not isinstance(self.description, str) or len(self.description) > MAX_DESCRIPTION:
            raise RecordError(f"header: description must be a string of at most {MAX_DESCRIPTION} characters")
        if self.suite is not None and not (isinstance(self.suite, str) and NAME_RE.fullmatch(self.suite)):
            raise RecordError("header: suite must be null or a suite name")
        if not isinstance(self.a2gym_version, str) or not VERSION_RE.match(self.a2gym_version):
            raise RecordError(
                f"header: a2gym_version {str(self.a2gym_version)[:40]!r} is not a version number"
            )
