"""Bundled data: tables rebuild byte-identically, paper-default-v0 reproduces its pinned hash and is sound."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import numpy as np
import pytest

import a2gym.scenario.tables as tables_mod
from a2gym import load_scenario, physics
from a2gym.costmodel import CostModel
from a2gym.scenario.default import REGIONS, build_paper_default
from a2gym.scenario.tables import load_tables
from a2gym.scenario.uri import _manifest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "a2gym"


@pytest.fixture(scope="module")
def scn():
    return load_scenario("scenario://paper-default-v0", check_feasible=False)


def test_rebuild_reproduces_bundled_default(scn) -> None:
    built = build_paper_default()
    assert built.sha256 == scn.sha256 == _manifest()["paper-default-v0"]


def test_tables_rebuild_byte_identical(tmp_path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("build_data", ROOT / "scripts" / "build_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "TABLES", tmp_path)
    mod.build_tables()
    bundled = sorted(p.name for p in (PKG / "data" / "tables").glob("*.csv"))
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == bundled
    for name in bundled:
        assert (tmp_path / name).read_bytes() == (PKG / "data" / "tables" / name).read_bytes(), name


def test_table_shapes_and_values() -> None:
    t = load_tables()
    k = len(t.regions)
    assert k == 21 and t.regions == tuple(sorted(t.regions))
    for m in (t.rtt_ms, t.throughput_gbps, t.egress_usd_per_gb):
        assert m.shape == (k, k) and not np.isnan(m).any()
    assert np.array_equal(t.rtt_ms, t.rtt_ms.T) and np.all(np.diag(t.rtt_ms) == t.const("intra_region_rtt_ms"))
    assert np.array_equal(t.throughput_gbps, t.throughput_gbps.T) and np.all(t.throughput_gbps > 0)
    assert np.all(np.diag(t.egress_usd_per_gb) == 0)
    i, j = t.regions.index("us-east-1"), t.regions.index("us-east-2")
    assert t.egress_usd_per_gb[i, j] == 0.01 and t.egress_usd_per_gb[i, t.regions.index("eu-west-1")] == 0.02
    assert 8 < t.rtt_ms[i, j] < 15
    assert t.price_usd_per_hour.shape == (k, 4)
    assert np.isnan(t.price_usd_per_hour[t.regions.index("sa-east-1")]).all()
    assert t.price_usd_per_hour[i, t.instance_types.index("g4dn.xlarge")] == 0.526
    assert len(t.models) >= 8 and np.all(np.diff(t.model_top1) >= 0)
    assert np.all(t.model_gpu_img_per_s > 0) and np.all(t.model_cpu_bs1_ms > 0)
    assert t.jpeg_mean_bytes.shape == (t.jpeg_sides_px.size, t.jpeg_qualities.size)
    assert np.all(np.diff(t.jpeg_mean_bytes, axis=0) > 0) and np.all(np.diff(t.jpeg_mean_bytes, axis=1) > 0)
    assert np.all(np.diff(t.resolution_log2_ratio) > 0) and np.all(np.diff(t.resolution_delta_points) > 0)
    assert np.all(np.diff(t.jpeg_penalty_points) < 0)
    assert 0 < t.const("cpu_resolution_fixed_fraction") < 1
    assert t.const("azure_conv_mean_rate_req_s") == pytest.approx(5.53, abs=0.01)
    assert np.mean(t.arrivals_conv) == pytest.approx(1.0, abs=1e-5) and len(t.arrivals_t_s) > 300
    for c in t.constants.values():
        assert c.source and c.unit


def test_tables_load_fast() -> None:
    tables_mod.load_tables.cache_clear()
    t0 = time.perf_counter()
    load_tables()
    assert time.perf_counter() - t0 < 0.2  # ~10 ms typical; generous for slow CI


def test_default_sizes_and_documentation(scn) -> None:
    assert (scn.n_regions, scn.n_instance_types, scn.n_models, scn.n_data_versions) == (9, 2, 8, 15)
    assert scn.n_classes == 54 and scn.n_facilities <= 200
    assert scn.regions == REGIONS and set(scn.class_origin) == set(range(9))
    assert scn.class_rate.sum() == pytest.approx(100 * 5.53, rel=0.01)
    for key in ("load_scale", "demand_weight", "jpeg_quality_penalty_points", "per_flow_fraction",
                "access_latency_ms", "target_utilisation", "c5xlarge_over_i9_cpu_slowdown"):
        assert key in scn.assumptions and scn.assumptions[key]
    assert "224px-q75" in scn.data_versions and "us-east-1/acc0.76/slo250" in scn.classes


def test_default_every_class_feasible_and_interesting(scn) -> None:
    assert physics.scenario_classes_feasible(scn).all()
    feasible = CostModel.of(scn).feasible  # [R, K, M, D, H], the cost model's own check
    n_remote_tight, n_regions_loose = [], []
    for r in range(scn.n_classes):
        o = scn.class_origin[r]
        regions_ok = feasible[r].any(axis=(1, 2, 3))
        if scn.class_latency_slo_ms[r] <= 100:
            assert regions_ok[o], f"{scn.classes[r]} not feasible at its origin"
            n_remote_tight.append(regions_ok.sum())
        else:
            n_regions_loose.append(regions_ok.sum())
    assert max(n_remote_tight) <= 3          # tight classes must be served near their origin
    assert np.mean(n_regions_loose) >= 4     # loose classes can be pooled across continents
    # data versions trade bytes against accuracy: more bytes, higher accuracy for a fixed model
    assert np.corrcoef(scn.data_bytes, scn.accuracy[4])[0, 1] > 0.5
    assert scn.data_bytes.max() / scn.data_bytes.min() > 10


def test_no_package_code_reads_shared() -> None:
    pat = re.compile(r"\.\./shared|[/\\]shared[/\\](?:data|docs)|shared/data")
    offenders = [str(p) for p in PKG.rglob("*.py") if pat.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
