"""Synthetic scenarios drawn around the real tables: ``generator://synth-v0/SEED?classes=N&regions=K&...``.

``synth_v0`` is a pure function of its arguments: all randomness comes from
``np.random.default_rng(seed)`` in a fixed order, so the same URI gives identical arrays (and SHA-256) in
any process **and on every machine**. The canonical-float rule (:mod:`a2gym.exactmath`): random draws are
taken only as numpy's exact outputs (``random``, ``standard_normal``, ``choice``, ``permutation``) and mapped
with one-rounding-per-operation arithmetic; every ``exp`` / ``log`` / ``log2`` is correctly rounded (not
numpy's CPU-dispatched SIMD kernels, which differ in the last ulp between AVX2 and AVX-512 builds); whole-ms
SLOs are rounded from a fast exp, recomputed exactly within 1e-9 of a half. Every float is therefore the
one IEEE-754 answer, which the SHA-256 is taken over. ``tests/test_exactmath.py`` perturbs numpy's
transcendental functions and float distributions by a few ulps and checks that no hash moves.

Every class is feasible: classes no (region, model, data version, instance type) can serve are
redrawn deterministically with a relaxed SLO, at most ``MAX_REDRAWS`` times, then ScenarioError.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from a2gym import exactmath, physics
from a2gym.checks import is_int
from a2gym.errors import ScenarioError
from a2gym.scenario.default import LOAD_SCALE, SCALARS, data_version_name, physics_assumptions
from a2gym.scenario.tables import Tables, load_tables
from a2gym.scenario.types import Scenario

RESOLUTIONS_PX = (96, 128, 160, 192, 224, 256, 288, 320, 384)
JPEG_QUALITIES = (10, 25, 50, 75, 85, 90, 95)
PRICE_NOISE = 0.10        # price x U(1 - 0.1, 1 + 0.1)
RTT_NOISE = 0.05          # rtt x U(0.95, 1.05), symmetric
LOAD_RANGE = (0.5, 2.0)   # total load = LOAD_SCALE x Azure conv mean rate x U(0.5, 2)
RATE_SIGMA = 0.75         # per-class rate x lognormal(0, 0.75), renormalised to the total
FLOOR_RANGE = (0.60, 0.82)  # top-1 fraction, upper end capped below the best achievable accuracy
SLO_RANGE_MS = (60.0, 400.0)  # log-uniform
SLO_RELAX = 1.25          # a redrawn class's SLO is multiplied by 1.25^attempt
MAX_REDRAWS = 12
MAX_CLASSES = 1_000_000


def _check(name: str, value: int, hi: int, what: str) -> int:
    if not (is_int(value) and 1 <= value <= hi):
        raise ScenarioError(f"synth-v0: {name} = {value!r} must be an integer in [1, {hi}] ({what})")
    return int(value)


def _pick_regions(rng: np.random.Generator, t: Tables, n: int, types: np.ndarray) -> np.ndarray:
    perm = rng.permutation(len(t.regions))
    hosts = ~np.isnan(t.price_usd_per_hour[:, types]).all(axis=1)
    chosen = perm[:n].copy()
    if not hosts[chosen].any():  # no chosen region offers any chosen type: swap in the next one that does
        chosen[-1] = perm[n:][hosts[perm[n:]]][0]
    return np.sort(chosen)


def _draw_classes(rng: np.random.Generator, n: int, floor_hi: float) -> tuple[np.ndarray, np.ndarray]:
    lo = min(FLOOR_RANGE[0], floor_hi - 0.05)
    floor = np.round(exactmath.uniform(rng, lo, floor_hi, n), 3)
    log_slo = exactmath.uniform(rng, *exactmath.log(np.array(SLO_RANGE_MS)).tolist(), n)
    slo = exactmath.round_half_safe(np.exp(log_slo), exactmath.exp, log_slo)
    return floor, slo


def synth_v0(seed: int, n_classes: int = 50, n_regions: int = 9, n_models: int = 6, n_data_versions: int = 12,
             n_instance_types: int = 2) -> Scenario:
    """A reproducible synthetic scenario drawn around the real tables.

    Draws (in this order): instance types (subset of the 4 in the tables), regions (subset of the 21;
    at least one offering a chosen type; sa-east-1 has no prices and can only be an origin), models
    (one per accuracy-sorted stratum), data versions (subset of 9 resolutions x 7 JPEG qualities),
    prices x U(0.9, 1.1), RTTs x U(0.95, 1.05), total load, class origins (∝ region demand weight),
    rates (lognormal, summing to the total), floors U(0.60, 0.82) and SLOs log-U(60, 400) ms.
    Raises ScenarioError naming a bad parameter, or if a class stays infeasible after MAX_REDRAWS.
    Time and memory are linear in ``n_classes`` (1e6 classes: about 15 s,
    most of it the correctly rounded exp of the rates).
    """
    t = load_tables()
    if not (is_int(seed) and seed >= 0):
        raise ScenarioError(f"synth-v0: seed = {seed!r} must be a non-negative integer")
    n_classes = _check("n_classes", n_classes, MAX_CLASSES, "request classes")
    n_regions = _check(
        "n_regions", n_regions, len(t.regions), f"the tables hold {len(t.regions)} AWS regions"
    )
    n_models = _check("n_models", n_models, len(t.models), f"the tables hold {len(t.models)} models")
    n_data = _check("n_data_versions", n_data_versions, len(GRID), "resolution x JPEG quality grid")
    n_types = _check(
        "n_instance_types", n_instance_types, len(t.instance_types), "instance types in the tables"
    )
    rng = np.random.default_rng(int(seed))
    sets = _draw_sets(rng, t, n_regions, n_models, n_data, n_types)
    net = _draw_network(rng, t, sets)
    cls = _draw_demand(rng, t, sets, net, n_classes)
    _redraw_infeasible(rng, t, sets, net, cls, seed)
    return _build(t, seed, sets, net, cls)


GRID = list(itertools.product(RESOLUTIONS_PX, JPEG_QUALITIES))  # the data versions synth-v0 draws from


def _draw_sets(rng: np.random.Generator, t: Tables, n_regions: int, n_models: int, n_data: int,
               n_types: int) -> dict[str, np.ndarray]:
    """Indices into the tables of the drawn instance types ``hi``, regions ``ki``, models ``mi``, and the
    data versions' resolutions ``res`` [px] and JPEG qualities ``qual``."""
    hi = np.sort(rng.choice(len(t.instance_types), n_types, replace=False))
    ki = _pick_regions(rng, t, n_regions, hi)
    mi = np.array([int(rng.choice(b)) for b in np.array_split(np.arange(len(t.models)), n_models)])
    dv = np.sort(rng.choice(len(GRID), n_data, replace=False))
    return {"hi": hi, "ki": ki, "mi": mi, "res": np.array([GRID[j][0] for j in dv]),
            "qual": np.array([GRID[j][1] for j in dv])}


