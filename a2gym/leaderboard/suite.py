"""The fixed test suites of the leaderboard (``a2-test-v1``, the ranked one; ``a2-test-v0``, kept replayable)
and the published validation split ``a2-val-v1`` (for tuning; never ranked).

``a2-test-v1`` has 12 scenarios in four size tiers, shared by every env: ``small`` (8 request classes),
``medium`` (24), ``paper`` (54: ``paper-default-v0`` itself and two generated ones of its size) and
``large`` (120). The facility set (K=9 regions, M=8 models, D=15 data versions, H=2 instance types)
is the paper default's in every scenario, so an env's action space is the same on all of them and one
trained agent plays the whole suite (GeoServe's observation lists classes: ``max_classes=128`` pads
it). Every env refuses masked actions (``invalid_action="raise"``, stored in each record's env kwargs).
``a2gym/GeoServe-v1`` joined after the files were pinned, on the same scenarios (none changed); its
reference is the reactive re-solve (the env's reward normaliser). To add another env, add a
:class:`SuiteEntry` in :func:`_v1_entries` and rerun ``scripts/build_suite.py``; the scorer computes its
reserved rows like the others'.

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
from collections.abc import Mapping
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


GEOSERVE_MAX_CLASSES = 64
"""GeoServe's ``max_classes`` in the suite (>= every GeoServe test scenario's |R|): train with the same."""


def _uris(env: str, n: int) -> tuple[str, ...]:
    return tuple(f"scenario://a2-test-v0/{env}-{j}" for j in range(n))


A2_TEST_V0 = Suite(
    name="a2-test-v0",
    entries=(
        SuiteEntry("a2gym/Placement-v0", {}, _uris("placement", 3)),
        SuiteEntry("a2gym/Scheduling-v0", {}, _uris("scheduling", 3)),
        SuiteEntry("a2gym/GeoServe-v0", {"max_classes": GEOSERVE_MAX_CLASSES}, _uris("geoserve", 2)),
    ),
)

SAME_SPACES = "regions=9&models=8&datas=15&types=2"
"""Set sizes of every generated suite scenario: those of ``paper-default-v0`` (K=9, M=8, D=15, H=2), so
the action and observation spaces of an env are the same on all its test scenarios and one trained
agent plays them all (GeoServe's observation also lists classes: ``max_classes`` pads it)."""

SOURCES: dict[str, str] = {
    "a2-test-v0/placement-0": "scenario://paper-default-v0",
    "a2-test-v0/placement-1": f"generator://synth-v0/101?classes=20&{SAME_SPACES}",
    "a2-test-v0/placement-2": f"generator://synth-v0/102?classes=80&{SAME_SPACES}",
    "a2-test-v0/scheduling-0": "scenario://paper-default-v0",
    "a2-test-v0/scheduling-1": f"generator://synth-v0/201?classes=20&{SAME_SPACES}",
    "a2-test-v0/scheduling-2": f"generator://synth-v0/202?classes=80&{SAME_SPACES}",
    "a2-test-v0/geoserve-0": "scenario://paper-default-v0",
    "a2-test-v0/geoserve-1": f"generator://synth-v0/301?classes=30&{SAME_SPACES}",
}

TIERS: dict[str, tuple[int, tuple[int, ...]]] = {
    "small": (8, (1101, 1102, 1103)),
    "medium": (24, (1201, 1202, 1203)),
    "paper": (54, (0, 1302, 1303)),  # seed 0 stands for paper-default-v0 itself
    "large": (120, (1401, 1402, 1403)),
}
"""Size tier -> (request classes, generator seeds of its test scenarios) of ``a2-test-v1``."""

VALIDATION_SEEDS = {"small": 2101, "medium": 2201, "paper": 2301, "large": 2401}
"""Size tier -> generator seed of its ``a2-val-v1`` scenario (published for tuning)."""


def _tier_source(classes: int, seed: int) -> str:
    return "scenario://paper-default-v0" if seed == 0 else f"generator://synth-v0/{seed}?classes={classes}&{SAME_SPACES}"


for _tier, (_classes, _seeds) in TIERS.items():
    for _j, _seed in enumerate(_seeds):
        SOURCES[f"a2-test-v1/{_tier}-{_j}"] = _tier_source(_classes, _seed)
    SOURCES[f"a2-val-v1/{_tier}-0"] = _tier_source(_classes, VALIDATION_SEEDS[_tier])
"""Bundled suite scenario name -> the URI it was exported from by ``scripts/build_suite.py``."""

GEOSERVE_MAX_CLASSES_V1 = 128
"""GeoServe's ``max_classes`` in ``a2-test-v1`` and ``a2-val-v1`` (>= the large tier's 120 classes)."""


def _v1_uris(split: str) -> tuple[str, ...]:
    return tuple(f"scenario://{n}" for n in SOURCES if n.startswith(f"{split}/"))


STRICT = {"invalid_action": "raise"}
"""How the v1 suites' envs treat a masked action: refuse it (``ActionError``), so a record's replay is
exact and an entry cannot gain from an action the mask forbids. Stored in every record's env kwargs."""


def _v1_entries(split: str) -> tuple[SuiteEntry, ...]:
    uris = _v1_uris(split)
    return (SuiteEntry("a2gym/Placement-v0", dict(STRICT), uris),
            SuiteEntry("a2gym/Scheduling-v0", dict(STRICT), uris),
            SuiteEntry("a2gym/GeoServe-v0", {**STRICT, "max_classes": GEOSERVE_MAX_CLASSES_V1,
                                             "action_type": "multidiscrete"}, uris),
            SuiteEntry("a2gym/GeoServe-v1", {**STRICT, "max_classes": GEOSERVE_MAX_CLASSES_V1}, uris))


A2_TEST_V1 = Suite(name="a2-test-v1", entries=_v1_entries("a2-test-v1"))
A2_VAL_V1 = Suite(name="a2-val-v1", entries=_v1_entries("a2-val-v1"), ranked=False)
RANKED_SUITE = A2_TEST_V1.name
"""The suite ``LEADERBOARD.md`` ranks."""

SUITES: dict[str, Suite] = {s.name: s for s in (A2_TEST_V0, A2_TEST_V1, A2_VAL_V1)}


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


OPTIMUM_FILE = "a2-test-v1.optimum.json"
"""The optimum file of ``a2-test-v1`` in ``a2gym/data/scenarios`` (written by ``scripts/build_suite.py``)."""

OPTIMUM_SHA256 = "f2af9baa4e36b4622bb6a1a3f1815b36d40c1aabbacec52b847d6cf507f67d8d"
"""SHA-256 of :data:`OPTIMUM_FILE`; the leaderboard refuses a file that does not match."""
