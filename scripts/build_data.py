"""Build a2gym's processed tables and the bundled ``scenario://paper-default-v0``.

Run from the repository root::

    python scripts/build_data.py

Reads only ``a2gym/data/raw/`` (copied from the research snapshot, see ``a2gym/data/raw/SOURCES.md``) and
writes ``a2gym/data/tables/*.csv`` (first line: ``# <description, units, source>``), then builds
``paper-default-v0`` with :func:`a2gym.scenario.default.build_paper_default`, saves it to
``a2gym/data/scenarios/paper-default-v0.json`` and pins its SHA-256 in ``MANIFEST.json``.
Deterministic: rerunning gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "a2gym" / "data" / "raw"
TABLES = ROOT / "a2gym" / "data" / "tables"
SCENARIOS = ROOT / "a2gym" / "data" / "scenarios"

INSTANCE_TYPES = ("c5.xlarge", "g4dn.xlarge", "inf1.xlarge", "g5.xlarge")
# instance type -> (accelerator, constant naming its speed relative to a T4, or "" for CPU)
INSTANCE_SPEED = {"c5.xlarge": ("", ""), "g4dn.xlarge": ("T4", ""),
                  "inf1.xlarge": ("Inferentia", "inf1_over_t4_throughput"),
                  "g5.xlarge": ("A10G", "a10g_over_t4_throughput")}
# torchvision builder name -> (weights enum, timm benchmark model name)
MODELS = (
    ("mobilenet_v3_small", "MobileNet_V3_Small_Weights.IMAGENET1K_V1", "mobilenetv3_small_100"),
    ("mobilenet_v2", "MobileNet_V2_Weights.IMAGENET1K_V2", "mobilenetv2_100"),
    ("resnet18", "ResNet18_Weights.IMAGENET1K_V1", "resnet18"),
    ("resnet34", "ResNet34_Weights.IMAGENET1K_V1", "resnet34"),
    ("mobilenet_v3_large", "MobileNet_V3_Large_Weights.IMAGENET1K_V2", "mobilenetv3_large_100"),
    ("efficientnet_b0", "EfficientNet_B0_Weights.IMAGENET1K_V1", "efficientnet_b0"),
    ("efficientnet_b1", "EfficientNet_B1_Weights.IMAGENET1K_V2", "efficientnet_b1"),
    ("efficientnet_b2", "EfficientNet_B2_Weights.IMAGENET1K_V1", "efficientnet_b2"),
    ("resnet50", "ResNet50_Weights.IMAGENET1K_V2", "resnet50"),
    ("resnet101", "ResNet101_Weights.IMAGENET1K_V2", "resnet101"),
    ("efficientnet_b3", "EfficientNet_B3_Weights.IMAGENET1K_V1", "efficientnet_b3"),
    ("resnet152", "ResNet152_Weights.IMAGENET1K_V2", "resnet152"),
    ("convnext_tiny", "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", "convnext_tiny"),
    ("efficientnet_b4", "EfficientNet_B4_Weights.IMAGENET1K_V1", "efficientnet_b4"),
)
# timm weights evaluated above their train size: (weights, native px, larger px) -> above-native accuracy gain
ABOVE_NATIVE_PAIRS = (
    ("resnet50.a1_in1k", 224, 288),
    ("efficientnet_b0.ra4_e3600_r224_in1k", 224, 256),
    ("mobilenetv3_large_100.ra4_e3600_r224_in1k", 224, 256),
)
# JPEG quality -> top-1 points lost: a named ASSUMPTION (NOTES §4.3 has no machine-readable table).
JPEG_PENALTY = ((95, 0.0), (90, 0.2), (85, 0.4), (75, 0.8), (50, 2.0), (25, 5.0), (10, 15.0))
JPEG_PENALTY_SOURCE = (
    "ASSUMPTION: values invented to follow the shape reported (not transcribed) in Ehrlich et al. ICCVW 2021 "
    "arXiv:2011.08932; Yang, Amer, Jiang, Entropy 23(7):881 2021; Dodge & Karam QoMEX 2016; ImageNet-C "
    "jpeg_compression (Hendrycks & Dietterich ICLR 2019): flat to q75, a few points by q25-50, steep below q20"
)
# The Azure conv trace's mean rate is computed below; every other named constant is here.
CONSTANTS = (
    ("intra_region_rtt_ms", 1.0, "ms", "ASSUMPTION: RTT between a request's entry point and a server in the same region"),
    ("intra_region_throughput_gbps", 10.0, "Gbit/s",
     "ASSUMPTION: bulk throughput inside one region (diagonal of throughput_gbps; an m5.8xlarge has up to 10 Gbit/s)"),
    ("per_flow_fraction", 1 / 64, "1",
     "ASSUMPTION: one request uses one TCP flow; Skyplane measured with 64 parallel flows, so per-request "
     "bandwidth = throughput / 64"),
    ("t4_over_rtx3090_throughput", 1198 / 3219, "1",
     "NVIDIA DeepLearningExamples ResNet-50 v1.5 T4 AMP saturation 1198 img/s / timm RTX3090 AMP resnet50 "
     "3219 img/s (data NOTES §3.2)"),
    ("gpu_bs1_latency_floor_ms", 10.7, "ms",
     "NVIDIA DeepLearningExamples ResNet-50 v1.5 PyTorch T4 FP32 batch-1 latency (data NOTES §3.2); used as the "
     "latency floor of every accelerator"),
    ("gpu_serving_batch", 8.0, "requests",
     "ASSUMPTION: accelerators serve in batches of 8; inference latency = max(floor, batch x service time)"),
    ("a10g_over_t4_throughput", 2.0, "1",
     "ASSUMPTION: g5.xlarge (A10G) throughput relative to g4dn.xlarge (T4); no measured source in the snapshot"),
    ("inf1_over_t4_throughput", 1.0, "1",
     "ASSUMPTION: inf1.xlarge (1 Inferentia chip) throughput relative to a T4; no per-model Inferentia figures found"),
    ("c5xlarge_over_i9_cpu_slowdown", 3.0, "1",
     "ASSUMPTION: c5.xlarge (4 vCPU) batch-1 latency / timm i9-10940X (14 cores) batch-1 latency; NOTES §3.2 "
     "suggests 2-4"),
    ("arrivals_bin_s", 10.0, "s", "bin width of arrivals.csv"),
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _fmt(v: object) -> str:
    if isinstance(v, str):
        return v
    x = float(v)  # type: ignore[arg-type]
    if math.isnan(x):
        return ""
    x = round(x, 6)
    return repr(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


def _write(name: str, comment: str, header: list[str], rows: list[list[object]]) -> None:
    buf = io.StringIO()
    buf.write(f"# {comment}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([_fmt(v) for v in r] for r in rows)
    (TABLES / name).write_text(buf.getvalue(), encoding="utf-8")


def _matrix(name: str, comment: str, regions: list[str], m: np.ndarray) -> None:
    _write(name, comment, ["src", *regions], [[r, *m[i]] for i, r in enumerate(regions)])


# ------------------------------------------------------------------------------------------ network
def build_regions() -> list[dict[str, str]]:
    lat = _read(RAW / "skyplane" / "latency_aws.csv")
    names = sorted({r["src_region"][4:] for r in lat} | {r["dst_region"][4:] for r in lat})
    loc = {r["region"]: r for r in _read(RAW / "derived" / "aws_region_locations.csv")}
    missing = sorted(set(names) - set(loc))
    assert not missing, f"no location for {missing}"
    regs = [loc[n] for n in names]
    _write("regions.csv",
           "AWS regions with Skyplane RTTs. lat/lon [deg] of the region's city, utc_offset_h [h] standard time "
           "(facts); demand_weight = ASSUMPTION: rough internet users (millions) whose nearest region it is",
           ["name", "city", "continent", "lat", "lon", "utc_offset_h", "demand_weight"],
           [[r["region"], r["city"], r["continent"], float(r["lat"]), float(r["lon"]), float(r["utc_offset_h"]),
             float(r["demand_weight"])] for r in regs])
    return regs


def build_rtt(names: list[str], const: dict[str, float]) -> None:
    idx = {n: i for i, n in enumerate(names)}
    d = np.full((len(names), len(names)), np.nan)
    for r in _read(RAW / "skyplane" / "latency_aws.csv"):
        d[idx[r["src_region"][4:]], idx[r["dst_region"][4:]]] = float(r["avg_rtt"])
    np.fill_diagonal(d, 0.0)
    assert not np.isnan(d).any(), "latency matrix incomplete"
    sym = (d + d.T) / 2
    np.fill_diagonal(sym, const["intra_region_rtt_ms"])
    _matrix("rtt_ms.csv", "round-trip time [ms], mean of both directions of Skyplane avg_rtt (ping, m5.large, "
            "2022-04); diagonal = intra_region_rtt_ms ASSUMPTION", names, sym)


def build_throughput(regs: list[dict[str, str]], const: dict[str, float]) -> int:
    names = [r["region"] for r in regs]
    cont = {r["region"]: r["continent"] for r in regs}
    idx = {n: i for i, n in enumerate(names)}
    d = np.full((len(names), len(names)), np.nan)
    for r in _read(RAW / "derived" / "skyplane_throughput_gbps_aws.csv"):
        s, t = r["src_region"][4:], r["dst_region"][4:]
        if s in idx and t in idx and r["success"] == "True":
            d[idx[s], idx[t]] = (float(r["throughput_sent_gbps"]) + float(r["throughput_received_gbps"])) / 2
    rev = np.where(np.isnan(d), d.T, d)          # impute a missing direction with the reverse one
    sym = np.where(np.isnan(rev.T), rev, (rev + rev.T) / 2)
    cls: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i < j and not np.isnan(sym[i, j]):
                cls[tuple(sorted((cont[a], cont[b])))].append(sym[i, j])
    n_imputed = 0
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j and np.isnan(sym[i, j]):
                sym[i, j] = float(np.median(cls[tuple(sorted((cont[a], cont[b])))]))
                n_imputed += 1
    np.fill_diagonal(sym, const["intra_region_throughput_gbps"])
    assert not np.isnan(sym).any()
    _matrix("throughput_gbps.csv",
            "bulk throughput [Gbit/s], Skyplane iperf3 (m5.8xlarge, 64 TCP flows, 2022-11), mean of sent/received, "
            f"symmetrised; {n_imputed} directed pairs not measured (ap-southeast-3) = median of the same "
            "continent-pair class; diagonal = intra_region_throughput_gbps ASSUMPTION", names, sym)
    return n_imputed


def build_egress(names: list[str]) -> None:
    idx = {n: i for i, n in enumerate(names)}
    d = np.full((len(names), len(names)), np.nan)
    for r in _read(RAW / "skyplane" / "aws_transfer_costs.csv"):
        if r["src"] in idx and r["dst"] in idx:
            d[idx[r["src"]], idx[r["dst"]]] = float(r["cost"])
    np.fill_diagonal(d, 0.0)
    gaps = [f"{names[i]}->{names[j]}" for i, j in np.argwhere(np.isnan(d))]
    for i, j in np.argwhere(np.isnan(d)):  # AWS prices by source region: use the source row's most common price
        vals, counts = np.unique(d[i][~np.isnan(d[i]) & (np.arange(len(names)) != i)], return_counts=True)
        d[i, j] = vals[np.argmax(counts)]
    _matrix("egress_usd_per_gb.csv", "AWS inter-region data transfer price [$/GB, 1 GB = 1e9 B] from src (row) to "
            "dst (column), first tier, Skyplane aws_transfer_costs.csv (2023); diagonal 0; missing in the source "
            f"and set to the source row's most common price (AWS prices by source region): {' '.join(gaps)}",
            names, d)


def build_prices(names: list[str]) -> None:
    price: dict[tuple[str, str], float] = {}
    for r in _read(RAW / "derived" / "aws_ec2_ondemand_linux_usd_per_hour.csv"):
        price[r["region"], r["instance_type"]] = float(r["ondemand_usd_per_hour"])
    rows = [[n, *[price.get((n, h), math.nan) for h in INSTANCE_TYPES]] for n in names]
    _write("prices_usd_per_hour.csv", "EC2 on-demand Linux price [$/h], SkyPilot catalog (AWS Price List API, 2025+);"
           " empty = not offered / not in the catalog (sa-east-1 has no rows: left not offered, never imputed)",
           ["region", *INSTANCE_TYPES], rows)
    _write("instance_types.csv", "instance types: accelerator ('' = CPU only), vcpus, memory_gib (catalog); "
           "speed_constant = constants.csv entry scaling its throughput relative to a T4 ('' = the T4 itself or CPU)",
           ["name", "accelerator", "is_gpu", "vcpus", "memory_gib", "speed_constant"],
           [[h, INSTANCE_SPEED[h][0], int(bool(INSTANCE_SPEED[h][0])), 4, {"c5.xlarge": 8, "g4dn.xlarge": 16,
             "inf1.xlarge": 8, "g5.xlarge": 16}[h], INSTANCE_SPEED[h][1]] for h in INSTANCE_TYPES])


# ---------------------------------------------------------------------------------------- models
def _bench(path: Path) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in _read(path):
        key = "infer_samples_per_sec" if "rtx3090" in path.name else "infer_step_time"
        out[r["model"]][int(r["infer_img_size"])] = float(r[key])
    return out


def fit_cpu_fixed_fraction(cpu: dict[str, dict[int, float]]) -> float:
    """f0 with t(s) = t(n)·(f0 + (1-f0)(s/n)²): least squares through the origin on every same-model pair."""
    xs, ys = [], []
    for _, _, timm in MODELS:
        sizes = sorted(cpu.get(timm, {}))
        for a in sizes:
            for b in sizes:
                if a < b:
                    xs.append((b / a) ** 2 - 1)
                    ys.append(cpu[timm][b] / cpu[timm][a] - 1)
    x, y = np.array(xs), np.array(ys)
    return float(1 - (x @ y) / (x @ x))


def build_models(f0: float) -> None:
    tv = {r["weights"]: r for r in _read(RAW / "derived" / "torchvision_0.29.1_classification_weights.csv")}
    gpu = _bench(RAW / "timm" / "benchmark-infer-amp-nchw-pt240-cu124-rtx3090.csv")
    cpu = _bench(RAW / "timm" / "benchmark-infer-fp32-nchw-pt240-cpu-i9_10940x-dynamo.csv")
    rows = []
    for name, weights, timm in MODELS:
        t = tv[weights]
        n = int(t["crop_size"])
        sg = min(gpu[timm], key=lambda s: (abs(s - n), s))   # nearest measured size, pixel-scaled to n
        sc = min(cpu[timm], key=lambda s: (abs(s - n), s))
        img_s = gpu[timm][sg] * (sg / n) ** 2
        cpu_ms = cpu[timm][sc] * (f0 + (1 - f0) * (n / sc) ** 2)
        rows.append([name, weights, timm, float(t["acc1_imagenet1k"]) / 100, float(t["gflops"]),
                     round(float(t["file_size_mb"]) * 2**20), n, img_s, cpu_ms, sg, sc])
    rows.sort(key=lambda r: (r[3], r[0]))
    _write("models.csv", "torchvision ImageNet-1k classifiers: top1 [fraction] at native_res_px (eval crop), gflops, "
           "file_bytes [B] (torchvision 0.29.1); gpu_img_per_s = timm RTX3090 AMP throughput, cpu_bs1_ms = timm "
           "i9-10940X batch-1 latency [ms], both at native_res_px (from the timm row at gpu_row_px/cpu_row_px, "
           "scaled by pixels; CPU with cpu_resolution_fixed_fraction)",
           ["name", "weights", "timm_model", "top1", "gflops", "file_bytes", "native_res_px", "gpu_img_per_s",
            "cpu_bs1_ms", "gpu_row_px", "cpu_row_px"], rows)


# ---------------------------------------------------------------------------------- data versions
def build_jpeg() -> None:
    acc: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r in _read(RAW / "derived" / "jpeg_size_vs_resolution_quality_measured.csv"):
        acc[int(r["side_px"]), int(r["jpeg_quality"])].append(int(r["bytes"]))
    rows = [[s, q, float(np.mean(v)), len(v)] for (s, q), v in sorted(acc.items())]
    _write("jpeg_bytes.csv", "mean JPEG size [bytes] of a side_px x side_px centre crop at jpeg_quality over the "
           "n_images measured photos that have that side (own measurement, Pillow 13, 4:2:0)",
           ["side_px", "jpeg_quality", "mean_bytes", "n_images"], rows)


def build_resolution_curve() -> None:
    slim = [r for r in _read(RAW / "derived" / "tfslim_mobilenet_accuracy_vs_resolution.csv")
            if r["model"] == "mobilenet_v2" and r["depth_multiplier"] == "1.0"]
    ref = next(float(r["top1"]) for r in slim if r["input_resolution"] == "224")
    pts = {math.log2(int(r["input_resolution"]) / 224): (float(r["top1"]) - ref, "tfslim MobileNetV2 1.0")
           for r in slim}
    top1 = {(r["model"], int(r["img_size"])): float(r["top1"]) for r in _read(RAW / "timm" / "results-imagenet.csv")}
    above: dict[float, list[float]] = defaultdict(list)
    for w, n, s in ABOVE_NATIVE_PAIRS:
        above[math.log2(s / n)].append(top1[w, s] - top1[w, n])
    for x, v in above.items():
        pts[x] = (float(np.mean(v)), "timm same weights above native: mean of " + " ".join(
            f"{w}({n}->{s})" for w, n, s in ABOVE_NATIVE_PAIRS if math.log2(s / n) == x))
    rows = [[x, 2**x, d, src] for x, (d, src) in sorted(pts.items())]
    _write("resolution_curve.csv", "top-1 change [points] when a model runs at res = native * 2^log2_ratio; "
           "piecewise linear in log2_ratio; above the last point: constant (capped); below the first: linear "
           "extrapolation with the first segment's slope (ASSUMPTION); applied additively to every model",
           ["log2_ratio", "ratio", "delta_top1_points", "source"], rows)
    _write("jpeg_quality_penalty.csv", f"top-1 points lost at JPEG quality; {JPEG_PENALTY_SOURCE}",
           ["jpeg_quality", "penalty_points"], [[q, p] for q, p in sorted(JPEG_PENALTY)])


# -------------------------------------------------------------------------------------- arrivals
def _stamps(name: str) -> np.ndarray:
    rows = _read(RAW / "azure" / f"AzureLLMInferenceTrace_{name}.csv")
    t = [datetime.strptime(r["TIMESTAMP"][:26], "%Y-%m-%d %H:%M:%S.%f").timestamp() for r in rows]
    return np.sort(np.array(t) - min(t))


def build_arrivals(bin_s: float) -> dict[str, float]:
    traces = {n: _stamps(n) for n in ("conv", "code")}
    rates = {f"azure_{n}_mean_rate_req_s": len(t) / float(t[-1]) for n, t in traces.items()}
    n_bins = int(min(t[-1] for t in traces.values()) // bin_s)
    cols = {}
    for n, t in traces.items():
        c = np.bincount((t // bin_s).astype(int), minlength=n_bins)[:n_bins].astype(float)
        cols[n] = c / c.mean()
    _write("arrivals.csv", f"Azure LLM inference trace 2023-11-16 (CC-BY-4.0, Splitwise ISCA 2024): requests per "
           f"{bin_s:g} s bin from t_s [s] after each trace's first request, normalised to mean 1 per trace",
           ["t_s", "conv", "code"], [[i * bin_s, cols["conv"][i], cols["code"][i]] for i in range(n_bins)])
    return rates


def build_tables() -> None:
    TABLES.mkdir(parents=True, exist_ok=True)
    const = {n: v for n, v, _, _ in CONSTANTS}
    regs = build_regions()
    names = [r["region"] for r in regs]
    build_rtt(names, const)
    build_throughput(regs, const)
    build_egress(names)
    build_prices(names)
    f0 = fit_cpu_fixed_fraction(_bench(RAW / "timm" / "benchmark-infer-fp32-nchw-pt240-cpu-i9_10940x-dynamo.csv"))
    build_models(f0)
    build_jpeg()
    build_resolution_curve()
    rates = build_arrivals(const["arrivals_bin_s"])
    rows = [[n, v, u, s] for n, v, u, s in CONSTANTS]
    rows.append(["cpu_resolution_fixed_fraction", f0, "1", "least-squares fit of t(s)=t(n)(f0+(1-f0)(s/n)^2) over "
                 "all same-model size pairs of the timm i9 CPU batch-1 benchmark for models.csv"])
    for n, v in sorted(rates.items()):
        rows.append([n, v, "req/s", "Azure LLM inference trace 2023 (CC-BY-4.0): requests / (last - first arrival)"])
    _write("constants.csv", "named constants of the physical models (a2gym.physics); source says measured "
           "vs ASSUMPTION", ["name", "value", "unit", "source"], rows)


def build_scenario() -> str:
    from a2gym.scenario import tables
    from a2gym.scenario.default import build_paper_default

    tables.load_tables.cache_clear()
    scn = build_paper_default()
    SCENARIOS.mkdir(parents=True, exist_ok=True)
    scn.save(SCENARIOS / f"{scn.name}.json")
    man_path = SCENARIOS / "MANIFEST.json"
    manifest = json.loads(man_path.read_text(encoding="utf-8")) if man_path.exists() else {}
    manifest[scn.name] = scn.sha256
    man_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n", encoding="utf-8")
    return f"{scn!r}"


if __name__ == "__main__":
    build_tables()
    print("tables written to", TABLES.relative_to(ROOT))
    print(build_scenario())
