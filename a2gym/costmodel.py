"""The cost model: the single source of truth for feasibility, latency, accuracy and cost.

Everything is derived once per scenario with numpy (no Python loops over classes × facilities) and
cached on the scenario (``CostModel.of(scenario)``). Every solver, env and leaderboard number goes
through this module.

Formulas (formulation §11.2, §11.5; units in brackets)
-----------------------------------------------------
* request volume per epoch            V_r = 3600 · T · λ_r                                   [requests]
* latency   ℓ(r,k,m,d,h) = access_latency + 8·s_d/access_bw + RTT(o_r,k) + 8·s_d/B(o_r,k)
                           + τ^lat(m,d,h) + q                                               [ms]
* feasible  E_r = {(k,m,d,h): a(m,d) ≥ α_r, ℓ ≤ L_r, π(k,h) offered}
* bandwidth cost of class r at (k,d)  V_r · s_d · β(o_r,k) / 1e9                              [$ / epoch]
* busy instances of class r on (m,d,h)  x = λ_r · τ(m,d,h) / 1000                            [instances]
* deployment g(k,m) = model_bytes_m · β(home, k) / 1e9                                       [$ / epoch]
* facility-location costs (A2-UFL):  F_i = π(k,h)·T + g(k,m);
  C_{r,i} = min_d [ V_r·s_d·β(o_r,k)/1e9 + π(k,h)·T·λ_r·τ(m,d,h)/(1000·ρ) ], d*(r,i) its argmin.
  Both terms are linear in λ_r, so d* does not depend on the rate.
* true A² cost of a plan: Σ_i n_i·π(k,h)·T + Σ_{i: n_i ≥ 1} g(k,m) + Σ parts z·V_r·s_d·β(o_r,k)/1e9,
  with capacity Σ x·z ≤ ρ·n_i; an integral plan materialises n_i = max(1, ⌈x_i/ρ⌉) (Lemma A).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from typing import Any

import numpy as np

from a2gym.cache import cached_on
from a2gym.errors import InfeasibleError, PlanError
from a2gym.physics import TOL, network_latency_ms
from a2gym.plan import Plan
from a2gym.scenario import Scenario, read_scenario

__all__ = ["TOL", "CostModel", "Evaluation", "Violation", "evaluate", "instances_needed",
           "instances_needed_one", "load_scenario",
           "network_latency_ms"]


def instances_needed(busy: np.ndarray, rho: float) -> np.ndarray:
    """Instances that carry ``busy`` instance-equivalents at utilisation ρ: ⌈busy/ρ⌉ (tolerant to float
    noise)."""
    need = busy / rho
    return np.ceil(need - TOL * np.maximum(1.0, need)).astype(np.int64)


def instances_needed_one(busy: float, rho: float) -> int:
    """:func:`instances_needed` of one Python float (the same IEEE operations, without numpy's per-call
    overhead): the single Placement env's per-step path calls it."""
    need = busy / rho
    return math.ceil(need - TOL * max(1.0, need))


