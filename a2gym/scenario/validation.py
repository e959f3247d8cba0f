"""Validation of a :class:`~a2gym.scenario.Scenario`: the schema of its fields and the checks that
run on every construction path (keyword constructor, :meth:`Scenario.from_dict`, :meth:`Scenario.load`).

Each check raises :class:`~a2gym.errors.ScenarioError` naming the field and the value; nothing is
fixed silently (the one default filled in is an empty ``deployment_home_region``, which means the first
region).  Text fields are bounded (:data:`MAX_NAME_CHARS`, :data:`MAX_DESCRIPTION_CHARS`,
:data:`MAX_ASSUMPTION_CHARS`), so a scenario file cannot carry a megabyte "name" into tables and plots.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from a2gym.checks import is_bool, is_real
from a2gym.errors import ScenarioError

if TYPE_CHECKING:
    from a2gym.scenario.types import Scenario

MAX_NAME_CHARS = 200            # scenario name, each set member's name, each assumption's key
MAX_DESCRIPTION_CHARS = 20_000  # the description paragraph
MAX_ASSUMPTION_CHARS = 5_000    # each assumption's text

# name -> (shape in set symbols, dtype, rule). Rules: "pos" > 0, "nonneg" >= 0, "unit" in [0, 1],
# "nonneg_or_nan" >= 0 or NaN (price of an instance type a region does not offer), "any" finite.
ARRAYS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "region_lat": (("K",), "f", "any"),
    "region_lon": (("K",), "f", "any"),
    "region_utc_offset_h": (("K",), "f", "any"),
    "instance_is_gpu": (("H",), "b", "any"),
    "model_bytes": (("M",), "f", "nonneg"),
    "data_resolution_px": (("D",), "i", "pos"),
    "data_jpeg_quality": (("D",), "i", "pos"),
    "data_bytes": (("D",), "f", "pos"),
    "class_origin": (("R",), "i", "any"),
    "class_accuracy_floor": (("R",), "f", "unit"),
    "class_latency_slo_ms": (("R",), "f", "pos"),
    "class_rate": (("R",), "f", "nonneg"),
    "price_per_hour": (("K", "H"), "f", "nonneg_or_nan"),
    "egress_per_gb": (("K", "K"), "f", "nonneg"),
    "rtt_ms": (("K", "K"), "f", "nonneg"),
    "bandwidth_gbps": (("K", "K"), "f", "pos"),
    "accuracy": (("M", "D"), "f", "unit"),
    "service_time_ms": (("M", "D", "H"), "f", "pos"),
    "inference_latency_ms": (("M", "D", "H"), "f", "pos"),
}
NAMES = ("regions", "instance_types", "models", "data_versions", "classes")
SET_OF = {"K": "regions", "H": "instance_types", "M": "models", "D": "data_versions", "R": "classes"}
# scalar -> (rule, unit/meaning)
SCALARS: dict[str, str] = {
    "epoch_hours": "pos",
    "target_utilisation": "unit_pos",
    "queueing_allowance_ms": "nonneg",
    "access_latency_ms": "nonneg",
    "access_bandwidth_mbps": "pos",
    "deployment_home_region": "region",
    "cold_start_s": "nonneg",
}




def from_jsonable(name: str, value: Any, kind: str, allow_nan: bool) -> np.ndarray:
    """The array of field ``name`` from its JSON form (nested lists; ``null`` = NaN where ``allow_nan``)."""
    def conv(x: Any) -> Any:
        if isinstance(x, list):
            return [conv(v) for v in x]
        if x is None:
            if not allow_nan:
                raise ScenarioError(f"{name} contains null (NaN), which is not allowed for this field")
            return float("nan")
        if kind == "b":
            if not is_bool(x):
                raise ScenarioError(f"{name} contains {x!r} ({type(x).__name__}), expected true or false")
            return x
        if is_bool(x):
            raise ScenarioError(f"{name} contains a boolean {x!r} where a number is expected")
        if not isinstance(x, int | float):
            raise ScenarioError(f"{name} contains {x!r} ({type(x).__name__}), expected a number")
        if kind == "i" and not (isinstance(x, int) or (math.isfinite(x) and x == int(x))):
            raise ScenarioError(f"{name} contains {x!r}, expected an integer")
        if kind == "i" and not -2**63 <= x < 2**63:
            raise ScenarioError(f"{name} contains {x!r}, which is out of the integer range")
        return x

    if not isinstance(value, list):
        raise ScenarioError(f"{name} must be a (nested) list, got {type(value).__name__}")
    try:
        return np.array(conv(value), dtype={"f": float, "i": np.int64, "b": bool}[kind])
    except ScenarioError:
        raise
    except (ValueError, TypeError) as e:
        raise ScenarioError(f"{name} is not a rectangular array: {e}") from None



MAX_MAGNITUDE = 1e12
"""Largest absolute value of any number in a scenario (bytes, prices, times): larger ones overflow the
solvers' arithmetic."""
MAX_CLASS_RATE = 1e6
"""Largest class rate [req/s] (the bundled scenarios' largest is about 230)."""


