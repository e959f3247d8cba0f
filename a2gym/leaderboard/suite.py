"""The fixed test suites of the leaderboard (``a2-test-v1``, the ranked one; ``a2-test-v0``, kept replayable)
and the published validation split ``a2-val-v1`` (for tuning; never ranked).

Suites are data: each is one file ``a2gym/data/suites/<name>.json`` (:data:`SUITE_DIR`), read and checked by
:func:`load_suite_file`; adding a suite is adding a file. A file holds (``format: "a2gym-suite"``, version 1):
``name``, ``description``, ``ranked``, ``default_seeds``, ``seed_base``; ``scenarios``: bundled scenario name
-> the URI ``scripts/build_suite.py`` exported it from; ``envs``: per env its id, its ``make`` kwargs and the
names of the scenarios it plays; optionally ``tiers`` (size tier -> classes and generator seeds) and
``optimum`` (the optimum file's name and SHA-256, which ``scripts/build_suite.py`` writes here).

``a2-test-v1`` has 12 scenarios in four size tiers, shared by every env: ``small`` (8 request classes),
``medium`` (24), ``paper`` (54: ``paper-default-v0`` itself and two generated ones of its size) and
``large`` (120). The facility set (K=9 regions, M=8 models, D=15 data versions, H=2 instance types)
is the paper default's in every scenario, so an env's action space is the same on all of them and one
trained agent plays the whole suite (GeoServe's observation lists classes: ``max_classes=128`` pads
it). Every env refuses masked actions (``invalid_action="raise"``, stored in each record's env kwargs).
The capacity env (``a2gym/GeoServeCapacity-v0``, formerly ``a2gym/GeoServe-v1``) joined after the files were
pinned, on the same scenarios (none changed); its reference is the target-tracking autoscaler (the env's
reward normaliser), with the reactive re-solve as a reserved row. To add another env, add it to the
``envs`` of ``a2-test-v1.json`` and ``a2-val-v1.json`` and rerun ``scripts/build_suite.py``; the scorer
computes its reserved rows like the others'.

A suite lists, per env, the ``gymnasium.make`` kwargs and the bundled scenario files
(``scenario://a2-test-v0/<env>-<n>``, pinned by SHA-256 in ``a2gym/data/scenarios/MANIFEST.json``),
and the rule that gives the evaluation seeds. Scenario files are frozen copies: ``SOURCES`` says where
each one was exported from (by ``scripts/build_suite.py``), but once bundled the file, not its source,
is the test scenario; a changed file fails to load.

Seed rule: an entry evaluated with ``n`` seeds (``n >= MIN_SEEDS``) runs every scenario with the seeds
``seed_base, seed_base + 1, ..., seed_base + n - 1`` (:meth:`Suite.seeds`). The base is far from the
small seeds training scripts use by default.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from a2gym.errors import RecordError

MIN_SEEDS = 5
MAX_SEEDS = 1000
"""Most seeds per scenario a run may ask for (``--seeds``)."""


@dataclasses.dataclass(frozen=True)
class SuiteEntry:
    """One env of a suite: its id, its ``make`` kwargs (besides ``scenario``) and its scenario URIs."""

    env_id: str
    env_kwargs: Mapping[str, Any]
    scenarios: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Suite:
    """A named, fixed test suite: entries per env, a default seed count and the seed rule."""

    name: str
    entries: tuple[SuiteEntry, ...]
    default_seeds: int = MIN_SEEDS
    seed_base: int = 10_000
    ranked: bool = True
    """False for a validation split: it can be evaluated but the leaderboard does not rank it."""

    def seeds(self, n: int | None = None) -> list[int]:
        """The evaluation seeds for ``n`` seeds per scenario (default ``default_seeds``, at least
        MIN_SEEDS)."""
        n = self.default_seeds if n is None else n
        if n > MAX_SEEDS:
            raise RecordError(f"suite {self.name}: {n} seeds is too many (at most {MAX_SEEDS}, "
                              "a2gym.leaderboard.suite.MAX_SEEDS)")
        if n < MIN_SEEDS:
            raise RecordError(f"suite {self.name}: {n} seeds is too few (at least {MIN_SEEDS})")
        return [self.seed_base + j for j in range(n)]

    def entry(self, env_id: str) -> SuiteEntry:
        """The entry of ``env_id``; RecordError if the suite has none."""
        for e in self.entries:
            if e.env_id == env_id:
                return e
        raise RecordError(f"suite {self.name} has no env {env_id!r} (envs: {', '.join(self.env_ids)})")

    @property
    def env_ids(self) -> tuple[str, ...]:
        return tuple(e.env_id for e in self.entries)

    def episodes(self, n_seeds: int | None = None, env_ids: tuple[str, ...] | None = None
                 ) -> list[tuple[SuiteEntry, str, int]]:
        """Every (entry, scenario URI, seed) to run, in a fixed order."""
        return [(e, uri, seed) for e in self.entries if env_ids is None or e.env_id in env_ids
                for uri in e.scenarios for seed in self.seeds(n_seeds)]

    def is_seed(self, seed: int) -> bool:
        """Whether ``seed`` follows the seed rule (any count of seeds)."""
        return seed >= self.seed_base


SUITE_DIR = Path(__file__).resolve().parents[1] / "data" / "suites"
"""Where the suite files live (in the package: read at import, never written at run time)."""

FORMAT = "a2gym-suite"
FORMAT_VERSION = 1
_KEYS = {"format", "format_version", "name", "description", "ranked", "default_seeds", "seed_base",
         "scenarios", "envs", "tiers", "optimum", "reserved"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")


def _need(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise RecordError(f"suite file {path.name}: {what}")


def load_suite_file(path: str | Path) -> tuple[Suite, dict[str, Any]]:
    """The :class:`Suite` of one suite file and the file's content; RecordError naming the file and the
    field for anything malformed (unknown or missing keys, wrong types, an env naming a scenario the file
    does not list, a name that is not the file's)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"suite file {p.name} cannot be read: {e}") from None
    _need(isinstance(doc, dict), p, "is not a JSON object")
    _need(doc.get("format") == FORMAT and doc.get("format_version") == FORMAT_VERSION, p,
          f"format must be {FORMAT!r} version {FORMAT_VERSION}")
    _need(not set(doc) - _KEYS, p, f"unknown keys {sorted(set(doc) - _KEYS)}")
    name = doc.get("name")
    _need(isinstance(name, str) and bool(_NAME.match(name)) and p.stem == name, p,
          f"name {name!r} must match [a-z0-9.-] and the file name")
    _need(isinstance(doc.get("ranked"), bool), p, "'ranked' must be true or false")
    for k in ("default_seeds", "seed_base"):
        v = doc.get(k)
        ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**9
        _need(ok, p, f"{k!r} must be an integer in 0..1e9")
    _need(MIN_SEEDS <= doc["default_seeds"] <= MAX_SEEDS, p,
          f"default_seeds must be in {MIN_SEEDS}..{MAX_SEEDS}")
    sources = doc.get("scenarios")
    named = isinstance(sources, dict) and all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in sources.items())
    _need(named and bool(sources), p, "'scenarios' must map scenario names to source URIs")
    envs = doc.get("envs")
    _need(isinstance(envs, list) and bool(envs), p, "'envs' must be a non-empty list")
    entries = []
    for j, e in enumerate(envs):
        _need(isinstance(e, dict) and set(e) == {"env_id", "env_kwargs", "scenarios"}, p,
              f"envs[{j}] must have exactly env_id, env_kwargs and scenarios")
        _need(isinstance(e["env_id"], str) and isinstance(e["env_kwargs"], dict), p, f"envs[{j}]: bad types")
        names = e["scenarios"]
        _need(isinstance(names, list) and bool(names) and all(n in sources for n in names), p,
              f"envs[{j}] ({e['env_id']}) names a scenario the file does not list")
        uris = tuple(f"scenario://{n}" for n in names)
        entries.append(SuiteEntry(e["env_id"], dict(e["env_kwargs"]), uris))
    _need(len({e.env_id for e in entries}) == len(entries), p, "an env is listed twice")
    for key in ("optimum", "reserved"):
        pin = doc.get(key)
        _need(pin is None or (isinstance(pin, dict) and set(pin) == {"file", "sha256"}), p,
              f"{key!r} must hold exactly 'file' and 'sha256'")
    suite = Suite(name, tuple(entries), doc["default_seeds"], doc["seed_base"], doc["ranked"])
    return suite, doc


