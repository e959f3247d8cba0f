"""GeoServe-v1 references that act through ``env.step``: A2-Greedy re-solved each slot and sized from
its demand (reactive: last slot's observed demand; forecast: a diurnal forecast over the slots the
request must cover; oracle: the true demand of the slot being decided), and the reactive reference's
day cost on the noise-free demand (the reward normaliser)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import CostModel, instances_needed
from a2gym.envs.demand import DemandModel
from a2gym.envs.geoserve import slot_view
from a2gym.envs.geoserve_v1.dynamics import V1Tables
from a2gym.scenario import Scenario
from a2gym.solvers.greedy import star_greedy


def greedy_open(scenario: Scenario, slot_hours: float, rates: np.ndarray) -> np.ndarray:
    """A2-Greedy's open facilities (bool [I]) for one slot's ``rates`` [req/s, R] (§11.6 steps 1–3).

    Both terms of C[r, i] are linear in λ_r (and d* does not depend on it), so the slot view's C is
    rescaled row by row instead of rebuilding the cost model; classes with base rate 0 use a rebuilt one.
    """
    rates = np.asarray(rates, dtype=float)
    view = slot_view(scenario, slot_hours)
    base = view.class_rate
    if np.any(base <= 0):
        cm = CostModel(view.replace(class_rate=rates, uri=None))
    else:
        cm = copy.copy(CostModel.of(view))
        cm.C = cm.C * (rates / base)[:, None]
    sigma, _ = star_greedy(cm)
    is_open = np.zeros(cm.n_facilities, dtype=bool)
    is_open[sigma] = True
    return is_open


def open_load(tables: V1Tables, is_open: np.ndarray, rates: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every class at its cheapest open feasible facility (by C): (facility [R], -1 where none is open;
    busy instances it brings there, λ_r·τ(r, i) [R]; load x_i = Σ λ_r·τ(r, i) per facility [I])."""
    masked = np.where(is_open[None, :], tables.rank, tables.n_facilities)
    fac = masked.argmin(axis=1)
    ok = masked[np.arange(fac.size), fac] < tables.n_facilities
    busy = np.where(
        ok, rates * tables.tau[np.arange(fac.size), np.minimum(fac, tables.n_facilities - 1)], 0.0
    )
    x = np.bincount(fac[ok], weights=busy[ok], minlength=tables.n_facilities)
    return np.where(ok, fac, -1), busy, x


def sized_counts(tables: V1Tables, is_open: np.ndarray, rates: np.ndarray, at_least_one: bool = True
                 ) -> np.ndarray:
    """Instance counts [I] that carry ``rates`` as the env routes them on the open set with room to
    spare: every class at its cheapest open feasible facility (:func:`open_load`), n_i = max(1, ⌈x_i/ρ⌉)
    with x_i = Σ λ_r·τ(r, i) (GeoServe-v0's autoscaling rule; ⌈x_i/ρ⌉ without ``at_least_one``); 0 where
    closed."""
    x = open_load(tables, is_open, rates)[2]
    need = instances_needed(x, tables.rho)
    return np.where(is_open, np.maximum(1, need) if at_least_one else need, 0).astype(np.int64)


def greedy_counts(scenario: Scenario, slot_hours: float, rates: np.ndarray) -> np.ndarray:
    """The reference's counts [I] for one slot's ``rates``: A2-Greedy's open set, sized by
    :func:`sized_counts` (int64)."""
    tables = V1Tables.of(scenario, slot_hours)
    return sized_counts(tables, greedy_open(scenario, slot_hours, rates), np.asarray(rates, dtype=float))


def diurnal_forecast(demand: DemandModel, scenario: Scenario, observed: np.ndarray, last_slot: int,
                     horizon: range) -> np.ndarray:
    """Forecast [req/s, R] of each slot in ``horizon`` from the demand ``observed`` in ``last_slot``:
    seasonal-naive with the diurnal profile, λ̂_r(t) = λ_obs,r · f_r(t) / f_r(last_slot)."""
    f = demand.diurnal(scenario, np.array([last_slot, *horizon]))
    return observed[None, :] * f[1:] / f[:1]


def forecast_counts(env: Any, observed: np.ndarray) -> np.ndarray:
    """Counts for the next slot t sized for the provisioning delay δ = a·Δ + b:

    * the union of A2-Greedy's open sets for the forecast of every slot that instances requested now
      must cover before a later request can be ready (t … t + a + [b > 0], cut at the end of the day),
      sized (:func:`sized_counts`) for the largest of those forecasts as the env routes them on it;
    * when δ > 0, at least the ready instances that carry slot t's forecast as the env would route it on
      the ready fleet (⌈x_i/ρ⌉, capped at what is ready), so a facility being replaced keeps serving
      until its replacement is ready (make before break).
    """
    t, d = env.slot_no, env.delay
    last = min(t + d.a + int(d.split), env.n_slots - 1)
    fc = diurnal_forecast(env.demand, env.scenario, observed, t - 1, range(t, last + 1))
    union = np.any([greedy_open(env.scenario, env.slot_hours, row) for row in fc], axis=0)
    counts = np.max([sized_counts(env.tables, union, row) for row in fc], axis=0)
    if d.delay_s > 0:
        ready = env.fleet.ready_at(t)
        bridge = sized_counts(env.tables, ready > 0, fc[: d.a + 1].max(axis=0), at_least_one=False)
        counts = np.maximum(counts, np.minimum(ready, bridge))
    return counts


def expected_initial_fleet(scenario: Scenario, demand: DemandModel) -> np.ndarray:
    """The fleet at the start of the day: greedy counts for the noise-free demand of slot -1 (cached)."""
    key = ("geoserve_v1_initial", demand.n_slots, demand.slot_minutes, demand.amplitude, demand.peak_hour)
    return cached_on(scenario, key, lambda: greedy_counts(scenario, demand.slot_hours,
                                                          demand.expected(scenario)[0]))


REFERENCE_DAYS = 3  # the normaliser averages the reactive reference over the days of reset(seed=0, 1, 2)


def reactive_day(scenario: Scenario, demand: DemandModel, settings: tuple, make_fleet: Any,
                 penalty_per_request: float) -> tuple[float, int]:
    """The reactive reference's mean day cost [$] over the demand of ``reset(seed=s)``, s = 0 … 2, and
    the largest count it uses (cached per scenario and settings)."""
    from gymnasium.utils import seeding

    key = (
        "geoserve_v1_reactive_day",
        demand.n_slots,
        demand.slot_minutes,
        demand.amplitude,
        demand.peak_hour,
        None if demand.trace is None else demand.trace.tobytes(),
        float(penalty_per_request),
        settings,
    )

    def compute() -> tuple[float, int]:
        costs, peak = [], 0
        for seed in range(REFERENCE_DAYS):
            rates = demand.episode(scenario, seeding.np_random(seed)[0])
            fleet = make_fleet()
            peak = max(peak, int(fleet.count.max(initial=0)))
            total = 0.0
            for t in range(demand.n_slots):
                target = greedy_counts(scenario, demand.slot_hours, rates[t])
                peak = max(peak, int(target.max(initial=0)))
                total += fleet.step(target, rates[t + 1], penalty_per_request)["total"]
            costs.append(total)
        return float(np.mean(costs)), peak

    return cached_on(scenario, key, compute)
