"""``scenario://paper-default-v0``: the bundled real-data scenario (9 AWS regions, torchvision models).

:func:`build_paper_default` derives every array from the processed tables (:mod:`a2gym.scenario.tables`)
with the physical models of :mod:`a2gym.physics`; ``scripts/build_data.py`` saves the result and
pins its SHA-256. Every choice that is not a measurement is a named entry of ``Scenario.assumptions``.
"""

from __future__ import annotations

import numpy as np

from a2gym import physics
from a2gym.errors import ScenarioError
from a2gym.scenario.tables import Tables, load_tables
from a2gym.scenario.types import Scenario

NAME = "paper-default-v0"
REGIONS = ("us-east-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-central-1", "ap-south-1",
           "ap-southeast-1", "ap-northeast-1", "ap-southeast-2")
INSTANCE_TYPES = ("c5.xlarge", "g4dn.xlarge")
MODELS = ("mobilenet_v3_small", "resnet18", "mobilenet_v3_large", "efficientnet_b0", "resnet50", "resnet101",
          "resnet152", "efficientnet_b4")
RESOLUTIONS_PX = (128, 160, 224, 288, 384)
JPEG_QUALITIES = (50, 75, 95)
# accuracy floor -> share of an origin's requests; latency SLO [ms] -> share (independent split)
FLOOR_SHARE = {0.70: 0.5, 0.76: 0.3, 0.80: 0.2}
SLO_SHARE = {80.0: 0.4, 250.0: 0.6}
LOAD_SCALE = 100.0
SCALARS = {"epoch_hours": 1.0, "target_utilisation": 0.7, "queueing_allowance_ms": 20.0,
           "access_latency_ms": 10.0, "access_bandwidth_mbps": 20.0, "deployment_home_region": "us-east-1",
           "cold_start_s": 60.0}
SCALAR_WHY = {
    "epoch_hours": "planning epoch T; the paper plans per epoch and EC2 bills on-demand instances per hour",
    "target_utilisation": "rho: instances are provisioned to 70% busy time so that queueing stays within the allowance",
    "queueing_allowance_ms": "q: queueing/batching delay budget added to every request's latency",
    "access_latency_ms": "user-to-origin-region RTT (last mile + metro); no per-user dataset found (data NOTES §1.4)",
    "access_bandwidth_mbps": "user uplink used to upload the payload to its origin region (NOTES §1.3: 10-100 Mbit/s)",
    "deployment_home_region": "model weights are shipped from here when a model is deployed elsewhere",
    "cold_start_s": "instance time lost loading a freshly deployed model (GeoServe only)",
}


def data_version_name(res_px: int, quality: int) -> str:
    """Name of a data version, e.g. ``224px-q75``."""
    return f"{res_px}px-q{quality}"


def constant_assumptions(t: Tables, names: tuple[str, ...]) -> dict[str, str]:
    """``assumptions`` entries for named constants: "value unit; source"."""
    return {n: f"{t.const(n):g} {t.constants[n].unit}; {t.constants[n].source}" for n in names}


COSTING_CONSTANTS = ("t4_over_rtx3090_throughput", "gpu_bs1_latency_floor_ms", "gpu_serving_batch",
                     "c5xlarge_over_i9_cpu_slowdown", "cpu_resolution_fixed_fraction", "intra_region_rtt_ms",
                     "intra_region_throughput_gbps", "per_flow_fraction")


def physics_assumptions(t: Tables) -> dict[str, str]:
    """Assumptions behind accuracy, bytes, inference time and network arrays (shared with the generator)."""
    pen = ", ".join(f"q{q:g}: {p:g}" for q, p in zip(t.jpeg_penalty_quality, t.jpeg_penalty_points, strict=True))
    return {
        "jpeg_quality_penalty_points": f"{{{pen}}} top-1 points lost, linear in between; ASSUMPTION following the "
        "shape (not numbers) of Ehrlich et al. ICCVW 2021, Yang et al. Entropy 2021, Dodge & Karam QoMEX 2016, "
        "ImageNet-C (data NOTES §4.3: no machine-readable table exists)",
        "resolution_curve": "top-1 change vs log2(res/native): TF-slim MobileNetV2 1.0 (96-224 px, separately "
        "trained checkpoints) applied additively to every model; above native: timm same-weight pairs "
        "(+0.83 at 1.14x, +0.86 at 1.29x), capped there; below 96/224: extrapolated with the 96-128 slope",
        "accuracy_model": "a[m,d] = torchvision top-1 at native crop + resolution delta - JPEG penalty; no "
        "measurement of these torchvision weights at other resolutions or qualities exists in the snapshot",
        "data_bytes_model": "mean JPEG bytes of 4 CC0/PD photos (own measurement, Pillow 13, 4:2:0), square "
        "crop res x res at quality q; ImageNet photos may differ",
        "gpu_inference_model": "T4 throughput = timm RTX3090 AMP img/s at native res x t4_over_rtx3090_throughput "
        "x (native/res)^2; service time tau = 1/throughput; latency = max(gpu_bs1_latency_floor_ms, "
        "gpu_serving_batch x tau)",
        "cpu_inference_model": "c5.xlarge latency = service time = timm i9 CPU batch-1 ms at native res x "
        "c5xlarge_over_i9_cpu_slowdown x (f0 + (1-f0)(res/native)^2), f0 = cpu_resolution_fixed_fraction",
        "bandwidth_model": "bandwidth_gbps = Skyplane 64-flow iperf3 throughput x per_flow_fraction (one request "
        "= one TCP flow); rtt = Skyplane ping avg, symmetrised",
        "model_bytes": "torchvision weight file size (deployment transfer)",
        "egress_per_gb": "AWS inter-region transfer price of the source region (Skyplane aws_transfer_costs.csv)",
        "price_per_hour": "EC2 on-demand Linux $/h, SkyPilot catalog from the AWS Price List API (2025+)",
        **constant_assumptions(t, COSTING_CONSTANTS),
    }


