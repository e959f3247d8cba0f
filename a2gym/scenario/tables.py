"""The processed real-data tables bundled in ``a2gym/data/tables`` (built by ``scripts/build_data.py``).

:func:`load_tables` reads them once (cached) into a frozen :class:`Tables`; arrays are read-only.
Units: ms, Gbit/s, $/GB (1e9 bytes), $/h, bytes, top-1 as a fraction, pixels. Each CSV's first line
(``# ...``) says where its numbers come from; ``a2gym/data/tables/README.md`` describes every column.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
from importlib import resources

import numpy as np

from a2gym.errors import ScenarioError


@dataclasses.dataclass(frozen=True)
class Constant:
    """A named constant: value, unit and source (``ASSUMPTION: ...`` when not measured)."""

    name: str
    value: float
    unit: str
    source: str


@dataclasses.dataclass(frozen=True, eq=False)
class Tables:
    """All processed tables. Region-indexed arrays follow ``regions``; model arrays follow ``models``."""

    regions: tuple[str, ...]
    region_city: tuple[str, ...]
    region_continent: tuple[str, ...]
    region_lat: np.ndarray            # [deg]
    region_lon: np.ndarray            # [deg]
    region_utc_offset_h: np.ndarray   # [h], standard time
    demand_weight: np.ndarray         # relative demand (ASSUMPTION, see regions.csv)
    rtt_ms: np.ndarray                # [K, K] ms, symmetric
    throughput_gbps: np.ndarray       # [K, K] Gbit/s (64 flows)
    egress_usd_per_gb: np.ndarray     # [K, K] $/GB, row = source
    instance_types: tuple[str, ...]
    instance_is_gpu: np.ndarray       # [H] bool (has an accelerator)
    instance_speed_constant: tuple[str, ...]  # constants.csv name scaling its T4-relative throughput, or ""
    price_usd_per_hour: np.ndarray    # [K, H] $/h, NaN = not offered
    models: tuple[str, ...]           # sorted by top-1
    model_weights: tuple[str, ...]
    model_top1: np.ndarray            # [M] fraction at native resolution
    model_gflops: np.ndarray          # [M]
    model_file_bytes: np.ndarray      # [M] bytes
    model_native_res_px: np.ndarray   # [M] eval crop, px
    model_gpu_img_per_s: np.ndarray   # [M] RTX 3090 AMP throughput at native res, img/s
    model_cpu_bs1_ms: np.ndarray      # [M] i9-10940X batch-1 latency at native res, ms
    jpeg_sides_px: np.ndarray         # [S]
    jpeg_qualities: np.ndarray        # [Q]
    jpeg_mean_bytes: np.ndarray       # [S, Q] bytes
    resolution_log2_ratio: np.ndarray  # [P] log2(res / native), increasing
    resolution_delta_points: np.ndarray  # [P] top-1 change, points
    jpeg_penalty_quality: np.ndarray   # [J] increasing
    jpeg_penalty_points: np.ndarray    # [J] top-1 points lost
    constants: dict[str, Constant]
    arrivals_t_s: np.ndarray           # [T] s
    arrivals_conv: np.ndarray          # [T] per-bin count / mean
    arrivals_code: np.ndarray          # [T]

    def const(self, name: str) -> float:
        """Value of the named constant in ``constants.csv``."""
        return self.constants[name].value

    def region_index(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """Indices of region names in :attr:`regions`."""
        return np.array([self.regions.index(n) for n in names], dtype=np.int64)

    def model_index(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        return np.array([self.models.index(n) for n in names], dtype=np.int64)

    def type_index(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        return np.array([self.instance_types.index(n) for n in names], dtype=np.int64)


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("a2gym") / "data" / "tables" / name).read_text(encoding="utf-8")
    body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def _f(rows: list[dict[str, str]], col: str) -> np.ndarray:
    return _ro(np.array([float(r[col]) if r[col] != "" else np.nan for r in rows]))


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _matrix(name: str, regions: tuple[str, ...]) -> np.ndarray:
    rows = _rows(name)
    if tuple(r["src"] for r in rows) != regions:
        raise ScenarioError(f"table {name}: rows are not the regions of regions.csv")
    return _ro(np.array([[float(r[c]) for c in regions] for r in rows]))


@functools.lru_cache(maxsize=1)
def load_tables() -> Tables:
    """Read every table from package data (once per process)."""
    reg = _rows("regions.csv")
    regions = tuple(r["name"] for r in reg)
    types = _rows("instance_types.csv")
    tnames = tuple(t["name"] for t in types)
    prices = _rows("prices_usd_per_hour.csv")
    if tuple(r["region"] for r in prices) != regions:
        raise ScenarioError("table prices_usd_per_hour.csv: rows are not the regions of regions.csv")
    mod = _rows("models.csv")
    jpeg = _rows("jpeg_bytes.csv")
    sides = np.unique([int(r["side_px"]) for r in jpeg])
    quals = np.unique([int(r["jpeg_quality"]) for r in jpeg])
    jb = np.full((sides.size, quals.size), np.nan)
    for r in jpeg:
        jb[np.searchsorted(sides, int(r["side_px"])), np.searchsorted(quals, int(r["jpeg_quality"]))] = float(
            r["mean_bytes"])
    res = _rows("resolution_curve.csv")
    pen = _rows("jpeg_quality_penalty.csv")
    arr = _rows("arrivals.csv")
    consts = {
        r["name"]: Constant(r["name"], float(r["value"]), r["unit"], r["source"])
        for r in _rows("constants.csv")
    }
    return Tables(
        regions=regions,
        region_city=tuple(r["city"] for r in reg),
        region_continent=tuple(r["continent"] for r in reg),
        region_lat=_f(reg, "lat"), region_lon=_f(reg, "lon"), region_utc_offset_h=_f(reg, "utc_offset_h"),
        demand_weight=_f(reg, "demand_weight"),
        rtt_ms=_matrix("rtt_ms.csv", regions),
        throughput_gbps=_matrix("throughput_gbps.csv", regions),
        egress_usd_per_gb=_matrix("egress_usd_per_gb.csv", regions),
        instance_types=tnames,
        instance_is_gpu=_ro(np.array([t["is_gpu"] == "1" for t in types])),
        instance_speed_constant=tuple(t["speed_constant"] for t in types),
        price_usd_per_hour=_ro(np.array([[float(r[h]) if r[h] else np.nan for h in tnames] for r in prices])),
        models=tuple(r["name"] for r in mod),
        model_weights=tuple(r["weights"] for r in mod),
        model_top1=_f(mod, "top1"), model_gflops=_f(mod, "gflops"), model_file_bytes=_f(mod, "file_bytes"),
        model_native_res_px=_f(mod, "native_res_px"), model_gpu_img_per_s=_f(mod, "gpu_img_per_s"),
        model_cpu_bs1_ms=_f(mod, "cpu_bs1_ms"),
        jpeg_sides_px=_ro(sides), jpeg_qualities=_ro(quals), jpeg_mean_bytes=_ro(jb),
        resolution_log2_ratio=_f(res, "log2_ratio"), resolution_delta_points=_f(res, "delta_top1_points"),
        jpeg_penalty_quality=_f(pen, "jpeg_quality"), jpeg_penalty_points=_f(pen, "penalty_points"),
        constants=consts,
        arrivals_t_s=_f(arr, "t_s"), arrivals_conv=_f(arr, "conv"), arrivals_code=_f(arr, "code"),
    )
