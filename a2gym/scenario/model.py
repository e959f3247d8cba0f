"""The :class:`Scenario`: validated, immutable sets and arrays of the A² model (formulation §11.1–11.2).

Sets and their sizes
--------------------
========  ======  =====================================================================
symbol    size    meaning
========  ======  =====================================================================
K         ``nK``  regions (datacenters); every region may also be a request origin
H         ``nH``  instance types (e.g. ``c5.xlarge``, ``g4dn.xlarge``)
M         ``nM``  model versions (e.g. ``resnet50``)
D         ``nD``  data versions (input resolution x JPEG quality)
R         ``nR``  request classes (origin, accuracy floor, latency SLO, rate)
I         K*M*H   facilities ``i = (k, m, h)``, flattened as ``i = (k * nM + m) * nH + h``
========  ======  =====================================================================

Units: prices in dollars per hour ($/h) and dollars per gigabyte ($/GB, 1 GB = 1e9 bytes), times in
milliseconds (ms), rates in requests per second (req/s), sizes in bytes, bandwidth in Gbit/s (1e9 bit/s).

File format
-----------
A scenario file is one UTF-8 JSON object (``Scenario.save`` / ``Scenario.load``)::

    {"format": "a2gym-scenario", "format_version": 1, "sha256": "<hex>",
     "content": {<every field of Scenario, arrays as nested lists, NaN as null,
                  class_origin as region names>}}

``sha256`` is the SHA-256 of the canonical JSON of ``content`` (sorted keys, no whitespace, floats as
Python ``repr``), so the hash depends only on the scenario, never on where it was loaded from. Loading
a file whose stored hash does not match its content raises :class:`~a2gym.errors.ScenarioError`.
Floats survive the round trip exactly (``repr`` is shortest round-trip).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from a2gym.checks import is_bool, is_int, is_real
from a2gym.errors import ScenarioError

FORMAT = "a2gym-scenario"
FORMAT_VERSION = 1

# name -> (shape in set symbols, dtype, rule). Rules: "pos" > 0, "nonneg" >= 0, "unit" in [0, 1],
# "nonneg_or_nan" >= 0 or NaN (price of an instance type a region does not offer), "any" finite.
_ARRAYS: dict[str, tuple[tuple[str, ...], str, str]] = {
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
_NAMES = ("regions", "instance_types", "models", "data_versions", "classes")
_SET_OF = {"K": "regions", "H": "instance_types", "M": "models", "D": "data_versions", "R": "classes"}
# scalar -> (rule, unit/meaning)
_SCALARS: dict[str, str] = {
    "epoch_hours": "pos",
    "target_utilisation": "unit_pos",
    "queueing_allowance_ms": "nonneg",
    "access_latency_ms": "nonneg",
    "access_bandwidth_mbps": "pos",
    "deployment_home_region": "region",
    "cold_start_s": "nonneg",
}


@dataclasses.dataclass(frozen=True, eq=False)
class Scenario:
    """One A² instance: sets, prices, latencies, accuracies, request classes and named assumptions.

    Construct through :func:`a2gym.load_scenario`, :meth:`Scenario.load`, :meth:`Scenario.from_dict`
    or the keyword constructor; every path validates (raising :class:`~a2gym.errors.ScenarioError`
    naming the field and value) and freezes the arrays (``writeable=False``).

    Attributes (units in brackets):
        name: short name, e.g. ``"paper-default-v0"``.
        description: one paragraph on where the numbers come from.
        regions, instance_types, models, data_versions, classes: unique names of the sets.
        region_lat, region_lon [deg]: location of each region's city (for maps).
        region_utc_offset_h [h]: local-time offset of each region (drives GeoServe's diurnal demand).
        instance_is_gpu [bool, H]: whether the instance type has an accelerator.
        model_bytes [bytes, M]: size of each model's weights (deployment transfer).
        data_resolution_px, data_jpeg_quality [D]: what each data version is.
        data_bytes [bytes, D]: mean request payload of each data version.
        class_origin [region index, R]: where each class's requests enter the cloud.
        class_accuracy_floor [top-1 fraction, R]: α_r.  class_latency_slo_ms [ms, R]: L_r.
        class_rate [req/s, R]: λ_r.
        price_per_hour [$/h, K x H]: on-demand price π_{k,h}; NaN where the region lacks the type.
        egress_per_gb [$/GB, K x K]: transfer price β_{o,k} from source o to k; 0 on the diagonal.
        rtt_ms [ms, K x K]: round-trip time between regions (diagonal = intra-region RTT).
        bandwidth_gbps [Gbit/s, K x K]: per-request throughput from o to k.
        accuracy [fraction, M x D]: a_{m,d}.
        service_time_ms [ms, M x D x H]: busy time per request on one instance (1 / throughput), τ.
        inference_latency_ms [ms, M x D x H]: inference part of a request's latency, τ^lat.
        epoch_hours [h]: T.  target_utilisation: ρ ∈ (0, 1].  queueing_allowance_ms [ms]: q.
        access_latency_ms [ms]: user to origin-region RTT added to every request.
        access_bandwidth_mbps [Mbit/s]: user uplink used to send the payload to the origin region.
        deployment_home_region: region the model weights are shipped from (deployment cost g).
        cold_start_s [s]: instance time lost loading a newly deployed model (GeoServe only).
        assumptions: name -> text: every modelling assumption with its value and source.
    """

    name: str
    description: str
    regions: tuple[str, ...]
    instance_types: tuple[str, ...]
    models: tuple[str, ...]
    data_versions: tuple[str, ...]
    classes: tuple[str, ...]
    region_lat: np.ndarray
    region_lon: np.ndarray
    region_utc_offset_h: np.ndarray
    instance_is_gpu: np.ndarray
    model_bytes: np.ndarray
    data_resolution_px: np.ndarray
    data_jpeg_quality: np.ndarray
    data_bytes: np.ndarray
    class_origin: np.ndarray
    class_accuracy_floor: np.ndarray
    class_latency_slo_ms: np.ndarray
    class_rate: np.ndarray
    price_per_hour: np.ndarray
    egress_per_gb: np.ndarray
    rtt_ms: np.ndarray
    bandwidth_gbps: np.ndarray
    accuracy: np.ndarray
    service_time_ms: np.ndarray
    inference_latency_ms: np.ndarray
    epoch_hours: float = 1.0
    target_utilisation: float = 0.7
    queueing_allowance_ms: float = 20.0
    access_latency_ms: float = 10.0
    access_bandwidth_mbps: float = 20.0
    deployment_home_region: str = ""
    cold_start_s: float = 60.0
    assumptions: Mapping[str, str] = dataclasses.field(default_factory=dict)
    uri: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        _validate_and_freeze(self)

    # ------------------------------------------------------------------ sizes
    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def n_instance_types(self) -> int:
        return len(self.instance_types)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_data_versions(self) -> int:
        return len(self.data_versions)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_facilities(self) -> int:
        """|I| = |K|·|M|·|H|."""
        return self.n_regions * self.n_models * self.n_instance_types

    @property
    def home_region_index(self) -> int:
        return self.regions.index(self.deployment_home_region)

    def facility_index(self, k: int | np.ndarray, m: int | np.ndarray, h: int | np.ndarray):
        """Flat facility index of (region k, model m, instance type h)."""
        return (np.asarray(k) * self.n_models + m) * self.n_instance_types + h

    def facility_parts(self, i: int | np.ndarray) -> tuple[Any, Any, Any]:
        """(k, m, h) of flat facility index ``i`` (vectorised)."""
        i = np.asarray(i)
        h = i % self.n_instance_types
        km = i // self.n_instance_types
        return km // self.n_models, km % self.n_models, h

    def facility_name(self, i: int) -> str:
        k, m, h = (int(x) for x in self.facility_parts(int(i)))
        return f"{self.regions[k]}/{self.models[m]}/{self.instance_types[h]}"

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """The ``content`` of the file format: JSON-ready, NaN as ``None``, origins as region names."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        for n in _NAMES:
            out[n] = list(getattr(self, n))
        for a in _ARRAYS:
            arr = getattr(self, a)
            if a == "class_origin":
                out[a] = [self.regions[int(k)] for k in arr]
            else:
                out[a] = _to_jsonable(arr)
        for s in _SCALARS:
            v = getattr(self, s)
            out[s] = v if isinstance(v, str) else float(v)
        out["assumptions"] = dict(sorted(self.assumptions.items()))
        return out

    @classmethod
    def from_dict(cls, content: Mapping[str, Any], uri: str | None = None) -> Scenario:
        """Build from a ``content`` mapping (see module docstring); raises ScenarioError naming bad fields."""
        if not isinstance(content, Mapping):
            raise ScenarioError(f"scenario content must be a JSON object, got {type(content).__name__}")
        required = ("name", "description", *_NAMES, *_ARRAYS, *_SCALARS, "assumptions")
        missing = [f for f in required if f not in content]
        if missing:
            raise ScenarioError(f"scenario is missing field(s): {', '.join(missing)}")
        unknown = sorted(set(content) - set(required))
        if unknown:
            raise ScenarioError(f"scenario has unknown field(s): {', '.join(unknown)}")
        kw: dict[str, Any] = {k: content[k] for k in required}
        regions = kw["regions"]
        if not isinstance(regions, list | tuple) or not all(isinstance(r, str) for r in regions):
            raise ScenarioError(f"regions must be a list of names, got {regions!r:.80}")
        origins = kw["class_origin"]
        if not isinstance(origins, list | tuple):
            raise ScenarioError(f"class_origin must be a list of region names, got {origins!r:.80}")
        idx = []
        for j, o in enumerate(origins):
            if o not in regions:
                raise ScenarioError(f"class_origin[{j}] = {o!r} is not a known region (regions: {list(regions)})")
            idx.append(regions.index(o))
        kw["class_origin"] = idx
        for a, (_, kind, rule) in _ARRAYS.items():
            if a == "class_origin":
                continue
            kw[a] = _from_jsonable(a, kw[a], kind, allow_nan=rule == "nonneg_or_nan")
        return cls(**kw, uri=uri)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`; independent of file path and URI."""
        return hashlib.sha256(_canonical(self.to_dict())).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the scenario file atomically (temp file + rename); returns the path."""
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "sha256": self.sha256,
               "content": self.to_dict()}
        text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
        return atomic_write_text(Path(path), text)

    @classmethod
    def load(cls, path: str | os.PathLike[str], uri: str | None = None) -> Scenario:
        """Read and validate a scenario file; a stored hash that does not match the content is an error."""
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ScenarioError(f"scenario file not found: {p}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ScenarioError(f"scenario file {p} is not valid JSON: {e}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ScenarioError(f"{p}: field 'format' must be {FORMAT!r}, got {_get(doc, 'format')!r}")
        fv = doc.get("format_version")
        if not is_int(fv) or fv != FORMAT_VERSION:
            raise ScenarioError(
                f"{p}: field 'format_version' = {doc.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
            )
        if "content" not in doc:
            raise ScenarioError(f"{p}: missing field 'content'")
        try:
            scn = cls.from_dict(doc["content"], uri=uri or str(p))
        except ScenarioError as e:
            raise ScenarioError(f"{p}: {e}") from None
        stored = doc.get("sha256")
        if stored is not None and stored != scn.sha256:
            raise ScenarioError(f"{p}: field 'sha256' = {stored} does not match the content's hash {scn.sha256}")
        return scn

    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with some fields changed (arrays are copied, never shared writable)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kw.update(changes)
        kw["uri"] = changes.get("uri")
        return Scenario(**kw)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return (f"Scenario({self.name!r}, K={self.n_regions}, H={self.n_instance_types}, M={self.n_models}, "
                f"D={self.n_data_versions}, R={self.n_classes}, sha256={self.sha256[:12]})")

    def __getstate__(self) -> dict[str, Any]:
        return {"content": self.to_dict(), "uri": self.uri}

    def __setstate__(self, state: dict[str, Any]) -> None:
        other = Scenario.from_dict(state["content"], uri=state["uri"])
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, getattr(other, f.name))


# ---------------------------------------------------------------------------- helpers
def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace`` (never half written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a saved scenario is an ordinary readable file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _get(doc: Any, key: str) -> Any:
    return doc.get(key) if isinstance(doc, dict) else None


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True).encode()


def _to_jsonable(arr: np.ndarray) -> Any:
    if arr.dtype == bool:
        return arr.tolist()
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(int).tolist()
    lst = arr.astype(float).tolist()
    return _nan_to_none(lst)


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return None if isinstance(x, float) and math.isnan(x) else x


def _from_jsonable(name: str, value: Any, kind: str, allow_nan: bool) -> np.ndarray:
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


def _validate_and_freeze(s: Scenario) -> None:
    set_ = object.__setattr__
    if not isinstance(s.name, str) or not s.name:
        raise ScenarioError(f"name must be a non-empty string, got {s.name!r}")
    if not isinstance(s.description, str):
        raise ScenarioError(f"description must be a string, got {type(s.description).__name__}")
    sizes: dict[str, int] = {}
    for sym, field in _SET_OF.items():
        names = getattr(s, field)
        try:
            names = tuple(names) if not isinstance(names, str | bytes | Mapping) else None
        except TypeError:
            names = None
        if names is None or not all(isinstance(n, str) and n for n in names):
            names = getattr(s, field)
            raise ScenarioError(f"{field} must be a sequence of non-empty strings, got {names!r:.120}")
        names = tuple(names)
        if len(names) == 0:
            raise ScenarioError(f"{field} is empty; a scenario needs at least one")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ScenarioError(f"{field} has duplicate names: {dup[:5]}")
        set_(s, field, names)
        sizes[sym] = len(names)
    for a, (shape_syms, kind, rule) in _ARRAYS.items():
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
        arr.setflags(write=False)
        set_(s, a, arr)
    bad = np.flatnonzero((s.class_origin < 0) | (s.class_origin >= sizes["K"]))
    if bad.size:
        raise ScenarioError(f"class_origin[{bad[0]}] = {s.class_origin[bad[0]]} is not a region index (0..{sizes['K'] - 1})")
    diag = np.diag(s.egress_per_gb)
    if np.any(diag != 0):
        k = int(np.flatnonzero(diag != 0)[0])
        raise ScenarioError(f"egress_per_gb[{k}, {k}] = {diag[k]} must be 0 (serving in the origin region is free)")
    offered = ~np.isnan(s.price_per_hour)
    if not offered.any():
        raise ScenarioError("price_per_hour is NaN everywhere: no region offers any instance type")
    for sc, rule in _SCALARS.items():
        v = getattr(s, sc)
        if rule == "region":
            if not isinstance(v, str):
                raise ScenarioError(f"deployment_home_region must be a region name (str), got {v!r:.80}")
            if not s.deployment_home_region:
                set_(s, sc, s.regions[0])
            elif v not in s.regions:
                raise ScenarioError(f"deployment_home_region = {v!r} is not a known region")
            continue
        if not is_real(v):
            raise ScenarioError(f"{sc} must be a number, got {v!r}")
        v = float(v)
        ok = math.isfinite(v) and {"pos": v > 0, "nonneg": v >= 0, "unit_pos": 0 < v <= 1}[rule]
        if not ok:
            need = {"pos": "> 0", "nonneg": ">= 0", "unit_pos": "in (0, 1]"}[rule]
            raise ScenarioError(f"{sc} = {v!r} is not allowed (must be finite and {need})")
        set_(s, sc, v)
    if not isinstance(s.assumptions, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in s.assumptions.items()
    ):
        raise ScenarioError("assumptions must map names (str) to descriptions (str)")
    set_(s, "assumptions", _FrozenDict(sorted(s.assumptions.items())))


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
