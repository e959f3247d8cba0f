"""Scenario source of an env: a fixed scenario, or a fresh generated one per reset (generalisation).

Spaces must not change between episodes, so a source fixes the set sizes K, M, D, H (and a maximum
number of classes, for observations that list classes) from its first scenario; any later scenario that
does not fit raises :class:`~a2gym.errors.ScenarioError` naming the size.
"""

from __future__ import annotations

import numpy as np

from a2gym.checks import is_bool, is_int
from a2gym.costmodel import load_scenario
from a2gym.errors import ScenarioError
from a2gym.scenario import Scenario
from a2gym.scenario.uri import GENERATOR_SCHEME, GeneratorURI

SEED_HIGH = 2**31 - 1  # generated seeds are drawn from [0, SEED_HIGH)


MAX_ENV_CLASSES = 10_000
"""Most request classes an env takes (the bundled scenarios have at most 120; an env's set-up is
quadratic-ish in |R|, 1e5 classes took a minute and 2.9 GB). The generator alone goes to 1e6."""


class ScenarioSource:
    """Where an env's scenarios come from.

    Args:
        scenario: URI (``scenario://…``, ``generator://…``), file path or :class:`Scenario`.
        resample: draw ``generator://NAME/<seed>?<same parameters>`` with a seed from the reset's
            ``np_random`` at every reset (needs a ``generator://`` URI).
        max_classes: room for classes in observations (default: the first scenario's |R|).
    """

    def __init__(self, scenario: str | Scenario, resample: bool = False, max_classes: int | None = None):
        if not is_bool(resample):
            raise ScenarioError(f"resample = {resample!r} must be True or False")
        if max_classes is not None and not is_int(max_classes):
            raise ScenarioError(f"max_classes = {max_classes!r} must be an integer >= 1 or None")
        self.uri = scenario.uri if isinstance(scenario, Scenario) else str(scenario)
        self.resample = bool(resample)
        self._gen: GeneratorURI | None = None
        if self.resample:
            if isinstance(scenario, Scenario) or not self.uri.startswith(GENERATOR_SCHEME):
                raise ScenarioError(f"resample=True needs a generator:// URI, got scenario={self.uri!r}")
            self._gen = GeneratorURI.parse(self.uri)
        if max_classes is not None and max_classes > MAX_ENV_CLASSES:
            raise ScenarioError(f"max_classes = {max_classes} is above the cap of {MAX_ENV_CLASSES} classes "
                                "(a2gym.envs.source.MAX_ENV_CLASSES)")
        if isinstance(scenario, str) and scenario.startswith(GENERATOR_SCHEME):  # refuse before generating
            asked = GeneratorURI.parse(scenario).kwargs.get("n_classes", 0)
            if asked > MAX_ENV_CLASSES:
                raise ScenarioError(f"{scenario!r:.120} asks for {asked} classes, above the cap of "
                                    f"{MAX_ENV_CLASSES} an env takes (a2gym.envs.source.MAX_ENV_CLASSES)")
        self.first = load_scenario(scenario)
        s = self.first
        self.sizes = (s.n_regions, s.n_models, s.n_data_versions, s.n_instance_types)
        self.max_classes = s.n_classes if max_classes is None else int(max_classes)
        if self.max_classes < 1:
            raise ScenarioError(f"max_classes = {max_classes!r} must be >= 1")
        self.check(s)

    @property
    def n_facilities(self) -> int:
        K, M, _, H = self.sizes
        return K * M * H

    def draw(self, rng: np.random.Generator) -> Scenario:
        """The scenario of a new episode: the fixed one, or a generated one seeded from ``rng``."""
        if self._gen is None:
            return self.first
        return self.load(self._gen.with_seed(int(rng.integers(SEED_HIGH))))

    def load(self, uri: str | Scenario) -> Scenario:
        """Load ``uri`` (reset's ``options["scenario"]``) and check it fits the env's spaces."""
        s = load_scenario(uri)
        self.check(s)
        return s

    def check(self, s: Scenario) -> None:
        got = (s.n_regions, s.n_models, s.n_data_versions, s.n_instance_types)
        for name, want, have in zip(("regions", "models", "data versions", "instance types"), self.sizes, got,
                                    strict=True):
            if want != have:
                raise ScenarioError(
                    f"scenario {s.name!r} has {have} {name}, but this env's spaces were built "
                    f"for {want}; make a new env for it"
                )
        if s.n_classes > MAX_ENV_CLASSES:
            raise ScenarioError(f"scenario {s.name!r} has {s.n_classes} classes, above the cap of "
                                f"{MAX_ENV_CLASSES} an env takes (a2gym.envs.source.MAX_ENV_CLASSES)")
        if s.n_classes > self.max_classes:
            raise ScenarioError(
                f"scenario {s.name!r} has {s.n_classes} classes > max_classes = {self.max_classes}"
            )
