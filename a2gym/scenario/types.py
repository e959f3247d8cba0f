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
a file whose stored hash does not match its content raises :class:`~a2gym.errors.ScenarioError`, and so
does a file without ``sha256`` (a hand-written or stripped file): pass ``require_sha256=False`` to
:meth:`Scenario.load` to accept one, then :meth:`Scenario.save` writes the hash.  Only regular files of
at most :data:`MAX_FILE_BYTES` bytes are read (a FIFO or ``/dev/zero`` is refused, never read).
Floats survive the round trip exactly (``repr`` is shortest round-trip).

The schema and the checks live in :mod:`a2gym.scenario.validation`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from a2gym.checks import is_int
from a2gym.errors import FileError, ScenarioError
from a2gym.fileio import atomic_write_text, read_text_bounded
from a2gym.scenario.validation import ARRAYS, NAMES, SCALARS, from_jsonable, validate_and_freeze

FORMAT = "a2gym-scenario"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 2**20  # a scenario file larger than this is refused (1e6 classes take ~100 MB)


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
        validate_and_freeze(self)

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
        for n in NAMES:
            out[n] = list(getattr(self, n))
        for a in ARRAYS:
            arr = getattr(self, a)
            if a == "class_origin":
                out[a] = [self.regions[k] for k in arr.tolist()]
            else:
                out[a] = _to_jsonable(arr)
        for s in SCALARS:
            v = getattr(self, s)
            out[s] = v if isinstance(v, str) else float(v)
        out["assumptions"] = dict(sorted(self.assumptions.items()))
        return out

    @classmethod
    def from_dict(cls, content: Mapping[str, Any], uri: str | None = None) -> Scenario:
        """Build from a ``content`` mapping (see module docstring); raises ScenarioError naming bad fields."""
        if not isinstance(content, Mapping):
            raise ScenarioError(f"scenario content must be a JSON object, got {type(content).__name__}")
        required = ("name", "description", *NAMES, *ARRAYS, *SCALARS, "assumptions")
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
        for a, (_, kind, rule) in ARRAYS.items():
            if a == "class_origin":
                continue
            kw[a] = from_jsonable(a, kw[a], kind, allow_nan=rule == "nonneg_or_nan")
        return cls(**kw, uri=uri)

    @cached_property
    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`; independent of file path and URI."""
        return hashlib.sha256(_canonical(self.to_dict())).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the scenario file atomically (temp file + rename; missing folders are created); returns the
        path.  A target that is a symbolic link or exists as something other than a regular file (a device
        such as ``/dev/full``, a directory) is refused with :class:`~a2gym.errors.FileError`."""
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "sha256": self.sha256,
               "content": self.to_dict()}
        text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
        return atomic_write_text(Path(path), text, what="scenario file")

    @classmethod
    def load(cls, path: str | os.PathLike[str], uri: str | None = None, *, require_sha256: bool = True) -> Scenario:
        """Read and validate a scenario file.

        Raises :class:`~a2gym.errors.ScenarioError` if the file is missing, not a regular file, larger than
        :data:`MAX_FILE_BYTES`, not a scenario, or if its stored ``sha256`` does not match the content;
        a file without ``sha256`` is refused unless ``require_sha256=False``.
        """
        p = Path(path)
        doc = _read_document(p)
        try:
            scn = cls.from_dict(doc["content"], uri=uri or str(p))
        except ScenarioError as e:
            raise ScenarioError(f"{p}: {e}") from None
        except RecursionError:
            raise ScenarioError(f"{p}: the content is nested too deeply to be a scenario") from None
        stored = doc.get("sha256")
        if stored is None and require_sha256:
            raise ScenarioError(f"{p}: field 'sha256' is missing, so the content cannot be checked; load it with "
                                "Scenario.load(path, require_sha256=False) and save() it to add the hash")
        if stored is not None and stored != scn.sha256:
            raise ScenarioError(f"{p}: field 'sha256' = {stored!r:.80} does not match the content's hash {scn.sha256}")
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
def _read_document(p: Path) -> dict[str, Any]:
    """The outer JSON object of a scenario file, with its format checked (see the module docstring)."""
    try:
        doc = json.loads(read_text_bounded(p, MAX_FILE_BYTES, "scenario file"))
    except FileError as e:
        raise ScenarioError(str(e)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ScenarioError(f"scenario file {p} is not valid JSON: {e}") from None
    except RecursionError:
        raise ScenarioError(f"scenario file {p} is nested too deeply to be a scenario") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ScenarioError(f"{p}: field 'format' must be {FORMAT!r}, got {_get(doc, 'format')!r:.80}")
    fv = doc.get("format_version")
    if not is_int(fv) or fv != FORMAT_VERSION:
        raise ScenarioError(f"{p}: field 'format_version' = {fv!r:.80} is not supported (expected {FORMAT_VERSION})")
    if "content" not in doc:
        raise ScenarioError(f"{p}: missing field 'content'")
    return doc


def _get(doc: Any, key: str) -> Any:
    return doc.get(key) if isinstance(doc, dict) else None


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=True).encode()


def _to_jsonable(arr: np.ndarray) -> Any:
    if arr.dtype == bool:
        return arr.tolist()
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(int).tolist()
    f = arr.astype(float)
    nan = np.isnan(f)
    if not nan.any():
        return f.tolist()
    obj = f.astype(object)  # Python floats, with None where NaN (JSON null)
    obj[nan] = None
    return obj.tolist()

