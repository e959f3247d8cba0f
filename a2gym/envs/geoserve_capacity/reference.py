"""Capacity-env references that act through ``env.step``: A2-Greedy re-solved each slot and sized from
its demand (reactive: last slot's observed demand; forecast: a diurnal forecast over the slots the
request must cover; oracle: the true demand of the slot being decided), the target-tracking autoscaler
(:class:`TargetTracker`, the reward normaliser of ``a2gym/GeoServeCapacity-v0``), and a reference's day
cost on the days of ``reset(seed=0, 1, 2)`` (:func:`reference_day`, the normaliser)."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import CostModel, instances_needed
from a2gym.envs.demand import DemandModel
from a2gym.envs.geoserve.env import slot_view
from a2gym.envs.geoserve_capacity.dynamics import V1Tables
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


@dataclasses.dataclass(frozen=True)
class TrackingSettings:
    """Parameters of the target-tracking autoscaler (tuned on ``a2-val-v1`` only:
    ``experiments/capacity_tune_tracking.py``, results in ``results/capacity/tracking_tuning.md``).

    Attributes:
        target_utilisation: busy fraction each instance is sized for, relative to the scenario's
            ρ (an instance carries at most ρ busy-instances within the SLO): desired instances at a facility
            = ⌈load / (target_utilisation · ρ)⌉, at least 1 where the re-solve opens it. 1.0 is the reactive
            re-solve's sizing; Kubernetes users typically set 0.5-0.8 of the safe utilisation.
        stabilisation_s [s]: scale-in waits this long: the count is the largest recommendation of the
            slots that started within the window (Kubernetes HPA's scale-down stabilisation, 300 s by
            default; scale-out is immediate, as the HPA's default).
    """

    target_utilisation: float = 0.7
    stabilisation_s: float = 900.0

    def __post_init__(self) -> None:
        if not (isinstance(self.target_utilisation, int | float) and 0 < self.target_utilisation <= 1):
            raise ValueError(f"target_utilisation = {self.target_utilisation!r} must be in (0, 1]")
        if not (isinstance(self.stabilisation_s, int | float) and 0 <= self.stabilisation_s < math.inf):
            raise ValueError(f"stabilisation_s = {self.stabilisation_s!r} must be a finite number >= 0 [s]")


TRACKING = TrackingSettings()
"""The tuned defaults (the board's reference row and the env's reward normaliser)."""


def tracked_counts(tables: V1Tables, is_open: np.ndarray, load: np.ndarray, target_utilisation: float
                   ) -> np.ndarray:
    """The target-tracking sizing rule [instances, I]: ⌈load / (u·ρ)⌉ (the cost model's
    :func:`~a2gym.costmodel.instances_needed`), at least 1 where open, 0 where closed."""
    need = instances_needed(load, tables.rho * target_utilisation)
    return np.where(is_open, np.maximum(1, need), 0)


class TargetTracker:
    """A Kubernetes-HPA-style autoscaler per facility on the reactive re-solve's placement.

    Each slot: A2-Greedy's open set for the last slot's observed demand (the placement), every class at its
    cheapest open facility (:func:`open_load`), desired instances ⌈x_i / (u·ρ)⌉ (at least 1 where open),
    then the largest desired count over the stabilisation window (scale-out at once, scale-in only after
    the window), capped at ``max_instances``. It sees only what an agent sees (the observed demand) and
    keeps its own recommendation history; :meth:`reset` starts a day.
    """

    def __init__(self, scenario: Scenario, slot_hours: float, max_instances: int,
                 settings: TrackingSettings = TRACKING) -> None:
        self.scenario, self.slot_hours, self.max_instances = scenario, slot_hours, int(max_instances)
        self.settings = settings
        self.tables = V1Tables.of(scenario, slot_hours)
        self.window = int(math.ceil(settings.stabilisation_s / (slot_hours * 3600.0) - 1e-9))
        self.reset()

    def reset(self) -> None:
        """Forget the recommendations (a new day)."""
        self.history: deque[np.ndarray] = deque(maxlen=self.window + 1)

    def desired(self, observed: np.ndarray) -> np.ndarray:
        """This slot's recommendation [instances, I] for the ``observed`` demand [req/s, R]."""
        rates = np.asarray(observed, dtype=float)
        is_open = greedy_open(self.scenario, self.slot_hours, rates)
        x = open_load(self.tables, is_open, rates)[2]
        return tracked_counts(self.tables, is_open, x, self.settings.target_utilisation)

    def counts(self, observed: np.ndarray) -> np.ndarray:
        """The counts [I] for the next slot: the window's largest recommendation, capped."""
        self.history.append(self.desired(observed))
        return np.minimum(np.max(np.stack(self.history), axis=0), self.max_instances)


NORMALISERS = ("target-tracking", "reactive")
"""The references a capacity env can normalise its reward by (``normaliser`` make-kwarg)."""

REFERENCE_DAYS = 3  # the normaliser averages the reference over the days of reset(seed=0, 1, 2)


def counts_policy(mode: str, scenario: Scenario, slot_hours: float, max_instances: int
                  ) -> Callable[[np.ndarray], np.ndarray]:
    """A fresh day of the normaliser ``mode`` as ``observed rates -> counts`` (uncapped for reactive, as
    the normaliser's peak check needs)."""
    if mode == "reactive":
        return lambda rates: greedy_counts(scenario, slot_hours, rates)
    if mode == "target-tracking":
        return TargetTracker(scenario, slot_hours, max_instances).counts
    raise ValueError(f"unknown normaliser {mode!r} (known: {', '.join(map(repr, NORMALISERS))})")


def reference_day(scenario: Scenario, demand: DemandModel, settings: tuple, make_fleet: Any,
                  penalty_per_request: float, mode: str = "reactive", max_instances: int = 10**6
                  ) -> tuple[float, int]:
    """The reference ``mode``'s mean day cost [$] over the demand of ``reset(seed=s)``, s = 0 … 2, and the
    largest count it uses (cached per scenario, settings and mode)."""
    from gymnasium.utils import seeding

    key = (
        "geoserve_v1_reference_day" if mode != "reactive" else "geoserve_v1_reactive_day",
        mode, TRACKING if mode == "target-tracking" else None, max_instances if mode != "reactive" else None,
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
            policy = counts_policy(mode, scenario, demand.slot_hours, max_instances)
            for t in range(demand.n_slots):
                target = policy(rates[t])
                peak = max(peak, int(target.max(initial=0)))
                total += fleet.step(target, rates[t + 1], penalty_per_request)["total"]
            costs.append(total)
        return float(np.mean(costs)), peak

    return cached_on(scenario, key, compute)


def reactive_day(scenario: Scenario, demand: DemandModel, settings: tuple, make_fleet: Any,
                 penalty_per_request: float) -> tuple[float, int]:
    """The reactive reference's :func:`reference_day` (GeoServe-v1's normaliser)."""
    return reference_day(scenario, demand, settings, make_fleet, penalty_per_request, "reactive")