class CostModel:
    """All derived arrays of one scenario (build with :meth:`of`, which caches on the scenario).

    Attributes (R classes, K regions, M models, D data versions, H instance types, I = K·M·H):
        net_ms [R,K,D]: latency of everything but inference (access, RTT, transfers, queueing) [ms].
        acc_ok [R,M,D]: a(m,d) ≥ α_r.
        offered [K,H]: the region offers the instance type.
        feasible [R,K,M,D,H]: the (region, model, data version, type) meets class r's SLO and floor.
        volume [R]: requests per epoch.  bw_cost [R,K,D]: $ per epoch if class r is sent to k as d.
        busy [R,M,D,H]: busy instances λ_r·τ/1000.  price_epoch [K,H]: π·T in $ (NaN if not offered).
        deploy [I]: g of each facility [$].  F [I]: opening cost π·T + g [$] (inf if not offered).
        C [R,I]: A2-UFL assignment cost [$] (inf if infeasible).  dstar [R,I]: its data version (-1 if none).
        bw_star [R,I], busy_star [R,I]: bandwidth cost [$] and busy instances at d*.
    """

    def __init__(self, scenario: Scenario):
        s = scenario
        self.scenario = s
        R, K, M, D, H = s.n_classes, s.n_regions, s.n_models, s.n_data_versions, s.n_instance_types
        self.shape = (R, K, M, D, H)
        self.n_facilities = K * M * H
        o = s.class_origin
        T = s.epoch_hours
        self.net_ms = network_latency_ms(s.rtt_ms[o], s.bandwidth_gbps[o], s.data_bytes, s.access_latency_ms,
                                         s.access_bandwidth_mbps, s.queueing_allowance_ms)  # [R,K,D]
        self.acc_ok = s.accuracy[None, :, :] >= s.class_accuracy_floor[:, None, None] - TOL  # [R,M,D]
        self.offered = ~np.isnan(s.price_per_hour)  # [K,H]
        slack = s.class_latency_slo_ms[:, None, None] - self.net_ms  # [R,K,D]
        lat_ok = s.inference_latency_ms[None, None] <= slack[:, :, None, :, None] + TOL  # [R,K,M,D,H]
        self.feasible = lat_ok & self.acc_ok[:, None, :, :, None] & self.offered[None, :, None, None, :]

        self.volume = 3600.0 * T * s.class_rate  # [R]
        self.bw_cost = (
            self.volume[:, None, None] * s.egress_per_gb[o][:, :, None] * s.data_bytes / 1e9
        )  # [R,K,D]
        self.busy = s.class_rate[:, None, None, None] * s.service_time_ms[None] / 1000.0  # [R,M,D,H]
        self.price_epoch = s.price_per_hour * T  # [K,H]
        g_km = s.model_bytes[None, :] * s.egress_per_gb[s.home_region_index][:, None] / 1e9  # [K,M]
        self.deploy = np.broadcast_to(g_km[:, :, None], (K, M, H)).reshape(-1).copy()
        pe = np.broadcast_to(self.price_epoch[:, None, :], (K, M, H)).reshape(-1)
        self.F = np.where(np.isnan(pe), np.inf, pe + self.deploy)

        k_i, m_i, h_i = (np.asarray(x) for x in s.facility_parts(np.arange(self.n_facilities)))
        self.fac_region, self.fac_model, self.fac_type = k_i, m_i, h_i
        self.fac_price_epoch = np.nan_to_num(pe, nan=np.inf)
        self._derive_ufl()

    def _derive_ufl(self) -> None:
        """A2-UFL costs C, d*, bw_star, busy_star from ``self.feasible`` (one data version at a time)."""
        R, K, M, D, H = self.shape
        per_use = np.nan_to_num(self.price_epoch, nan=np.inf) / self.scenario.target_utilisation  # [K,H]
        best = np.full((R, K, M, H), np.inf)
        dstar = np.full((R, K, M, H), -1, dtype=np.int64)
        for d in range(D):
            with np.errstate(invalid="ignore"):  # inf price (not offered) x 0 load: masked just below
                cost_d = (
                    self.bw_cost[:, :, None, None, d]
                    + per_use[None, :, None, :] * self.busy[:, None, :, d, :]
                )
            cost_d = np.where(self.feasible[:, :, :, d, :], cost_d, np.inf)
            better = cost_d < best
            best = np.where(better, cost_d, best)
            dstar = np.where(better, d, dstar)
        self.C = best.reshape(R, -1)
        self.dstar = dstar.reshape(R, -1)
        self.fac_feasible = np.isfinite(self.C)
        ds = np.maximum(self.dstar, 0)
        k_i, m_i, h_i = self.fac_region, self.fac_model, self.fac_type
        rows = np.arange(R)[:, None]
        self.bw_star = np.where(self.fac_feasible, self.bw_cost[rows, k_i[None, :], ds], np.inf)
        self.busy_star = np.where(self.fac_feasible, self.busy[rows, m_i[None, :], ds, h_i[None, :]], np.inf)

    def restricted(self, mask: np.ndarray) -> CostModel:
        """A view of this cost model whose feasible set is ``feasible & mask`` (mask broadcastable to
        [R,K,M,D,H]); C, d*, bw_star, busy_star are re-derived by the same formulas. Used for the
        restricted-instance baselines (formulation §9, §11.9); plans keep the original indices, and
        ``evaluate`` is unchanged (it checks the original SLOs and floors, not the mask)."""
        view = copy.copy(self)
        view.feasible = self.feasible & np.broadcast_to(np.asarray(mask, dtype=bool), self.shape)
        view._derive_ufl()
        return view

    # ----------------------------------------------------------------- access
    @classmethod
    def of(cls, scenario: Scenario) -> CostModel:
        """The cost model of ``scenario``, built once and cached on it."""
        return cached_on(scenario, "costmodel", lambda: cls(scenario))

    def infeasible_classes(self) -> np.ndarray:
        """Indices of classes with no feasible (k, m, d, h)."""
        return np.flatnonzero(~self.fac_feasible.any(axis=1))

    def check_feasible(self) -> None:
        """Raise :class:`InfeasibleError` naming every class that no facility can serve."""
        bad = self.infeasible_classes()
        if bad.size:
            s = self.scenario
            names = tuple(s.classes[r] for r in bad)
            detail = "; ".join(
                f"{s.classes[r]} (origin {s.regions[s.class_origin[r]]}, accuracy >= "
                f"{s.class_accuracy_floor[r]:g}, "
                f"SLO {s.class_latency_slo_ms[r]:g} ms)"
                for r in bad[:10]
            )
            more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            raise InfeasibleError(
                f"scenario {s.name!r}: {len(bad)} request class(es) have no feasible (region, model, data "
                f"version, "
                f"instance type): {detail}{more}",
                names,
            )

    def latency_ms(self, r: Any, k: Any, m: Any, d: Any, h: Any) -> np.ndarray:
        """End-to-end latency ℓ(r,k,m,d,h) [ms], vectorised over broadcastable index arrays."""
        return self.net_ms[r, k, d] + self.scenario.inference_latency_ms[m, d, h]

    # ------------------------------------------------------------ evaluation
    def materialise(self, facility: np.ndarray, data: np.ndarray | None = None,
                    rates: np.ndarray | None = None) -> Plan:
        """Lemma A: integral plan with n_i = max(1, ⌈x_i/ρ⌉) on used facilities (data = d* by default)."""
        facility = np.asarray(facility, dtype=np.int64)
        data = (
            self.dstar[np.arange(len(facility)), facility]
            if data is None
            else np.asarray(data, dtype=np.int64)
        )
        busy = self._busy_of(np.arange(len(facility)), facility, data, rates)
        x = np.bincount(facility, weights=busy, minlength=self.n_facilities)
        used = np.bincount(facility, minlength=self.n_facilities) > 0
        n = np.where(used, np.maximum(1, instances_needed(x, self.scenario.target_utilisation)), 0)
        return Plan.from_assignment(facility, data, n)

    def assignment_cost(self, facility: np.ndarray, data: np.ndarray | None = None,
                        rates: np.ndarray | None = None) -> float:
        """True A² cost [$ / epoch] of the integral assignment, materialised by Lemma A (fast path)."""
        return self.evaluate(self.materialise(facility, data, rates), rates=rates, check=False).total

    def assignment_costs(self, facility: np.ndarray, data: np.ndarray | None = None) -> np.ndarray:
        """[B, 4] (total, compute, bandwidth, deployment) [$ / epoch] of B integral assignments
        ``facility`` [B, R] (every class served; ``data`` [B, R], default d*): row j is
        ``evaluate(materialise(facility[j], data[j]), check=False)``'s numbers, bit for bit, for all rows
        at once (the native vector envs' episode ends).

        The same elementwise arithmetic as ``materialise`` and ``evaluate``; each sum runs over the same
        elements in the same order (``np.add.reduce`` of a row of fixed length gives ``np.sum``'s bits; the
        deployment sums only the used facilities' g, so the rows are grouped by their number of used
        facilities and each group's rows hold exactly those elements).
        """
        s = self.scenario
        facility = np.asarray(facility, dtype=np.int64)
        nb, R = facility.shape
        nI = self.n_facilities
        r = np.broadcast_to(np.arange(R), facility.shape)
        data = self.dstar[r, facility] if data is None else np.asarray(data, dtype=np.int64)
        busy = self._busy_of(r, facility, data, None)                       # materialise
        key = (facility + (np.arange(nb) * nI)[:, None]).ravel()
        x = np.bincount(key, busy.ravel(), nb * nI).reshape(nb, nI)
        used = np.bincount(key, None, nb * nI).reshape(nb, nI) > 0
        n = np.where(used, np.maximum(1, instances_needed(x, s.target_utilisation)), 0)
        k = self.fac_region[facility]                                       # evaluate, with z = 1
        volume = 3600.0 * s.epoch_hours * s.class_rate
        z = np.ones(facility.shape)
        egress = s.egress_per_gb[s.class_origin[r], k]
        bw = np.add.reduce(z * volume[r] * egress * s.data_bytes[data] / 1e9, 1)
        price = self.fac_price_epoch
        open_ = n > 0
        compute = np.add.reduce(np.where(open_, n * np.where(np.isfinite(price), price, 0.0), 0.0), 1)
        deployment = np.empty(nb)
        n_open = open_.sum(axis=1)
        for c in np.unique(n_open):  # a few distinct counts, not one call per row
            rows = np.flatnonzero(n_open == c)
            g = np.broadcast_to(self.deploy, (rows.size, nI))[open_[rows]]
            deployment[rows] = np.add.reduce(g.reshape(rows.size, int(c)), 1)
        out = np.empty((nb, 4))
        out[:, 0] = compute + bw + deployment
        out[:, 1], out[:, 2], out[:, 3] = compute, bw, deployment
        return out

    def _busy_of(self, r: np.ndarray, i: np.ndarray, d: np.ndarray, rates: np.ndarray | None) -> np.ndarray:
        m, h = self.fac_model[i], self.fac_type[i]
        tau = self.scenario.service_time_ms[m, d, h] / 1000.0
        lam = self.scenario.class_rate[r] if rates is None else np.asarray(rates, dtype=float)[r]
        return lam * tau

    def evaluate(self, plan: Plan, rates: np.ndarray | None = None, check: bool = True) -> Evaluation:
        """Cost breakdown and every violated constraint of ``plan`` (see :func:`a2gym.evaluate`).

        ``rates`` [req/s, R] overrides the scenario's class rates (GeoServe's per-slot demand).
        With ``check=False`` only the costs are computed (solvers' inner loops).
        """
        s = self.scenario
        R, nI = s.n_classes, self.n_facilities
        _check_plan_shape(plan, s, nI)
        r, i, d, z = plan.cls, plan.facility, plan.data, plan.fraction
        n = plan.instances
        k = self.fac_region[i]
        try:
            lam = s.class_rate if rates is None else np.asarray(rates, dtype=float)
        except (ValueError, TypeError) as e:
            raise PlanError(f"rates must be {R} numbers [req/s]: {e}") from None
        if lam.shape != (R,):
            raise PlanError(f"rates must have shape ({R},), got {lam.shape}")
        if rates is not None and not np.all(np.isfinite(lam) & (lam >= 0)):
            j = int(np.flatnonzero(~(np.isfinite(lam) & (lam >= 0)))[0])
            raise PlanError(f"rates[{j}] = {float(lam[j])!r} is not allowed (must be finite and >= 0 req/s)")
        volume = 3600.0 * s.epoch_hours * lam
        bw = float(np.sum(z * volume[r] * s.egress_per_gb[s.class_origin[r], k] * s.data_bytes[d] / 1e9))
        price = self.fac_price_epoch
        open_ = n > 0
        compute = float(np.sum(np.where(open_, n * np.where(np.isfinite(price), price, 0.0), 0.0)))
        deployment = float(np.sum(self.deploy[open_]))
        ev = Evaluation(total=compute + bw + deployment, compute=compute, bandwidth=bw, deployment=deployment,
                        instances=n, requests=float(volume.sum()))
        if not check:
            return ev
        busy = self._busy_of(r, i, d, lam) * z
        load = np.bincount(i, weights=busy, minlength=nI)
        m, h = self.fac_model[i], self.fac_type[i]
        lat = self.latency_ms(r, k, m, d, h)
        acc = s.accuracy[m, d]
        class_lat = np.full(R, np.nan)
        class_acc = np.full(R, np.nan)
        np.fmax.at(class_lat, r, lat)
        np.fmin.at(class_acc, r, acc)
        coverage = np.bincount(r, weights=z, minlength=R)
        v: list[Violation] = []
        name = s.classes
        for p in np.flatnonzero((z <= 0) | (z > 1 + TOL) | ~np.isfinite(z)):
            v.append(Violation("fraction", name[r[p]], f"part {p} has fraction {z[p]!r} (must be in (0, 1])"))
        for c in np.flatnonzero(np.abs(coverage - 1.0) > 1e-6):
            v.append(Violation("coverage", name[c], f"served fraction {coverage[c]:.6g} (must be 1)"))
        for p in np.flatnonzero(lat > s.class_latency_slo_ms[r] + TOL):
            v.append(Violation("latency", name[r[p]],
                               f"{lat[p]:.2f} ms via {s.facility_name(i[p])} with {s.data_versions[d[p]]} "
                               f"> SLO {s.class_latency_slo_ms[r[p]]:g} ms"))
        for p in np.flatnonzero(acc < s.class_accuracy_floor[r] - TOL):
            v.append(Violation("accuracy", name[r[p]],
                               f"{acc[p]:.4f} with {s.models[m[p]]} on {s.data_versions[d[p]]} "
                               f"< floor {s.class_accuracy_floor[r[p]]:g}"))
        not_offered = (n > 0) & ~np.isfinite(price)
        used_not_offered = np.zeros(nI, dtype=bool)
        used_not_offered[i] = True
        for f in np.flatnonzero(not_offered | (used_not_offered & ~np.isfinite(price))):
            v.append(Violation("offered", s.facility_name(f), "instance type is not offered in this region"))
        cap = s.target_utilisation * n
        for f in np.flatnonzero(load > cap + TOL * np.maximum(1.0, cap)):
            v.append(
                Violation(
                    "capacity",
                    s.facility_name(f),
                    f"load {load[f]:.4f} busy instances > rho*n = {s.target_utilisation:g}*{n[f]}",
                )
            )
        for f in np.flatnonzero(n < 0):
            v.append(Violation("instances", s.facility_name(f), f"negative instance count {n[f]}"))
        return dataclasses.replace(ev, load=load, class_latency_ms=class_lat, class_accuracy=class_acc,
                                   violations=tuple(v))


