"""Hand-made toy scenarios for tests whose costs are computed by hand (not mocks: real Scenario objects)."""

from __future__ import annotations

from typing import Any

import numpy as np

from a2gym.scenario import Scenario


def two_region_toy(**overrides: Any) -> Scenario:
    """2 regions (A, B), 1 instance type, 1 model, 2 data versions (small, big), 2 classes.

    Prices A 1 $/h, B 2 $/h; egress A->B 0.1 $/GB, B->A 0.05 $/GB; model 1 GB shipped from A.
    small: 1e5 B, accuracy 0.7, service 100 ms, inference 50 ms; big: 2e5 B, 0.8, 200 ms, 100 ms.
    c0 at A needs accuracy 0.75 (big only), 2 req/s; c1 at B needs 0.6, 1 req/s; both SLO 500 ms.
    """
    kw: dict[str, Any] = dict(
        name="toy-2region",
        description="hand-computed toy",
        regions=("A", "B"),
        instance_types=("cpu",),
        models=("m",),
        data_versions=("small", "big"),
        classes=("c0", "c1"),
        region_lat=[0.0, 10.0],
        region_lon=[0.0, 10.0],
        region_utc_offset_h=[0.0, 1.0],
        instance_is_gpu=[False],
        model_bytes=[1e9],
        data_resolution_px=[100, 200],
        data_jpeg_quality=[75, 75],
        data_bytes=[1e5, 2e5],
        class_origin=[0, 1],
        class_accuracy_floor=[0.75, 0.6],
        class_latency_slo_ms=[500.0, 500.0],
        class_rate=[2.0, 1.0],
        price_per_hour=[[1.0], [2.0]],
        egress_per_gb=[[0.0, 0.1], [0.05, 0.0]],
        rtt_ms=[[1.0, 100.0], [100.0, 1.0]],
        bandwidth_gbps=[[1000.0, 1000.0], [1000.0, 1000.0]],
        accuracy=[[0.7, 0.8]],
        service_time_ms=[[[100.0], [200.0]]],
        inference_latency_ms=[[[50.0], [100.0]]],
        epoch_hours=1.0,
        target_utilisation=0.5,
        queueing_allowance_ms=0.0,
        access_latency_ms=0.0,
        access_bandwidth_mbps=8000.0,
        deployment_home_region="A",
        cold_start_s=0.0,
        assumptions={"toy": "hand-made numbers for a hand-computed cost"},
    )
    kw.update(overrides)
    return Scenario(**{k: (np.asarray(v) if isinstance(v, list) else v) for k, v in kw.items()})
