"""Small random A² scenarios with realistic structure, for solver tests (not the package generator).

Accuracy grows with model size and data fidelity, bytes and service time grow with fidelity, transfer
prices depend on the source region, loads span fractions of an instance to several instances.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2gym import CostModel
from a2gym.scenario import Scenario


def random_scenario(seed: int, R: int = 12, K: int = 4, M: int = 3, D: int = 3, H: int = 1,
                    **overrides: Any) -> Scenario:
    """A feasible random scenario (classes no facility can serve get a loose floor and SLO)."""
    g = np.random.default_rng(seed)
    lat = g.uniform(-40, 60, K)
    lon = g.uniform(-120, 140, K)
    dist = np.hypot(lat[:, None] - lat[None, :], lon[:, None] - lon[None, :]) * 111.0  # km
    rtt = 1.0 + dist / 100.0
    bw = np.where(np.eye(K, dtype=bool), 10.0, g.uniform(0.1, 1.0, (K, K)))
    src = g.choice([0.02, 0.02, 0.09, 0.138], K)
    egress = np.where(np.eye(K, dtype=bool), 0.0, src[:, None] * np.ones((1, K)))
    type_price = np.sort(g.uniform(0.1, 1.2, H))
    speed = 1.0 + 3.0 * np.arange(H) / max(1, H - 1) if H > 1 else np.ones(1)
    price = type_price[None, :] * g.uniform(1.0, 1.4, (K, 1))
    acc_m = np.sort(g.uniform(0.62, 0.84, M))
    pen_d = np.sort(g.uniform(0.0, 0.12, D))[::-1]
    pen_d[-1] = 0.0
    acc = np.clip(acc_m[:, None] - pen_d[None, :], 0, 1)
    nbytes = np.sort(g.uniform(1.5e4, 2.5e5, D))
    res_f = np.sort(g.uniform(0.25, 1.0, D))
    res_f[-1] = 1.0
    svc_m = np.sort(g.uniform(8.0, 90.0, M))
    svc = svc_m[:, None, None] * res_f[None, :, None] / speed[None, None, :]
    inf_lat = 1.5 * svc
    origin = g.integers(0, K, R)
    floor = g.uniform(acc.min(), acc.max(), R)
    slo = g.uniform(60.0, 400.0, R)
    rate = np.exp(g.uniform(np.log(0.3), np.log(40.0), R))
    kw: dict[str, Any] = dict(
        name=f"rand-{seed}", description="random test scenario", regions=tuple(f"k{k}" for k in range(K)),
        instance_types=tuple(f"h{h}" for h in range(H)), models=tuple(f"m{m}" for m in range(M)),
        data_versions=tuple(f"d{d}" for d in range(D)), classes=tuple(f"c{r}" for r in range(R)),
        region_lat=lat, region_lon=lon, region_utc_offset_h=np.zeros(K), instance_is_gpu=np.arange(H) > 0,
        model_bytes=g.uniform(2e7, 3e8, M), data_resolution_px=(np.arange(D) + 1) * 64,
        data_jpeg_quality=np.full(D, 80), data_bytes=nbytes, class_origin=origin, class_accuracy_floor=floor,
        class_latency_slo_ms=slo, class_rate=rate, price_per_hour=price, egress_per_gb=egress, rtt_ms=rtt,
        bandwidth_gbps=bw, accuracy=acc, service_time_ms=svc, inference_latency_ms=inf_lat,
        epoch_hours=1.0, target_utilisation=0.7, queueing_allowance_ms=10.0, access_latency_ms=5.0,
        access_bandwidth_mbps=50.0, deployment_home_region="k0", cold_start_s=0.0,
        assumptions={"random": "test scenario"},
    )
    kw.update(overrides)
    s = Scenario(**kw)
    bad = CostModel(s).infeasible_classes()
    if bad.size:
        floor = np.array(s.class_accuracy_floor)
        slo = np.array(s.class_latency_slo_ms)
        floor[bad] = acc.min()
        slo[bad] = 5000.0
        s = s.replace(class_accuracy_floor=floor, class_latency_slo_ms=slo)
    return s