def _draw_network(rng: np.random.Generator, t: Tables, sets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Prices [$/h] and RTTs [ms] with their noise, bandwidth [Gbit/s], and the physics of the drawn
    models and data versions: accuracy, bytes, service time and inference latency [ms]."""
    hi, ki, mi, res, qual = sets["hi"], sets["ki"], sets["mi"], sets["res"], sets["qual"]
    n_regions, n_types = len(ki), len(hi)
    price = t.price_usd_per_hour[np.ix_(ki, hi)] * exactmath.uniform(
        rng, 1 - PRICE_NOISE, 1 + PRICE_NOISE, (n_regions, n_types)
    )
    noise = np.triu(exactmath.uniform(rng, 1 - RTT_NOISE, 1 + RTT_NOISE, (n_regions, n_regions)), 1)
    rtt = t.rtt_ms[np.ix_(ki, ki)] * (noise + noise.T + np.eye(n_regions))
    bandwidth = t.throughput_gbps[np.ix_(ki, ki)] * t.const("per_flow_fraction")
    tau, lat = physics.inference_ms(t, mi, res, hi)
    return {"price": price, "rtt": rtt, "bandwidth": bandwidth, "acc": physics.accuracy(t, mi, res, qual),
            "nbytes": physics.data_bytes(t, res, qual), "tau": tau, "lat": lat}


def _draw_demand(rng: np.random.Generator, t: Tables, sets: dict[str, np.ndarray], net: dict[str, np.ndarray],
                 n_classes: int) -> dict[str, Any]:
    """The classes: ``origin`` (region index), ``rate`` [req/s] summing to ``total``, ``floor`` (top-1
    fraction, at most ``floor_hi``) and ``slo`` [ms]."""
    ki = sets["ki"]
    total = LOAD_SCALE * t.const("azure_conv_mean_rate_req_s") * exactmath.uniform(rng, *LOAD_RANGE)
    w = t.demand_weight[ki] / t.demand_weight[ki].sum()
    origin = np.sort(rng.choice(len(ki), n_classes, p=w))
    rate = exactmath.lognormal(rng, 0.0, RATE_SIGMA, n_classes)
    rate *= total / rate.sum()
    floor_hi = min(FLOOR_RANGE[1], float(net["acc"].max()) - 0.005)
    floor, slo = _draw_classes(rng, n_classes, floor_hi)
    return {"total": total, "origin": origin, "rate": rate, "floor_hi": floor_hi, "floor": floor, "slo": slo}


def _redraw_infeasible(rng: np.random.Generator, t: Tables, sets: dict[str, np.ndarray],
                       net: dict[str, np.ndarray], cls: dict[str, Any], seed: int) -> None:
    """Redraw (in place) the floor and SLO of every class no option can serve, relaxing the SLO by
    ``SLO_RELAX**attempt``, at most ``MAX_REDRAWS`` times; then ScenarioError."""
    origin, floor, slo, floor_hi = cls["origin"], cls["floor"], cls["slo"], cls["floor_hi"]
    best = physics.best_latency_by_origin(
        net["rtt"],
        net["bandwidth"],
        net["nbytes"],
        net["lat"],
        net["price"],
        SCALARS["access_latency_ms"],
        SCALARS["access_bandwidth_mbps"],
        SCALARS["queueing_allowance_ms"],
    )
    bad = ~physics.classes_feasible(best, net["acc"], origin, floor, slo)
    for attempt in range(1, MAX_REDRAWS + 1):
        if not bad.any():
            break
        idx = np.flatnonzero(bad)
        f, s = _draw_classes(rng, idx.size, floor_hi)
        floor[idx], slo[idx] = f, np.round(s * SLO_RELAX**attempt, 0)
        bad[idx] = ~physics.classes_feasible(best, net["acc"], origin[idx], floor[idx], slo[idx])
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ScenarioError(
            f"synth-v0 seed {seed}: {int(bad.sum())} classes still infeasible after {MAX_REDRAWS} "
            f"redraws, e.g. origin {t.regions[sets['ki'][origin[r]]]} floor {floor[r]} SLO {slo[r]} ms"
        )


def _build(t: Tables, seed: int, sets: dict[str, np.ndarray], net: dict[str, np.ndarray],
           cls: dict[str, Any]) -> Scenario:
    """The validated :class:`Scenario` of the draws, with its name, description and assumptions."""
    hi, ki, mi, res, qual = sets["hi"], sets["ki"], sets["mi"], sets["res"], sets["qual"]
    n_classes, n_regions, n_models, n_data = len(cls["origin"]), len(ki), len(mi), len(res)
    regions = tuple(t.regions[k] for k in ki)
    home = "us-east-1" if "us-east-1" in regions else regions[0]
    return Scenario(
        name=f"synth-v0-{seed}-c{n_classes}-r{n_regions}-m{n_models}-d{n_data}-h{len(hi)}",
        description=(
            f"Synthetic A² scenario drawn by synth-v0 from seed {seed}: {n_regions} of the 21 AWS regions "
            f"with measured RTTs (±{RTT_NOISE:.0%}), throughput and transfer prices, EC2 prices "
            f"(±{PRICE_NOISE:.0%}) for {', '.join(t.instance_types[h] for h in hi)}, {n_models} torchvision "
            f"models, {n_data} data versions and {n_classes} request classes with random floors, SLOs and "
            "rates; every class is feasible."
        ),
        regions=regions,
        instance_types=tuple(t.instance_types[h] for h in hi),
        models=tuple(t.models[m] for m in mi),
        data_versions=tuple(data_version_name(int(r), int(q)) for r, q in zip(res, qual, strict=True)),
        classes=tuple(f"{regions[o]}/c{r:05d}" for r, o in enumerate(cls["origin"].tolist())),
        region_lat=t.region_lat[ki],
        region_lon=t.region_lon[ki],
        region_utc_offset_h=t.region_utc_offset_h[ki],
        instance_is_gpu=t.instance_is_gpu[hi],
        model_bytes=t.model_file_bytes[mi],
        data_resolution_px=res,
        data_jpeg_quality=qual,
        data_bytes=net["nbytes"],
        class_origin=cls["origin"],
        class_accuracy_floor=cls["floor"],
        class_latency_slo_ms=cls["slo"],
        class_rate=cls["rate"],
        price_per_hour=net["price"],
        egress_per_gb=t.egress_usd_per_gb[np.ix_(ki, ki)],
        rtt_ms=net["rtt"],
        bandwidth_gbps=net["bandwidth"],
        accuracy=net["acc"],
        service_time_ms=net["tau"],
        inference_latency_ms=net["lat"],
        assumptions=_assumptions(t, seed, home, cls),
        **{**SCALARS, "deployment_home_region": home},
    )


def _assumptions(t: Tables, seed: int, home: str, cls: dict[str, Any]) -> dict[str, str]:
    floor_hi = cls["floor_hi"]
    assumptions = physics_assumptions(t)
    assumptions.update(
        {k: f"{v}; as paper-default-v0" for k, v in SCALARS.items() if k != "deployment_home_region"}
    )
    assumptions.update(
        {
            "deployment_home_region": f"{home}; us-east-1 when drawn, else the first region",
            "generator": f"synth-v0, seed {seed}: draws around the real tables "
            "(see a2gym.scenario.generator)",
            "price_noise": f"on-demand prices x U({1 - PRICE_NOISE:g}, {1 + PRICE_NOISE:g}) per (region, "
                           f"type)",
            "rtt_noise": f"RTTs x U({1 - RTT_NOISE:g}, {1 + RTT_NOISE:g}), symmetric",
            "total_load": f"{cls['total']:.3f} req/s = {LOAD_SCALE:g} x Azure conv mean rate x U{LOAD_RANGE}",
            "class_origin": "drawn with probability proportional to the regions' demand_weight (ASSUMPTION, "
                            "regions.csv)",
            "class_rate": f"lognormal(0, {RATE_SIGMA}) per class, scaled to sum to total_load",
            "class_accuracy_floor": f"U({min(FLOOR_RANGE[0], floor_hi - 0.05):.3f}, {floor_hi:.3f}), 3 "
                                    f"decimals",
            "class_latency_slo_ms": f"log-uniform {SLO_RANGE_MS} ms, whole ms; a class with no feasible "
                                    f"option is "
            f"redrawn with its SLO x {SLO_RELAX}^attempt (at most {MAX_REDRAWS} times)",
        }
    )
    return assumptions


GENERATORS: dict[str, Callable[..., Scenario]] = {"synth-v0": synth_v0}
