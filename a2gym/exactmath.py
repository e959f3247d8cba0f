"""Floats that are the same bits on every machine: correctly rounded functions and canonical draws.

A ``generator://`` URI names one scenario everywhere, so everything the generator and the physics
builders compute must give the same IEEE-754 doubles on every CPU, libm and numpy build. Three kinds of
operation are used, and this module is the one place that knows which is which:

* **Basic arithmetic** (``+ - * /``, ``sqrt``, comparisons, ``np.round``, ``np.square``) done with numpy
  ufuncs, one operation per ufunc call: IEEE-754 rounds each result correctly on every CPU, and numpy's
  SIMD paths for these are exact. Never through compiled expressions that a compiler may contract into a
  fused multiply-add (numpy's ``np.interp`` and the C code of ``Generator.uniform`` / ``lognormal`` are
  such code on some platforms), hence :func:`interp` and :func:`uniform` below.
* **Transcendental functions** (``exp``, ``log``, ``log2``): numpy dispatches these to CPU-specific SIMD
  kernels (AVX-512 builds use other polynomials than AVX2 builds, accurate to 1-4 ulp), and the C library's
  versions differ between platforms. Here they are **correctly rounded**: evaluated with Python's
  :mod:`decimal` at :data:`DIGITS` significant digits (``Decimal.exp`` and ``Decimal.ln`` are correctly
  rounded by specification) from the exact value of the input double, then rounded once to the nearest
  double, which is the one answer every machine agrees on. Cost: about 15 µs (exp) and 35 µs (log) per
  element; the generator applies them to O(R + M·D) values.
* **Random draws** come from ``np.random.Generator`` outputs that are integers or ``k·2⁻⁵³`` (``random``,
  ``integers``, ``permutation``, ``choice``, ``standard_normal``), which NumPy computes with integer and
  exactly rounded arithmetic; affine maps and ``exp`` are applied here, not by numpy's C distributions.

``round_half_safe`` rounds to whole numbers from a fast numpy ``exp`` and recomputes correctly rounded only
the values that lie within :data:`HALF_MARGIN` (relative) of a ``.5`` boundary, where a last-ulp difference
could change the rounded result: the same integers as rounding the correctly rounded values, at numpy speed.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable

import numpy as np

DIGITS = 40
"""Significant decimal digits of the intermediate result before the final rounding to a double (53 bits
are about 16 digits, so a wrong double rounding needs the true value within 1e-40 of a midpoint)."""

HALF_MARGIN = 1e-9
"""Relative distance from a .5 boundary below which :func:`round_half_safe` recomputes exactly (any libm
or SIMD exp is accurate to far better than this, about 1e-15)."""

_CTX = decimal.Context(prec=DIGITS, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
_LN2 = _CTX.ln(decimal.Decimal(2))


def _map(fn: Callable[[decimal.Decimal], decimal.Decimal], x: np.ndarray | float) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    out = np.fromiter((float(fn(decimal.Decimal(float(v)))) for v in arr.ravel()), dtype=float,
                      count=arr.size)
    return out.reshape(arr.shape)


def exp(x: np.ndarray | float) -> np.ndarray:
    """e**x, correctly rounded (float array of the shape of ``x``)."""
    return _map(_CTX.exp, x)


def _ln(d: decimal.Decimal) -> decimal.Decimal:
    if d <= 0:
        raise ValueError(f"log of {d} (must be > 0)")
    return _CTX.ln(d)


def log(x: np.ndarray | float) -> np.ndarray:
    """Natural logarithm, correctly rounded; ValueError for a value <= 0."""
    return _map(_ln, x)


def log2(x: np.ndarray | float) -> np.ndarray:
    """Base-2 logarithm, correctly rounded (exact for powers of two); ValueError for a value <= 0."""
    return _map(lambda d: _CTX.divide(_ln(d), _LN2), x)


def interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(x, xp, fp)`` by numpy's own formula, one rounded operation at a time.

    ``slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])``, ``y = slope * (x - xp[j]) + fp[j]``; ``fp[j]`` where
    ``x == xp[j]``, ``fp[0]`` left of ``xp[0]`` and ``fp[-1]`` from ``xp[-1]`` on (numpy's C loop, which a
    compiler may fuse into a multiply-add on some platforms). ``xp`` must be increasing, without NaN.
    """
    x = np.asarray(x, dtype=float)
    xp, fp = np.asarray(xp, dtype=float), np.asarray(fp, dtype=float)
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    slope = np.divide(np.subtract(fp[j + 1], fp[j]), np.subtract(xp[j + 1], xp[j]))
    y = np.add(np.multiply(slope, np.subtract(x, xp[j])), fp[j])
    y = np.where(x == xp[j], fp[j], y)
    y = np.where(x < xp[0], fp[0], y)
    return np.where(x >= xp[-1], fp[-1], y)


def uniform(rng: np.random.Generator, low: float, high: float, size: int | tuple[int, ...] | None = None
            ) -> np.ndarray | float:
    """U[low, high) draws: ``low + (high - low) * rng.random(size)``, two rounded operations.

    The same stream and, where numpy's C code is not fused, the same bits as ``rng.uniform(low, high,
    size)`` (its formula), on every machine.
    """
    u = rng.random(size)
    out = np.add(low, np.multiply(high - low, u))
    return float(out) if size is None else out


def lognormal(rng: np.random.Generator, mean: float, sigma: float, size: int) -> np.ndarray:
    """Log-normal draws ``exp(mean + sigma * z)``, z standard normal: the stream and formula of
    ``rng.lognormal(mean, sigma, size)`` with a correctly rounded exp."""
    z = rng.standard_normal(size)
    return exp(np.add(mean, np.multiply(sigma, z)))


def round_half_safe(fast: np.ndarray, exact: Callable[[np.ndarray], np.ndarray],
                    args: np.ndarray) -> np.ndarray:
    """Round ``fast`` (a few-ulp approximation of ``exact(args)``) to whole numbers as ``exact`` would.

    Elements within :data:`HALF_MARGIN` (relative) of a ``.5`` boundary are recomputed with ``exact`` before
    rounding (half to even, as ``np.round``); the others cannot round differently.
    """
    fast = np.asarray(fast, dtype=float)
    frac = np.abs(np.subtract(np.subtract(fast, np.floor(fast)), 0.5))
    near = frac <= HALF_MARGIN * np.maximum(np.abs(fast), 1.0)
    out = fast.copy()
    if near.any():
        out[near] = exact(np.asarray(args)[near])
    return np.round(out, 0)