def build_paper_default() -> Scenario:
    """The bundled default scenario; raises ScenarioError if any class were infeasible."""
    t = load_tables()
    ki, mi, hi = t.region_index(REGIONS), t.model_index(MODELS), t.type_index(INSTANCE_TYPES)
    res = np.repeat(RESOLUTIONS_PX, len(JPEG_QUALITIES))
    qual = np.tile(JPEG_QUALITIES, len(RESOLUTIONS_PX))
    tau, lat = physics.inference_ms(t, mi, res, hi)
    conv_rate = t.const("azure_conv_mean_rate_req_s")
    total = LOAD_SCALE * conv_rate
    w = t.demand_weight[ki] / t.demand_weight[ki].sum()
    classes, origin, floor, slo, rate = [], [], [], [], []
    for o, name in enumerate(REGIONS):
        for a, fs in FLOOR_SHARE.items():
            for s_ms, ss in SLO_SHARE.items():
                classes.append(f"{name}/acc{a:.2f}/slo{s_ms:.0f}")
                origin.append(o)
                floor.append(a)
                slo.append(s_ms)
                rate.append(total * w[o] * fs * ss)
    assumptions = physics_assumptions(t)
    assumptions.update({k: f"{v}; {SCALAR_WHY[k]}" for k, v in SCALARS.items()})
    assumptions.update({
        "regions": f"{', '.join(REGIONS)}; the 9 regions of data NOTES §0 with prices, RTTs and transfer prices; "
        "every region is also a request origin",
        "instance_types": f"{', '.join(INSTANCE_TYPES)}; one CPU and one GPU type (|I| = {len(REGIONS)} x "
        f"{len(MODELS)} x {len(INSTANCE_TYPES)})",
        "models": f"{', '.join(MODELS)}; torchvision ImageNet weights spanning top-1 "
        f"{t.model_top1[mi].min():.3f}-{t.model_top1[mi].max():.3f} and 0.06-11.5 GFLOPs",
        "data_versions": f"resolutions {list(RESOLUTIONS_PX)} px x JPEG qualities {list(JPEG_QUALITIES)}",
        "load_scale": f"{LOAD_SCALE:g}; total load = load_scale x Azure LLM conv trace mean rate "
        f"({conv_rate:.3f} req/s) = {total:.1f} req/s worldwide: ASSUMPTION, a mid-size image service",
        "demand_weight": "share of the total load originating at each region = its demand_weight / sum; "
        "ASSUMPTION: rough internet users (millions) whose nearest region it is: " + ", ".join(
            f"{n} {t.demand_weight[k]:g}" for n, k in zip(REGIONS, ki, strict=True)),
        "class_share_by_floor": f"{FLOOR_SHARE}: share of an origin's requests per accuracy floor; ASSUMPTION",
        "class_share_by_slo": f"{SLO_SHARE}: share per latency SLO [ms], independent of the floor; ASSUMPTION "
        "(80 ms interactive: must be served near the origin; 250 ms relaxed: may cross a continent)",
    })
    scn = Scenario(
        name=NAME,
        description=(
            "Default a2gym scenario from real data: 9 AWS regions (all request origins) with measured Skyplane "
            "RTTs and 64-flow throughput, AWS inter-region transfer prices and 2025 EC2 on-demand prices for "
            "c5.xlarge (CPU) and g4dn.xlarge (T4 GPU); 8 torchvision ImageNet classifiers (top-1 0.68-0.83); 15 "
            "data versions (128-384 px x JPEG q50/75/95) with measured JPEG sizes; 54 request classes (origin x "
            "accuracy floor 0.70/0.76/0.80 x SLO 80/250 ms) whose rates split about 553 req/s by a regional "
            "demand assumption. Inference times scale timm benchmarks to T4/c5 with named factors; the JPEG "
            "accuracy penalty and the demand split are labelled assumptions (see assumptions)."),
        regions=REGIONS, instance_types=INSTANCE_TYPES, models=MODELS,
        data_versions=tuple(data_version_name(int(r), int(q)) for r, q in zip(res, qual, strict=True)),
        classes=tuple(classes),
        region_lat=t.region_lat[ki], region_lon=t.region_lon[ki], region_utc_offset_h=t.region_utc_offset_h[ki],
        instance_is_gpu=t.instance_is_gpu[hi], model_bytes=t.model_file_bytes[mi],
        data_resolution_px=res, data_jpeg_quality=qual, data_bytes=physics.data_bytes(t, res, qual),
        class_origin=np.array(origin), class_accuracy_floor=np.array(floor), class_latency_slo_ms=np.array(slo),
        class_rate=np.array(rate),
        price_per_hour=t.price_usd_per_hour[np.ix_(ki, hi)], egress_per_gb=t.egress_usd_per_gb[np.ix_(ki, ki)],
        rtt_ms=t.rtt_ms[np.ix_(ki, ki)],
        bandwidth_gbps=t.throughput_gbps[np.ix_(ki, ki)] * t.const("per_flow_fraction"),
        accuracy=physics.accuracy(t, mi, res, qual), service_time_ms=tau, inference_latency_ms=lat,
        assumptions=assumptions, **SCALARS,
    )
    bad = ~physics.scenario_classes_feasible(scn)
    if bad.any():
        raise ScenarioError(f"{NAME}: infeasible classes {[scn.classes[r] for r in np.flatnonzero(bad)]}")
    return scn