def _check_magnitude(name: str, arr: np.ndarray) -> None:
    rate = name == "class_rate"
    cap, what = (MAX_CLASS_RATE, "MAX_CLASS_RATE") if rate else (MAX_MAGNITUDE, "MAX_MAGNITUDE")
    flat = arr.ravel()
    big = np.flatnonzero(np.isfinite(flat) & (np.abs(flat) > cap))
    if big.size:
        raise ScenarioError(f"{name} holds {flat[big[0]]:.3g}, beyond the cap of {cap:.0e} "
                            f"(a2gym.scenario.validation.{what})")


def validate_and_freeze(s: Scenario) -> None:
    """Check every field of ``s`` and freeze it in place (tuples, read-only arrays, a read-only mapping)."""
    _check_text(s)
    sizes = _freeze_sets(s)
    _freeze_arrays(s, sizes)
    _check_cross_fields(s, sizes)
    _freeze_scalars(s)
    _freeze_assumptions(s)


def _set(s: Scenario, field: str, value: Any) -> None:
    object.__setattr__(s, field, value)  # a frozen dataclass: validation is the one writer


def _check_text(s: Scenario) -> None:
    if not isinstance(s.name, str) or not s.name:
        raise ScenarioError(f"name must be a non-empty string, got {s.name!r:.80}")
    if len(s.name) > MAX_NAME_CHARS:
        raise ScenarioError(f"name is {len(s.name)} characters long (at most {MAX_NAME_CHARS})")
    if not isinstance(s.description, str):
        raise ScenarioError(f"description must be a string, got {type(s.description).__name__}")
    if len(s.description) > MAX_DESCRIPTION_CHARS:
        raise ScenarioError(
            f"description is {len(s.description)} characters long (at most {MAX_DESCRIPTION_CHARS})"
        )


def _freeze_sets(s: Scenario) -> dict[str, int]:
    """The set names as tuples of unique, non-empty, bounded strings; returns each set symbol's size."""
    sizes: dict[str, int] = {}
    for sym, field in SET_OF.items():
        raw = getattr(s, field)
        try:
            names = tuple(raw) if not isinstance(raw, str | bytes | Mapping) else None
        except TypeError:
            names = None
        # map() keeps these checks in C: a generated scenario may have a million class names
        if names is None or not all(map(isinstance, names, itertools.repeat(str))) or "" in names:
            raise ScenarioError(f"{field} must be a sequence of non-empty strings, got {raw!r:.120}")
        if len(names) == 0:
            raise ScenarioError(f"{field} is empty; a scenario needs at least one")
        if max(map(len, names)) > MAX_NAME_CHARS:
            long = next(n for n in names if len(n) > MAX_NAME_CHARS)
            raise ScenarioError(f"{field} holds a name of {len(long)} characters (at most {MAX_NAME_CHARS}): "
                                f"{long[:40]!r}…")
        if len(set(names)) != len(names):
            dup = sorted(n for n, c in Counter(names).items() if c > 1)
            raise ScenarioError(f"{field} has duplicate names: {dup[:5]}")
        _set(s, field, names)
        sizes[sym] = len(names)
    return sizes


def _freeze_arrays(s: Scenario, sizes: dict[str, int]) -> None:
    """Every array field as a read-only numpy array of its dtype and shape, values within its rule."""
    for a, (shape_syms, kind, rule) in ARRAYS.items():
        raw = getattr(s, a)
        try:
            arr = np.array(raw, dtype={"f": float, "i": np.int64, "b": bool}[kind], copy=True)
        except (ValueError, TypeError) as e:
            raise ScenarioError(f"{a} cannot be read as an array: {e}") from None
        except OverflowError as e:
            raise ScenarioError(f"{a} holds a value out of the integer range: {e}") from None
        if kind == "i" and np.asarray(raw).dtype.kind == "f" and not np.array_equal(np.asarray(raw), arr):
            raise ScenarioError(f"{a} must hold integers, got {np.asarray(raw).ravel()[:5]}")
        want = tuple(sizes[x] for x in shape_syms)
        if arr.shape != want:
            dims = " x ".join(f"{x}={sizes[x]}" for x in shape_syms)
            raise ScenarioError(f"{a} has shape {arr.shape}, expected {want} ({dims})")
        _check_rule(a, arr, rule, kind)
        if kind == "f":
            _check_magnitude(a, arr)
        arr.setflags(write=False)
        _set(s, a, arr)


