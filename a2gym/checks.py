"""Type checks shared by every validator: one definition of "a real number", "an integer", "a boolean".

Python's ``bool`` is a subclass of ``int``, so ``isinstance(True, int)`` holds; a validator that means
"a number" must exclude it explicitly.  These predicates do, for Python's and numpy's scalar types, so
``seed=True`` or ``time_limit=np.True_`` is refused instead of silently read as 1.  They only answer
yes or no: the caller raises its own error, naming its own field.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["is_bool", "is_finite_real", "is_int", "is_real"]


def is_bool(x: Any) -> bool:
    """``True``/``False`` (Python's or numpy's)."""
    return isinstance(x, bool | np.bool_)


def is_real(x: Any) -> bool:
    """A real number: int or float, Python's or numpy's, but not a bool (NaN and ±inf included)."""
    return isinstance(x, int | float | np.integer | np.floating) and not is_bool(x)


def is_finite_real(x: Any) -> bool:
    """A real number (:func:`is_real`) that is neither NaN nor ±inf."""
    return is_real(x) and math.isfinite(x)


def is_int(x: Any) -> bool:
    """An integer, Python's or numpy's, but not a bool (an integral float such as ``3.0`` is not)."""
    return isinstance(x, int | np.integer) and not is_bool(x)
