"""The physics of A²: latency, accuracy, payload bytes, inference time and the numeric tolerance.

This module sits below both :mod:`a2gym.scenario` (whose builders derive a scenario's arrays from the
data tables with it) and :mod:`a2gym.costmodel` (which evaluates plans with it), so each formula lives
in one place and neither of them imports the other to reach it.  It imports only numpy and
:mod:`a2gym.errors`.

The builders' floats are the same bits on every machine: the transcendental functions here (log2, log,
exp) are the correctly rounded ones of :mod:`a2gym.exactmath`, and interpolation is
:func:`a2gym.exactmath.interp` (one rounded operation at a time), never numpy's CPU-dispatched kernels.

Every constant comes from ``a2gym/data/tables/constants.csv`` (``Tables.const``) with its source; all
functions are vectorised over models M, data versions D and instance types H. Nothing is clipped: a value
outside its valid range raises :class:`~a2gym.errors.ScenarioError`.

End-to-end latency of a request of origin o served in region k (ms); its network part is
:func:`network_latency_ms`, the one place the formula lives::

    lat = access_latency_ms + 8·bytes/(access_bandwidth_mbps·1e3) + rtt_ms[o,k]
          + 8·bytes/(bandwidth_gbps[o,k]·1e6) + inference_latency_ms[m,d,h] + queueing_allowance_ms

(8·bytes bits / (Mbit/s·1e6) s = 8·bytes/(Mbit/s·1e3) ms; likewise Gbit/s with 1e9 → 1e6.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from a2gym import exactmath
from a2gym.errors import ScenarioError

if TYPE_CHECKING:  # types only: the scenario package imports this module, not the other way round
    from a2gym.scenario.tables import Tables
    from a2gym.scenario.types import Scenario

# Relative slack for floating comparisons of latency (ms), accuracy and capacity (instances).
TOL = 1e-9


def network_latency_ms(rtt_ms: np.ndarray, bandwidth_gbps: np.ndarray, data_bytes: np.ndarray,
                       access_latency_ms: float, access_bandwidth_mbps: float,
                       queueing_allowance_ms: float) -> np.ndarray:
    """Latency of everything but inference [ms]: access + upload + RTT + transfer + queueing allowance.

    ``rtt_ms`` and ``bandwidth_gbps`` are [..., K] rows from each origin, ``data_bytes`` is [D]; the result
    is [..., K, D]. The one place this formula lives (the scenario builders check feasibility with it too).
    """
    bits = 8.0 * np.asarray(data_bytes, dtype=float)  # [D]
    access_ms = access_latency_ms + bits / (access_bandwidth_mbps * 1e3)  # [D]
    transfer_ms = bits / (bandwidth_gbps[..., None] * 1e6)  # [..., K, D]
    return rtt_ms[..., None] + transfer_ms + access_ms + queueing_allowance_ms


def resolution_delta_points(t: Tables, ratio: np.ndarray) -> np.ndarray:
    """Top-1 change [points] of running a model at ``ratio`` = res / native resolution.

    Piecewise linear in log2(ratio) through ``resolution_curve.csv``; constant above the last point (the
    above-native gain is capped); below the first point, linear extrapolation with the first segment's slope.
    """
    x = exactmath.log2(np.asarray(ratio, dtype=float))
    xs, ys = t.resolution_log2_ratio, t.resolution_delta_points
    slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    return np.where(x < xs[0], ys[0] + slope * (x - xs[0]), exactmath.interp(x, xs, ys))


def jpeg_penalty_points(t: Tables, quality: np.ndarray) -> np.ndarray:
    """Top-1 points lost at JPEG ``quality`` (linear between the ASSUMED points; 0 above the best quality)."""
    q = np.asarray(quality, dtype=float)
    qs = t.jpeg_penalty_quality
    if np.any(q < qs[0]) or np.any(q > 100):
        raise ScenarioError(f"jpeg quality {q[(q < qs[0]) | (q > 100)][0]:g} outside [{qs[0]:g}, 100]")
    return exactmath.interp(q, qs, t.jpeg_penalty_points)


def accuracy(t: Tables, models: np.ndarray, res_px: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Top-1 fraction [M, D] = top1[m] + (resolution_delta(res/native) − jpeg_penalty(q)) / 100.

    ``models`` are indices into ``t.models``; raises if a value falls outside [0, 1].
    """
    m = np.asarray(models)
    ratio = np.asarray(res_px, dtype=float)[None, :] / t.model_native_res_px[m][:, None]
    acc = t.model_top1[m][:, None] + (resolution_delta_points(t, ratio)
                                      - jpeg_penalty_points(t, quality)[None, :]) / 100.0
    if np.any((acc < 0) | (acc > 1)):
        i, j = np.argwhere((acc < 0) | (acc > 1))[0]
        raise ScenarioError(
            f"accuracy of {t.models[m[i]]} at {res_px[j]} px q{quality[j]} is {acc[i, j]:.4f}, outside [0, 1]"
        )
    return acc