def _check_cross_fields(s: Scenario, sizes: dict[str, int]) -> None:
    """Origins are region indices, serving in the origin region is free, some region offers some type."""
    bad = np.flatnonzero((s.class_origin < 0) | (s.class_origin >= sizes["K"]))
    if bad.size:
        raise ScenarioError(f"class_origin[{bad[0]}] = {s.class_origin[bad[0]]} is not a region index "
                            f"(0..{sizes['K'] - 1})")
    diag = np.diag(s.egress_per_gb)
    if np.any(diag != 0):
        k = int(np.flatnonzero(diag != 0)[0])
        raise ScenarioError(
            f"egress_per_gb[{k}, {k}] = {diag[k]} must be 0 (serving in the origin region is free)"
        )
    if np.isnan(s.price_per_hour).all():
        raise ScenarioError("price_per_hour is NaN everywhere: no region offers any instance type")


def _freeze_scalars(s: Scenario) -> None:
    """Each scalar as a float within its rule; the home region as a known region name."""
    for sc, rule in SCALARS.items():
        v = getattr(s, sc)
        if rule == "region":
            if not isinstance(v, str):
                raise ScenarioError(f"deployment_home_region must be a region name (str), got {v!r:.80}")
            if not v:
                _set(s, sc, s.regions[0])
            elif v not in s.regions:
                raise ScenarioError(f"deployment_home_region = {v!r:.80} is not a known region")
            continue
        if not is_real(v):
            raise ScenarioError(f"{sc} must be a number, got {v!r:.80}")
        try:
            v = float(v)
        except OverflowError:
            raise ScenarioError(f"{sc} = {str(v)[:20]}… ({len(str(v))} digits) does not fit a float"
                                ) from None
        _check_magnitude(sc, np.array([v]))
        ok = math.isfinite(v) and {"pos": v > 0, "nonneg": v >= 0, "unit_pos": 0 < v <= 1}[rule]
        if not ok:
            need = {"pos": "> 0", "nonneg": ">= 0", "unit_pos": "in (0, 1]"}[rule]
            raise ScenarioError(f"{sc} = {v!r} is not allowed (must be finite and {need})")
        _set(s, sc, v)


def _freeze_assumptions(s: Scenario) -> None:
    if not isinstance(s.assumptions, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in s.assumptions.items()
    ):
        raise ScenarioError("assumptions must map names (str) to descriptions (str)")
    for k, v in s.assumptions.items():
        if len(k) > MAX_NAME_CHARS or len(v) > MAX_ASSUMPTION_CHARS:
            raise ScenarioError(
                f"assumption {k[:40]!r} is too long (names at most {MAX_NAME_CHARS} characters, "
                f"texts at most {MAX_ASSUMPTION_CHARS})"
            )
    _set(s, "assumptions", _FrozenDict(sorted(s.assumptions.items())))


def _check_rule(name: str, arr: np.ndarray, rule: str, kind: str) -> None:
    if kind == "b" or arr.size == 0:
        return
    a = arr.astype(float)
    nan = np.isnan(a)
    if rule == "nonneg_or_nan":
        bad = ~nan & ~(np.isfinite(a) & (a >= 0))
    else:
        fin = np.isfinite(a)
        cond = {"pos": a > 0, "nonneg": a >= 0, "unit": (a >= 0) & (a <= 1), "any": np.ones_like(fin)}[rule]
        bad = ~fin | ~cond
    if bad.any():
        idx = tuple(int(x) for x in np.argwhere(bad)[0])
        need = {"pos": "finite and > 0", "nonneg": "finite and >= 0", "unit": "in [0, 1]",
                "any": "finite", "nonneg_or_nan": ">= 0 or NaN (not offered)"}[rule]
        where = ", ".join(map(str, idx))
        raise ScenarioError(f"{name}[{where}] = {arr[idx]!r} is not allowed (must be {need})")


class _FrozenDict(dict):
    """A dict that refuses mutation (assumptions of an immutable Scenario)."""

    def _ro(self, *a: Any, **k: Any) -> None:
        raise TypeError("Scenario.assumptions is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _ro  # type: ignore[assignment]

    def __reduce__(self):
        return (_FrozenDict, (list(self.items()),))
