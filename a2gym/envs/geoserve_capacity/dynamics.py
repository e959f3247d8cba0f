"""GeoServe-v1 dynamics: a fleet of instances with provisioning delay and billing, and routing within the
capacity that is ready.

Time: slot t covers [t·Δ, (t+1)·Δ) seconds of the day (Δ = slot length).  At the start of slot t the
fleet of facility i is set to N_t[i] instances (the action).  Instances added then are *requested* at
t·Δ and *ready* at t·Δ + δ (δ = provisioning delay, boot + model load); instances removed are released
at t·Δ, newest first (those still booting go first).  Write δ = a·Δ + b with 0 ≤ b < Δ: an instance
requested at the start of slot u is ready for all of slot t when u ≤ t − a − [b > 0], and from b seconds
into slot t when u = t − a (b > 0).  Because releases are newest first, the instances requested at or
before slot u that are still alive in slot t number min(N_u, …, N_t), so

    ready_full[t] = min_{v ∈ [t−a−[b>0], t]} N_v ,   ready_after_b[t] = min_{v ∈ [t−a, t]} N_v

(N_v for v < 0 is the initial fleet, ready before the day).  The hindsight MILP uses exactly these
windows (:mod:`a2gym.envs.geoserve_capacity.hindsight`).

Billing: an instance alive L seconds (request to release) is billed max(minimum, ⌈L/g⌉·g) seconds at its
facility's $/h price (g = granularity; EC2 Linux on-demand: g = 1 s, minimum 60 s).  The env charges
each slot the increase of every instance's billed seconds; the initial fleet is past its minimum.

Routing (one segment of ℓ seconds with ready counts n): capacity of facility i is ρ·n_i busy-instances;
a request of class r on i takes τ(r, i) = service time at d*(r, i) busy-instance-seconds.  Each class
sends its demand to its cheapest feasible facility (by the A2-UFL cost C[r, i], ties to the lower index,
the order v0 routes by) that has spare capacity; classes that want the same facility in the same round
share its spare capacity pro rata to their load; what does not fit moves on to the class's next
facility.  Demand that no ready facility can take is unserved: it pays ``penalty_per_request`` $ each.
Served requests pay bandwidth s_d*·β(o_r, k)/1e9 $ each.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

from a2gym.cache import cached_on
from a2gym.costmodel import CostModel
from a2gym.envs.base import facility_ranks
from a2gym.envs.geoserve.env import slot_view
from a2gym.scenario import Scenario

EPS = 1e-12  # spare capacity [busy instances] below this counts as full
DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "provisioning.csv"


@functools.lru_cache(maxsize=1)
def provisioning_defaults() -> dict[str, float]:
    """The named figures of ``a2gym/data/provisioning.csv`` (delay and billing defaults, with sources)."""
    with DATA_FILE.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {r["name"]: float(r["value"]) for r in rows}


class Billing:
    """Billed seconds of an instance alive ``L`` s: max(minimum, ⌈L/g⌉·g) (0 for L = 0)."""

    def __init__(self, granularity_s: float, minimum_s: float):
        self.granularity_s, self.minimum_s = float(granularity_s), float(minimum_s)

    def billed_s(self, lifetime_s: np.ndarray) -> np.ndarray:
        life = np.asarray(lifetime_s, dtype=float)
        g = self.granularity_s
        units = np.ceil(life / g - 1e-9)
        return np.where(life > 0, np.maximum(self.minimum_s, units * g), 0.0)

    def increments(self, slot_s: float, n_ages: int) -> np.ndarray:
        """inc[a] = billed seconds added in the slot an instance spends at age a slots (a = 0 first)."""
        ages = np.arange(n_ages + 1) * slot_s
        return np.diff(self.billed_s(ages))

    def per_slot_exact(self, slot_s: float) -> bool:
        """True when every alive slot bills exactly Δ seconds (g divides Δ and minimum ≤ Δ)."""
        q = slot_s / self.granularity_s
        return self.minimum_s <= slot_s + 1e-9 and abs(q - round(q)) < 1e-9


class DelayWindows:
    """δ = a·Δ + b: which request slots are ready in slot t (see the module docstring)."""

    def __init__(self, delay_s: float, slot_s: float):
        self.delay_s, self.slot_s = float(delay_s), float(slot_s)
        self.a = int(np.floor(self.delay_s / self.slot_s + 1e-9))
        b = self.delay_s - self.a * self.slot_s
        self.b = 0.0 if b < 1e-9 * self.slot_s else float(b)
        self.split = self.b > 0  # slot t has a first segment [0, b) before the newest batch is ready

    def full_window(self, t: int) -> range:
        """Slots v whose counts bound the instances ready for all of slot t (v = -1: the initial fleet)."""
        return range(max(t - self.a - int(self.split), -1), t + 1)

    def after_window(self, t: int) -> range:
        """Slots v whose counts bound the instances ready from b s into slot t."""
        return range(max(t - self.a, -1), t + 1)


class V1Tables:
    """Per-(scenario, slot length) arrays of GeoServe-v1 (cached on the scenario by :meth:`of`).

    tau [R, I]: busy-instance-seconds per request at d* (inf where infeasible).
    bw [R, I]: bandwidth $ per request at d* (0 where infeasible; never used there).
    rank [R, I]: position of facility i in class r's ascending-C order (ties: lower index); I if infeasible.
    price_per_s [I] ($/s, 0 where not offered), deploy [I] (model transfer g, $), deployable [I].
    """

    def __init__(self, scenario: Scenario, slot_hours: float):
        self.view = slot_view(scenario, slot_hours)
        cm = CostModel.of(self.view)
        self.cm = cm
        s = scenario
        self.n_classes, self.n_facilities = cm.C.shape
        self.rho = float(s.target_utilisation)
        feas = cm.fac_feasible
        ds = np.maximum(cm.dstar, 0)
        tau = s.service_time_ms[cm.fac_model[None, :], ds, cm.fac_type[None, :]] / 1000.0
        self.tau = np.where(feas, tau, np.inf)
        egress = s.egress_per_gb[s.class_origin[:, None], cm.fac_region[None, :]]
        self.bw = np.where(feas, s.data_bytes[ds] * egress / 1e9, 0.0)
        self.rank = facility_ranks(cm)  # [R, I]: class r's order of facilities by C (|I| = infeasible)
        price = s.price_per_hour[cm.fac_region, cm.fac_type]
        self.price_per_s = np.nan_to_num(price, nan=0.0) / 3600.0
        self.deploy = cm.deploy.copy()
        self.deployable = feas.any(axis=0)

    @classmethod
    def of(cls, scenario: Scenario, slot_hours: float) -> V1Tables:
        return cached_on(
            scenario, ("geoserve_v1_tables", float(slot_hours)), lambda: cls(scenario, slot_hours)
        )

    def route(self, rates: np.ndarray, ready: np.ndarray) -> tuple[float, np.ndarray, list]:
        """Route ``rates`` [req/s, R] within ``ready`` instances [I] (module docstring's rule).

        A class only moves on from a facility once it is full, so each round sends every class with
        demand left to its cheapest facility that still has spare capacity.  Returns (bandwidth $ per
        second of the segment, unserved req/s [R], parts [(classes, facilities, served req/s)]).
        """
        n_fac = self.n_facilities
        spare = self.rho * ready.astype(float)
        rem = np.asarray(rates, dtype=float).copy()
        act = np.flatnonzero(rem > 0)
        parts = []
        bw = 0.0
        while act.size:
            open_ = spare > EPS
            if not open_.any():
                break
            masked = np.where(open_[None, :], self.rank[act], n_fac)
            fac = masked.argmin(axis=1)
            ok = masked[np.arange(act.size), fac] < n_fac
            if not ok.all():
                act, fac = act[ok], fac[ok]
                if act.size == 0:
                    break
            want = rem[act] * self.tau[act, fac]
            total = np.bincount(fac, weights=want, minlength=n_fac)
            over = total > spare
            if over.any():
                ratio = np.where(over, spare / np.where(over, total, 1.0), 1.0)
                frac = ratio[fac]
                got = rem[act] * frac
                spare = np.where(over, 0.0, spare - total)
                rem[act] -= got
                rem[act[frac >= 1.0]] = 0.0
            else:
                got = rem[act]
                spare = spare - total
                rem[act] = 0.0
            parts.append((act, fac, got))
            bw += float(got @ self.bw[act, fac])
            act = act[rem[act] > 0]
        return bw, rem, parts


class Fleet:
    """Instances per facility over one day: requests, releases (newest first), readiness and billing.

    ``counts[v + 1]`` is N_v, the fleet of slot v (row 0: the initial fleet, ready and past its billing
    minimum).  Readiness is the min over the delay windows of :class:`DelayWindows` (the same formula the
    MILP uses).  When billing is not exactly Δ per alive slot, ``cohort[c, i]`` also tracks the alive
    instances requested at the start of slot c − 1 (c = 0: initial fleet), released newest first, so
    each is billed by its own age.
    """

    def __init__(self, tables: V1Tables, n_slots: int, slot_s: float, delay: DelayWindows, billing: Billing,
                 initial: np.ndarray):
        self.tables, self.n_slots, self.slot_s = tables, n_slots, float(slot_s)
        self.delay, self.billing = delay, billing
        self.exact = billing.per_slot_exact(self.slot_s)
        n_fac = tables.n_facilities
        self.counts = np.zeros((n_slots + 1, n_fac), dtype=np.int64)
        self.counts[0] = initial
        self.count = self.counts[0].copy()
        if not self.exact:
            self.inc = billing.increments(self.slot_s, n_slots + 1)
            self.cohort = np.zeros((n_slots + 1, n_fac), dtype=np.int64)
            self.cohort[0] = initial
        self.t = 0
        self.parts: list = []
        self.unserved_rates = np.zeros(tables.n_classes)

    def ready_at(self, t: int, after_b: bool = False) -> np.ndarray:
        """Instances ready for all of slot t (or, ``after_b``, from b s into it), given the fleet chosen
        so far (slots not chosen yet count as the current fleet)."""
        w = self.delay.after_window(t) if after_b else self.delay.full_window(t)
        hi = min(w.stop + 1, self.t + 1)  # rows of chosen slots: counts[v + 1] for v < self.t
        lo = min(w.start + 1, hi - 1)
        if hi - lo == 1:
            return self.counts[lo].copy()
        return self.counts[lo:hi].min(axis=0)

    def step(self, target: np.ndarray, rates: np.ndarray, penalty_per_request: float) -> dict[str, float]:
        """Set slot t's fleet to ``target`` [I], serve ``rates`` [req/s, R]; the slot's costs [$]."""
        t, tb = self.t, self.tables
        prev = self.count
        newly = (prev == 0) & (target > 0)
        deployment = float(tb.deploy[newly].sum()) if newly.any() else 0.0
        self.counts[t + 1] = target
        self.count = self.counts[t + 1]
        if self.exact:
            compute = self.slot_s * float(target @ tb.price_per_s)
        else:
            compute = float(self._bill(prev, target, t) @ tb.price_per_s)
        self.t = t + 1
        full = self.ready_at(t)
        segments = [(self.slot_s, full)]
        if self.delay.split:
            after = self.ready_at(t, after_b=True)
            if not np.array_equal(after, full):
                segments = [(self.delay.b, full), (self.slot_s - self.delay.b, after)]
        bw = unserved = 0.0
        self.unserved_rates = np.zeros(tb.n_classes)
        for length, ready in segments:
            b, rem, self.parts = tb.route(rates, ready)
            bw += b * length
            unserved += float(rem.sum()) * length
            self.unserved_rates += rem * (length / self.slot_s)
        penalty = unserved * penalty_per_request
        return {"compute": compute, "bandwidth": bw, "deployment": deployment, "penalty": penalty,
                "unserved_requests": unserved, "total": compute + bw + deployment + penalty}

    def _bill(self, prev: np.ndarray, target: np.ndarray, t: int) -> np.ndarray:
        """Billed seconds [I] of slot t with cohorts (non-exact billing): request, release newest first,
        then charge each alive cohort the increase of its billed seconds at its age."""
        up, down = target > prev, target < prev
        if up.any():
            self.cohort[t + 1] = np.where(up, target - prev, 0)
        if down.any():
            cols = np.flatnonzero(down)
            rev = self.cohort[t + 1::-1, cols]  # newest first (a copy)
            kept = np.maximum(np.cumsum(rev, axis=0) - (prev - target)[cols][None, :], 0)
            self.cohort[t + 1::-1, cols] = np.diff(kept, axis=0, prepend=0)
        w = np.empty(t + 2)
        w[0] = self.slot_s
        w[1:] = self.inc[t::-1]  # cohort c has age t + 1 - c slots
        return w @ self.cohort[: t + 2]
