"""One cache for values derived from immutable objects (a scenario, a cost model).

A :class:`~a2gym.scenario.Scenario` or a :class:`~a2gym.costmodel.CostModel` never changes after it is
built, so what is derived from it (its cost model, the reference plan, an env's tables) can be computed
once and kept with it.  :func:`cached_on` keeps such values in one private attribute of the object,
so they live exactly as long as the object does (no global registry, nothing to invalidate by hand).

Two rules make it safe with copies:

- A copy (``copy.copy``, ``copy.deepcopy``, unpickling) starts with an empty cache: the cache records
  which object it belongs to, so a copy whose attributes were then replaced (e.g. the restricted view
  of a cost model) never sees its parent's values.
- ``depends_on``: a value may also name the object it was derived from (e.g. ``cm.feasible``); it is
  recomputed when that attribute is no longer the same object.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["cached_on", "clear_cache"]

T = TypeVar("T")
_SLOT = "_a2gym_derived"
_MISSING = object()


def cached_on(owner: object, key: Hashable, compute: Callable[[], T], *, depends_on: object = None) -> T:
    """``compute()`` once per (``owner`` object, ``key``), kept on ``owner`` for later calls.

    Args:
        owner: the immutable object the value is derived from (must have a ``__dict__``; frozen
            dataclasses are fine: the cache bypasses their ``__setattr__``, not their fields).
        key: names the derived value (with its parameters, e.g. ``("slot_view", 0.25)``).
        compute: builds the value; called at most once per owner, key and ``depends_on``.
        depends_on: the value is recomputed when this object (compared by identity) changes.
    """
    state = vars(owner)
    mine = state.get(_SLOT)
    if mine is None or mine[0] != id(owner):  # absent, or copied from another object
        mine = (id(owner), {})
        state[_SLOT] = mine
    hit = mine[1].get(key, _MISSING)
    if hit is not _MISSING and hit[0] is depends_on:
        return hit[1]
    value = compute()
    mine[1][key] = (depends_on, value)
    return value


def clear_cache(owner: object) -> None:
    """Forget every value cached on ``owner`` (e.g. before pickling it small)."""
    vars(owner).pop(_SLOT, None)