def _check_plan_shape(plan: Plan, s: Scenario, n_fac: int) -> None:
    if not isinstance(plan, Plan):
        raise PlanError(f"expected a Plan, got {type(plan).__name__}")
    if plan.instances.shape != (n_fac,):
        raise PlanError(f"Plan.instances has shape {plan.instances.shape}, expected ({n_fac},) = |K||M||H|")
    for name, hi in (("cls", s.n_classes), ("facility", n_fac), ("data", s.n_data_versions)):
        a = getattr(plan, name)
        bad = np.flatnonzero((a < 0) | (a >= hi))
        if bad.size:
            raise PlanError(f"Plan.{name}[{bad[0]}] = {a[bad[0]]} is out of range 0..{hi - 1}")


@dataclasses.dataclass(frozen=True, eq=False)
class Violation:
    """One broken constraint: ``kind`` (coverage, latency, accuracy, capacity, offered, fraction, instances),
    ``subject`` (class or facility name) and a human-readable ``detail``."""

    kind: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluation:
    """True A² cost of a plan [$ per epoch] split into compute / bandwidth / deployment, and its violations.

    ``class_latency_ms`` [ms] is each class's worst latency over its parts, ``class_accuracy`` its lowest
    accuracy (NaN for an unserved class); ``load`` [busy instances] per facility; ``requests`` per epoch.
    """

    total: float
    compute: float
    bandwidth: float
    deployment: float
    instances: np.ndarray
    requests: float
    load: np.ndarray | None = None
    class_latency_ms: np.ndarray | None = None
    class_accuracy: np.ndarray | None = None
    violations: tuple[Violation, ...] = ()

    @property
    def feasible(self) -> bool:
        """True when the plan meets every constraint (only meaningful for a checked evaluation)."""
        return not self.violations

    @property
    def per_1k_requests(self) -> float:
        """Total cost per thousand requests [$]."""
        return 1000.0 * self.total / self.requests if self.requests > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready costs [$]; ``per_1k_requests`` is ``None`` (JSON null, not NaN) when there are no
        requests."""
        per_1k = self.per_1k_requests if self.requests > 0 else None
        return {"total": self.total, "compute": self.compute, "bandwidth": self.bandwidth,
                "deployment": self.deployment, "per_1k_requests": per_1k,
                "instances": int(self.instances.sum()), "violations": [v.to_dict() for v in self.violations]}


def evaluate(scenario: Scenario | str, plan: Plan, rates: np.ndarray | None = None) -> Evaluation:
    """True A² cost of ``plan`` on ``scenario`` (a Scenario or URI) with every violated constraint.

    Costs are dollars per epoch: ``compute`` (instance rental, integer counts), ``bandwidth`` (inter-region
    transfer), ``deployment`` (shipping model weights to each deployed facility). Broken constraints are
    listed in ``.violations``, never clipped.
    """
    return CostModel.of(read_scenario(scenario)).evaluate(plan, rates=rates)


def load_scenario(uri_or_path: str | os.PathLike[str] | Scenario, *, check_feasible: bool = True) -> Scenario:
    """Load a scenario from a URI, a file path, or pass a :class:`Scenario` through (``a2gym.load_scenario``).

    :func:`a2gym.scenario.read_scenario` reads and validates it; with ``check_feasible`` (default) a
    scenario in which some request class has no feasible (region, model, data version, instance type)
    then raises :class:`~a2gym.errors.InfeasibleError` naming the classes; they are never silently dropped.
    Feasibility is the cost model's notion, so the check lives here, above the scenario package.
    """
    scn = read_scenario(uri_or_path)
    if check_feasible:
        CostModel.of(scn).check_feasible()
    return scn
