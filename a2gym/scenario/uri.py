"""Resolve scenario URIs and paths to :class:`Scenario` objects (cached: scenarios are immutable).

One reader (:func:`read_scenario`), one loader of bundled files (:func:`load_bundled_scenario`) and one
parser of generator URIs (:class:`GeneratorURI`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import urllib.parse
from importlib import resources
from pathlib import Path

from a2gym.errors import ScenarioError
from a2gym.scenario.types import Scenario

SCENARIO_SCHEME = "scenario://"
GENERATOR_SCHEME = "generator://"


def _scenario_dir() -> Path:
    return Path(str(resources.files("a2gym") / "data" / "scenarios"))


def bundled_manifest() -> dict[str, str]:
    """name -> pinned SHA-256 of every bundled scenario file (``data/scenarios/MANIFEST.json``), read
    from disk on every call (no cache: see :func:`load_bundled_scenario` with ``fresh=True``)."""
    path = _scenario_dir() / "MANIFEST.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _manifest() -> dict[str, str]:
    return bundled_manifest()


def bundled_scenario_names() -> list[str]:
    """Names usable as ``scenario://<name>``, e.g. ``paper-default-v0``, ``a2-test-v0/placement-0``."""
    return sorted(_manifest())


def bundled_name(name_or_uri: str) -> str:
    """``scenario://NAME`` or ``NAME`` -> NAME (not checked against the manifest)."""
    return name_or_uri[len(SCENARIO_SCHEME):] if name_or_uri.startswith(SCENARIO_SCHEME) else name_or_uri


def bundled_scenario_path(name_or_uri: str) -> Path:
    """The file of the bundled scenario ``NAME`` (or ``scenario://NAME``), e.g. ``a2-test-v0/placement-0``.

    Raises :class:`~a2gym.errors.ScenarioError` if the manifest does not list it.
    """
    name = bundled_name(name_or_uri)
    if name not in _manifest():
        raise ScenarioError(f"unknown scenario {SCENARIO_SCHEME}{name}; "
                            f"bundled: {', '.join(bundled_scenario_names()) or 'none'}")
    return _scenario_dir() / f"{name}.json"


def load_bundled_scenario(name_or_uri: str, *, fresh: bool = False) -> Scenario:
    """The bundled scenario ``NAME`` (or ``scenario://NAME``), checked against the manifest's SHA-256.

    This is the one way to load a bundled scenario (``load_scenario("scenario://NAME")`` calls it).
    By default the result is cached (one object per name, like every URI); ``fresh=True`` re-reads the
    manifest and the file and returns a new object that shares no cache with anyone (the leaderboard's
    replay uses it so that no earlier episode can have touched the object).  Raises
    :class:`~a2gym.errors.ScenarioError` for an unknown name or a file whose hash is not the pinned one.
    """
    name = bundled_name(name_or_uri)
    if not fresh:
        return _load_cached(SCENARIO_SCHEME + name)
    pinned = bundled_manifest().get(name)
    if pinned is None:
        raise ScenarioError(f"unknown scenario {SCENARIO_SCHEME}{name}; "
                            f"bundled: {', '.join(sorted(bundled_manifest())) or 'none'}")
    return _read_pinned(name, pinned)


def read_scenario(uri_or_path: str | os.PathLike[str] | Scenario) -> Scenario:
    """Read and validate a scenario from a URI or a file path, or pass a :class:`Scenario` through.

    The result is cached per URI (scenarios are immutable).  Whether every class can be served is not
    checked here: that is the cost model's question, asked by :func:`a2gym.load_scenario` (see
    :func:`a2gym.costmodel.load_scenario`), which calls this first.
    """
    if isinstance(uri_or_path, Scenario):
        return uri_or_path
    if not isinstance(uri_or_path, str | os.PathLike):
        raise ScenarioError(f"scenario must be a URI, a path or a Scenario, got {type(uri_or_path).__name__}")
    uri = str(uri_or_path)
    if not uri.strip():
        raise ScenarioError("scenario URI is empty (use scenario://NAME, generator://synth-v0/SEED or a file path)")
    return _load_cached(uri)


@functools.lru_cache(maxsize=64)
def _load_cached(uri: str) -> Scenario:
    if uri.startswith(SCENARIO_SCHEME):
        return _load_bundled(uri[len(SCENARIO_SCHEME):], uri)
    if uri.startswith(GENERATOR_SCHEME):
        return _load_generated(uri)
    if "://" in uri:
        raise ScenarioError(
            f"unknown scenario URI scheme in {uri!r} (use scenario://NAME, generator://synth-v0/SEED or a file path)"
        )
    return Scenario.load(uri)


