"""Registers the a2gym envs in Gymnasium's ``a2gym`` namespace (idempotent) and finds an env's spec.

Every env is one package ``a2gym/envs/<name>/`` exporting ``SPEC`` (:class:`~a2gym.envs.spec.EnvSpec`);
:data:`PACKAGES` lists the library's own, and :func:`register_spec` adds any other (an env defined outside
the library, or in a test) to the same registry, which everything that asks about an env reads.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import gymnasium as gym

from a2gym.envs.base import DEFAULT_SCENARIO, MAX_EPISODE_STEPS
from a2gym.envs.spec import EnvSpec, load_object

PACKAGES = ("placement", "scheduling", "geoserve", "geoserve_capacity")
"""The env packages of the library (``a2gym.envs.<name>``), in the order their ids are registered."""

SPECS: dict[str, EnvSpec] = {}
"""Every registered env's spec, by id (filled by :func:`register_envs` and :func:`register_spec`)."""

LEGACY_IDS: dict[str, tuple[str, dict[str, str]]] = {
    "a2gym/GeoServe-v1": ("a2gym/GeoServeCapacity-v0", {"normaliser": "reactive"}),
}
"""Ids that were registered once and are no longer (so Gymnasium does not call their namesakes out of date):
old id -> (the id and the kwargs that make the same env). ``a2gym/GeoServe-v1`` was the capacity problem
with the reactive re-solve as its normaliser; it is not a newer GeoServe-v0, so it moved to its own name
(0.2.0). The leaderboard maps these ids when it replays or re-executes a record
(:func:`resolve_env_id`); ``gymnasium.make`` does not know them."""


def resolve_env_id(env_id: str, kwargs: dict | None = None) -> tuple[str, dict]:
    """(registered id, make kwargs) for ``env_id``, mapping a :data:`LEGACY_IDS` id to its successor
    (its kwargs first, so a record's own kwargs still win)."""
    kwargs = dict(kwargs or {})
    if env_id in LEGACY_IDS:
        new_id, extra = LEGACY_IDS[env_id]
        return new_id, {**extra, **kwargs}
    return env_id, kwargs


def register_spec(spec: EnvSpec) -> None:
    """Add ``spec`` to :data:`SPECS` and register its id with Gymnasium (``scenario`` defaulting to the
    paper's default scenario, at most ``MAX_EPISODE_STEPS`` steps); calling it again changes nothing.
    ValueError if another spec already holds the id."""
    if SPECS.get(spec.id, spec) != spec:
        raise ValueError(f"{spec.id} is registered with another spec")
    SPECS[spec.id] = spec
    if spec.id not in gym.registry:
        gym.register(id=spec.id, entry_point=spec.entry_point, vector_entry_point=spec.vector_entry_point,
                     max_episode_steps=MAX_EPISODE_STEPS, kwargs={"scenario": DEFAULT_SCENARIO})


def unregister_spec(env_id: str) -> None:
    """Remove ``env_id`` from :data:`SPECS` and Gymnasium's registry (for envs registered by a test)."""
    SPECS.pop(env_id, None)
    gym.registry.pop(env_id, None)


def register_envs() -> None:
    """Register every env of :data:`PACKAGES` once; calling it again changes nothing."""
    for name in PACKAGES:
        register_spec(importlib.import_module(f"{__package__}.{name}").SPEC)


def spec_of(env_id: str) -> EnvSpec:
    """The spec of ``env_id`` (a retired id of :data:`LEGACY_IDS`: its successor's); ValueError naming the
    registered ids otherwise."""
    spec = SPECS.get(resolve_env_id(env_id)[0])
    if spec is None:
        raise ValueError(f"{env_id} is not an a2gym env (known: {', '.join(SPECS)})")
    return spec


def spec_of_env(env: Any) -> EnvSpec | None:
    """The spec whose ``env_class`` ``env.unwrapped`` is an instance of (the most derived one), else None.
    Only classes already imported are compared: an env object's class always is."""
    classes = {}
    for spec in SPECS.values():
        if spec.env_class.partition(":")[0] in sys.modules:
            classes[load_object(spec.env_class)] = spec
    for klass in type(getattr(env, "unwrapped", env)).__mro__:
        if klass in classes:
            return classes[klass]
    return None


def __getattr__(name: str) -> Any:
    if name == "ENVS":  # the registry as it was before the specs: id -> (entry point, vector entry point)
        return {k: (s.entry_point, s.vector_entry_point) for k, s in SPECS.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LEGACY_IDS", "PACKAGES", "SPECS", "register_envs", "register_spec", "resolve_env_id", "spec_of",
           "spec_of_env", "unregister_spec"]