def _load_all() -> dict[str, tuple[Suite, dict[str, Any]]]:
    out = {}
    for path in sorted(SUITE_DIR.glob("*.json")):
        suite, doc = load_suite_file(path)
        out[suite.name] = (suite, doc)
    return out


_FILES = _load_all()
SUITES: dict[str, Suite] = {name: suite for name, (suite, _) in _FILES.items()}
"""Every suite of :data:`SUITE_DIR`, by name."""

A2_TEST_V0 = SUITES["a2-test-v0"]
A2_TEST_V1 = SUITES["a2-test-v1"]
A2_VAL_V1 = SUITES["a2-val-v1"]
RANKED_SUITE = A2_TEST_V1.name
"""The suite ``LEADERBOARD.md`` ranks."""

SOURCES: dict[str, str] = {n: uri for _, doc in _FILES.values() for n, uri in doc["scenarios"].items()}
"""Bundled suite scenario name -> the URI it was exported from by ``scripts/build_suite.py``."""

TIERS: dict[str, tuple[int, tuple[int, ...]]] = {
    t: (v["classes"], tuple(v["generator_seeds"])) for t, v in _FILES["a2-test-v1"][1]["tiers"].items()}
"""Size tier -> (request classes, generator seeds of its test scenarios) of ``a2-test-v1`` (seed 0 stands for
``paper-default-v0`` itself)."""

