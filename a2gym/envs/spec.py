"""What the library knows of one env, in one place: :class:`EnvSpec`.

Each env package ``a2gym/envs/<name>/`` exports one ``SPEC`` (an :class:`EnvSpec`, in its ``spec.py``):
its Gymnasium id and entry points, its reference policy and modes, its target-to-action adaptor, whether an
episode depends on the reset seed, what its optimum row is, and the kwargs of a short episode for tests.
Registration (:mod:`a2gym.envs.registration`), the reference policy (:func:`a2gym.policies.reference_policy`),
the heuristics' target policies (:func:`a2gym.heuristics.target_policy`), the leaderboard's reserved rows and
``scripts/build_suite.py`` read the spec instead of matching env-id strings, so a new env is one new package
(and :func:`a2gym.envs.registration.register_spec` for an env defined outside the library).

A spec names code by ``"module:attribute"`` strings (as Gymnasium's entry points do), so reading the specs,
which ``import a2gym`` does, imports no env module.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

EPOCH_OPTIMUM = "epoch"
"""Optimum row: the A2-MILP optimum of the scenario's epoch (one plan per epoch: Placement, Scheduling)."""
SLOT_BOUNDS = "slot-bounds"
"""Optimum row: the sum of per-slot lower bounds on the episode's demand (GeoServe-v0)."""
OPTIMUM_KINDS = (EPOCH_OPTIMUM, SLOT_BOUNDS)


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """One a2gym env, as the library sees it (see the module docstring).

    Attributes:
        id: the Gymnasium id (``"a2gym/Placement-v0"``).
        kind: the problem the env poses (``"placement"``, ``"scheduling"``, ``"geoserve"``): what
            :attr:`a2gym.heuristics.PolicyContext.kind` reports to a policy.
        entry_point: ``"module:callable"`` that ``gymnasium.make`` calls.
        env_class: ``"module:Class"`` of the env object ``env.unwrapped`` is an instance of (subclasses too):
            how an env object finds its spec (:func:`a2gym.envs.registration.spec_of_env`).
        reference: ``"module:function"``, ``function(env, mode) -> policy(obs, info)``: the reference solver
            acting through the env (``env`` unwrapped; ``mode`` None for the default).
        vector_entry_point: ``"module:Class"`` of the numpy vector env, or None (``gymnasium.make_vec`` then
            wraps copies of the single env).
        reference_modes: the reference's named modes, the default first; () when it has one reference and
            takes no mode.
        reserved_modes: reference modes the leaderboard scores as reserved rows of their own, besides the
            reference (a row is named after its mode: ``"oracle"``, ``"reactive"``, ``"forecast"``).
        target_adaptor: ``"module:function"``, ``function(action_space, scenario, target) -> policy``, where
            ``target()`` returns (facility per class, data version per class): the env's one
            target-to-action rule, which the heuristics and the paper's restricted baselines play through;
            None when the env's actions cannot express such a target (the paper rows are then not scored).
        seed_free: True when an episode does not depend on the reset seed (one plan per epoch), so a
            policy's cost on a scenario is computed once for every seed.
        optimum: what the optimum row is (:data:`EPOCH_OPTIMUM`, :data:`SLOT_BOUNDS`), or None for no row.
        hindsight: True when the suite's optimum file holds the env's hindsight days (``hindsight`` rows).
        hyperparams_section: the section of ``agents/hyperparams/<algo>.yml`` the training scripts use
            for the env by default (None: the env id).
        short_kwargs: ``make`` kwargs that give a short episode (the generic env tests use them).
        violations: True when ``info["violations"]`` may be non-zero under a valid policy (SLO misses,
            requests beyond ready capacity); False for envs that never violate.
    """

    id: str
    kind: str
    entry_point: str
    env_class: str
    reference: str
    vector_entry_point: str | None = None
    reference_modes: tuple[str, ...] = ()
    reserved_modes: tuple[str, ...] = ()
    target_adaptor: str | None = None
    seed_free: bool = False
    optimum: str | None = None
    hindsight: bool = False
    hyperparams_section: str | None = None
    short_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    violations: bool = False

    def __post_init__(self) -> None:
        if not set(self.reserved_modes) <= set(self.reference_modes):
            raise ValueError(f"{self.id}: reserved_modes {self.reserved_modes} must be reference modes "
                             f"{self.reference_modes}")
        if self.optimum not in (None, *OPTIMUM_KINDS):
            raise ValueError(f"{self.id}: optimum = {self.optimum!r} must be None or one of {OPTIMUM_KINDS}")
        for name in ("entry_point", "env_class", "reference", "vector_entry_point", "target_adaptor"):
            ref = getattr(self, name)
            if ref is not None and ref.count(":") != 1:
                raise ValueError(f"{self.id}: {name} = {ref!r} must be 'module:attribute'")

    @property
    def hyperparams(self) -> str:
        """The hyperparameter section the training scripts look up for this env."""
        return self.hyperparams_section or self.id

    def reference_policy(self, env: Any, mode: str | None = None) -> Any:
        """The reference policy of ``env`` (an env object of this spec) in ``mode``."""
        return load_object(self.reference)(env, mode)


def load_object(ref: str) -> Any:
    """The object a ``"module:attribute"`` string names (the module imported on first use)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def forward_attributes(package: str) -> Callable[[str], Any]:
    """A package-level ``__getattr__`` for an env package: a submodule of ``package`` by its name, any
    other name from ``package.env`` (both imported on first use). So ``from a2gym.envs.placement import
    PlacementEnv`` works while importing the package (to read its spec) imports no env."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
        return getattr(importlib.import_module(f"{package}.env"), name)

    return __getattr__


__all__ = ["EPOCH_OPTIMUM", "OPTIMUM_KINDS", "SLOT_BOUNDS", "EnvSpec", "forward_attributes", "load_object"]