def data_bytes(t: Tables, res_px: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Mean JPEG payload [bytes, D] of a res×res image at ``quality`` (a measured quality).

    Measured sides are used directly; other sides inside the measured range are interpolated linearly in
    log(bytes) vs log(side). Sides outside the measured range and unmeasured qualities raise.
    """
    res = np.asarray(res_px, dtype=float)
    q = np.asarray(quality)
    out = np.empty(res.shape)
    sides = t.jpeg_sides_px.astype(float)
    for j, (r, qq) in enumerate(zip(res, q, strict=True)):
        hit = np.flatnonzero(t.jpeg_qualities == qq)
        if hit.size == 0:
            raise ScenarioError(f"jpeg quality {qq} was not measured (measured: {t.jpeg_qualities.tolist()})")
        if not sides[0] <= r <= sides[-1]:
            raise ScenarioError(
                f"resolution {r:g} px outside the measured JPEG sides [{sides[0]:g}, {sides[-1]:g}]"
            )
        col = t.jpeg_mean_bytes[:, hit[0]]
        ok = ~np.isnan(col)
        log_bytes = exactmath.interp(exactmath.log(r), exactmath.log(sides[ok]), exactmath.log(col[ok]))
        out[j] = exactmath.exp(log_bytes)
    return out


def inference_ms(t: Tables, models: np.ndarray, res_px: np.ndarray,
                 types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(service_time_ms, inference_latency_ms), each [M, D, H] (ms per request).

    Accelerators: throughput = gpu_img_per_s × t4_over_rtx3090_throughput × speed(h) × (native/res)² img/s,
    service time τ = 1000 / throughput, latency τ^lat = max(gpu_bs1_latency_floor_ms, gpu_serving_batch × τ);
    speed(h) = 1 for the T4 (g4dn) else the constant named in instance_types.csv.
    CPU (c5.xlarge): τ^lat = τ = cpu_bs1_ms × c5xlarge_over_i9_cpu_slowdown × (f0 + (1 − f0)(res/native)²),
    f0 = cpu_resolution_fixed_fraction.
    """
    m, h = np.asarray(models), np.asarray(types)
    pix = (np.asarray(res_px, dtype=float)[None, :] / t.model_native_res_px[m][:, None]) ** 2  # [M, D]
    tau = np.empty((m.size, pix.shape[1], h.size))
    lat = np.empty_like(tau)
    f0 = t.const("cpu_resolution_fixed_fraction")
    for j, hh in enumerate(h):
        if t.instance_is_gpu[hh]:
            name = t.instance_speed_constant[hh]
            speed = t.const(name) if name else 1.0
            thr = t.model_gpu_img_per_s[m][:, None] * t.const("t4_over_rtx3090_throughput") * speed / pix
            tau[:, :, j] = 1000.0 / thr
            lat[:, :, j] = np.maximum(
                t.const("gpu_bs1_latency_floor_ms"), t.const("gpu_serving_batch") * tau[:, :, j]
            )
        else:
            tau[:, :, j] = (t.model_cpu_bs1_ms[m][:, None] * t.const("c5xlarge_over_i9_cpu_slowdown")
                            * (f0 + (1 - f0) * pix))
            lat[:, :, j] = tau[:, :, j]
    return tau, lat


def best_latency_by_origin(
    rtt_ms: np.ndarray,
    bandwidth_gbps: np.ndarray,
    data_bytes_: np.ndarray,
    inference_latency_ms: np.ndarray,
    price_per_hour: np.ndarray,
    access_latency_ms: float,
    access_bandwidth_mbps: float,
    queueing_allowance_ms: float,
) -> np.ndarray:
    """Lowest end-to-end latency [ms, origin K x M x D] over regions and offered instance types (inf if none);
    the network part is :func:`network_latency_ms`."""
    net = network_latency_ms(rtt_ms, bandwidth_gbps, data_bytes_, access_latency_ms, access_bandwidth_mbps,
                             queueing_allowance_ms)  # [O,K,D]
    offered = ~np.isnan(price_per_hour)                                                       # [K,H]
    inf_k = np.where(offered[:, None, None, :], inference_latency_ms[None], np.inf).min(axis=3)  # [K,M,D]
    return (net[:, :, None, :] + inf_k[None]).min(axis=1)


def classes_feasible(best: np.ndarray, accuracy_: np.ndarray, origin: np.ndarray, floor: np.ndarray,
                     slo_ms: np.ndarray) -> np.ndarray:
    """bool [R]: some (k, m, d, h) meets class r's accuracy floor and latency SLO (``best`` from above),
    with the tolerance :data:`TOL` (the cost model's feasibility, by the same formula).

    Class r is feasible when min{best[o_r, m, d] : a(m,d) >= α_r − TOL} <= L_r + TOL.  The (m, d) pairs are
    sorted by accuracy once, so that minimum is a suffix minimum found by binary search: O(R log(M·D))
    instead of an [R, M, D] array (the same comparisons and the same minimum, so the same answer).
    """
    acc = np.asarray(accuracy_, dtype=float).ravel()
    order = np.argsort(acc, kind="stable")
    lat = np.asarray(best, dtype=float).reshape(len(best), -1)[
        :, order
    ]  # [origin, M·D] by ascending accuracy
    suffix_min = np.minimum.accumulate(lat[:, ::-1], axis=1)[:, ::-1]
    suffix_min = np.concatenate([suffix_min, np.full((len(lat), 1), np.inf)], axis=1)  # none qualifies: inf
    first = np.searchsorted(acc[order], np.asarray(floor, dtype=float) - TOL, side="left")
    return suffix_min[origin, first] <= slo_ms + TOL


def scenario_classes_feasible(s: Scenario) -> np.ndarray:
    """bool [R] for a :class:`~a2gym.scenario.Scenario` (same formula as the cost model)."""
    best = best_latency_by_origin(s.rtt_ms, s.bandwidth_gbps, s.data_bytes, s.inference_latency_ms,
                                  s.price_per_hour, s.access_latency_ms, s.access_bandwidth_mbps,
                                  s.queueing_allowance_ms)
    return classes_feasible(best, s.accuracy, s.class_origin, s.class_accuracy_floor, s.class_latency_slo_ms)