STRICT = {"invalid_action": "raise"}
"""How the v1 suites' envs treat a masked action: refuse it (``ActionError``), so a record's replay is
exact and an entry cannot gain from an action the mask forbids. Stored in every record's env kwargs."""

CAPACITY_ENV = "a2gym/GeoServeCapacity-v0"
"""The capacity env of the v1 suites. Until 0.2.0 it was ``a2gym/GeoServe-v1`` (the same dynamics,
normalised by the reactive re-solve); records under that id still replay (its retired id maps to this env
with ``normaliser="reactive"``), and the committed entry was re-executed on this id."""

GEOSERVE_MAX_CLASSES_V1 = 128
"""GeoServe's ``max_classes`` in ``a2-test-v1`` and ``a2-val-v1`` (>= the large tier's 120 classes)."""


def tier_of(uri: str) -> str:
    """The size tier of an ``a2-test-v1``/``a2-val-v1`` scenario URI (``small``…), else ``""``."""
    name = uri.rsplit("/", 1)[-1]
    tier = name.rsplit("-", 1)[0]
    return tier if tier in TIERS else ""


def get_suite(name: str) -> Suite:
    """The suite called ``name``; RecordError listing the known suites otherwise."""
    try:
        return SUITES[name]
    except KeyError:
        raise RecordError(f"unknown suite {name!r} (known: {', '.join(SUITES)})") from None


def optimum_pin(name: str = "a2-test-v1") -> tuple[str, str]:
    """(optimum file name in ``a2gym/data/scenarios``, its pinned SHA-256) of suite ``name``."""
    opt = _FILES[name][1].get("optimum")
    if opt is None:
        raise RecordError(f"suite {name} has no optimum file")
    return opt["file"], opt["sha256"]


def reserved_pin(name: str) -> tuple[str, str] | None:
    """(reserved-rows file name in ``a2gym/data/scenarios``, its pinned SHA-256) of suite ``name``, or None
    when the suite pins none (its reserved rows are then computed by every build)."""
    pin = _FILES[name][1].get("reserved") if name in _FILES else None
    return None if pin is None else (pin["file"], pin["sha256"])


OPTIMUM_FILE, OPTIMUM_SHA256 = optimum_pin()
"""The optimum file of ``a2-test-v1`` in ``a2gym/data/scenarios`` and its SHA-256, from the suite file
(written there by ``scripts/build_suite.py``); the leaderboard refuses a file that does not match."""