def _load_bundled(name: str, uri: str) -> Scenario:
    pinned = _manifest().get(name)
    if pinned is None:
        raise ScenarioError(f"unknown scenario {uri!r}; bundled: {', '.join(bundled_scenario_names()) or 'none'}")
    return _read_pinned(name, pinned)


def _read_pinned(name: str, pinned: str) -> Scenario:
    uri = SCENARIO_SCHEME + name
    path = _scenario_dir() / f"{name}.json"
    scn = Scenario.load(path, uri=uri)
    if scn.sha256 != pinned:
        raise ScenarioError(
            f"bundled scenario {uri!r} ({path.name}) has SHA-256 {scn.sha256}, but the manifest pins {pinned}: "
            "the file was changed"
        )
    return scn


_DIGITS = re.compile(r"[0-9]+")
_GEN_PARAMS = {"classes": "n_classes", "regions": "n_regions", "models": "n_models", "datas": "n_data_versions",
               "types": "n_instance_types"}


@dataclasses.dataclass(frozen=True)
class GeneratorURI:
    """A parsed ``generator://NAME/SEED?key=value&…`` URI: the one parser of generator URIs.

    Attributes:
        name: the generator (e.g. ``synth-v0``).  seed: its seed (a non-negative integer).
        query: the ``key=value&…`` part exactly as written (kept verbatim, so a URI rebuilt with
            :meth:`with_seed` differs from the original in the seed only).
        kwargs: the generator's keyword arguments (``classes`` -> ``n_classes``, …), positive integers.
    """

    name: str
    seed: int
    query: str
    kwargs: dict[str, int]

    @classmethod
    def parse(cls, uri: str) -> GeneratorURI:
        """Parse and check ``uri``; :class:`~a2gym.errors.ScenarioError` names what is wrong."""
        if not isinstance(uri, str) or not uri.startswith(GENERATOR_SCHEME):
            raise ScenarioError(f"{uri!r:.200} is not a {GENERATOR_SCHEME}NAME/SEED URI")
        name, seed, kwargs = _parse_generator_uri(uri)
        return cls(name, seed, urllib.parse.urlsplit(uri).query, kwargs)

    def with_seed(self, seed: int) -> str:
        """The URI of the same generator and parameters with another seed."""
        return f"{GENERATOR_SCHEME}{self.name}/{int(seed)}" + (f"?{self.query}" if self.query else "")

    def __str__(self) -> str:
        return self.with_seed(self.seed)


def _parse_generator_uri(uri: str) -> tuple[str, int, dict[str, int]]:
    parsed = urllib.parse.urlsplit(uri)
    name = parsed.netloc
    if parsed.fragment or "#" in uri:
        raise ScenarioError(f"generator URI {uri!r}: a '#' fragment is not allowed")
    seed_s = parsed.path.strip("/")
    if not _DIGITS.fullmatch(seed_s):  # ASCII digits only: int() would also take '+1', '1_0', ' 1', '१'
        raise ScenarioError(f"generator URI {uri!r}: seed {seed_s!r} must be a non-negative integer")
    seed = int(seed_s)
    kwargs: dict[str, int] = {}
    for key, values in urllib.parse.parse_qs(parsed.query, keep_blank_values=True, strict_parsing=False).items():
        if key not in _GEN_PARAMS:
            raise ScenarioError(f"generator URI {uri!r}: unknown parameter {key!r} (known: {', '.join(_GEN_PARAMS)})")
        if len(values) != 1:
            raise ScenarioError(f"generator URI {uri!r}: parameter {key!r} given {len(values)} times")
        if not _DIGITS.fullmatch(values[0]) or int(values[0]) < 1:
            raise ScenarioError(f"generator URI {uri!r}: {key}={values[0]!r} must be a positive integer")
        v = int(values[0])
        kwargs[_GEN_PARAMS[key]] = v
    return name, seed, kwargs


def _load_generated(uri: str) -> Scenario:
    from a2gym.scenario import generator

    g = GeneratorURI.parse(uri)
    if g.name not in generator.GENERATORS:
        raise ScenarioError(f"unknown generator {g.name!r} in {uri!r} (known: {', '.join(generator.GENERATORS)})")
    scn = generator.GENERATORS[g.name](g.seed, **g.kwargs)
    object.__setattr__(scn, "uri", uri)
    return scn
