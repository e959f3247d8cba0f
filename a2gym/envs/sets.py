"""Size-agnostic observations (``observation="sets"``) of Placement-v0 and Scheduling-v0.

The scenario as sets, padded to documented maximum sizes with validity masks, so one policy reads
scenarios of every size up to the maximum (Kool et al. 2019; Jumanji's per-env set encoders):

* ``facilities`` [MAX_FACILITIES, N_FAC_FEATURES]: one row per facility i = (k, m, h) (table below),
* ``classes`` [MAX_CLASSES, N_CLASS_FEATURES]: one row per request class,
* ``pair_cost`` [MAX_CLASSES, MAX_FACILITIES]: the A2-UFL cost C[r, i] of serving class r at facility i
  with its best data version d*(r, i) (``CostModel.C``), as C / (C + ref/|R|); exactly 1.0 where
  infeasible or padding,
* ``facility_valid`` [MAX_FACILITIES], ``class_valid`` [MAX_CLASSES]: 1 for a real row, 0 for padding,
* ``globals`` [N_GLOBALS]: fraction of classes served, cost so far c / (c + ref), |R| / MAX_CLASSES,
  |I| / MAX_FACILITIES,
* Scheduling only: ``action_cost`` [MAX_FACILITIES, MAX_DATA_VERSIONS], the plain observation's
  marginal cost of serving the current class at (i, d) (1.0 where masked or padding).

Every number is taken from the plain env's own observation and state, or from
:class:`~a2gym.costmodel.CostModel` (no new cost formula); dollars, rewards, masks and references
are those of the plain env. Actions point into the padded layout: Placement ``Discrete(MAX_FACILITIES
+ 1)`` (open facility i < |I|, or STOP = MAX_FACILITIES), Scheduling ``Discrete(MAX_FACILITIES ·
MAX_DATA_VERSIONS)`` (a = i · MAX_DATA_VERSIONS + d). Padding actions are always masked (a masked action's
outcome is the
env's ``invalid_action`` rule, :mod:`a2gym.envs.invalid`).

A scenario larger than a maximum raises :class:`~a2gym.errors.ScenarioError` at ``make`` / ``reset``
naming the size and the limit.

``facility_valid``, ``class_valid`` and ``pair_cost`` depend only on the scenario and its reference cost:
every observation returns the same read-only arrays (copy one before writing into it); the other keys are
fresh arrays at every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.cache import cached_on
from a2gym.costmodel import CostModel, instances_needed, instances_needed_one
from a2gym.envs.base import discrete_action, squash
from a2gym.envs.source import ScenarioSource
from a2gym.errors import ScenarioError
from a2gym.scenario import Scenario

MAX_CLASSES = 128
MAX_FACILITIES = 192
MAX_DATA_VERSIONS = 16

FACILITY_FEATURES = (
    "open",  # 0/1 (Placement: opened; Scheduling: has instances)
    "open_cost",  # F_i / max_j F_j (1 if not offered), as the plain Placement observation
    "attract",  # Placement: fraction of classes that would move to i if it opened; Scheduling: 0
    "spare",  # Scheduling: (ρ·n_i − x_i)/(ρ·n_i), 0 if closed; Placement: the same for the plan so far
    "load",  # x_i / (x_i + 1) [busy instances]
    "instances",  # n_i / (n_i + 4)
    "offered",  # the region offers the instance type (0/1)
    "price",  # π·T / (π·T + ref) (1 if not offered)
    "deploy",  # g / (g + ref)
    "feasible_classes",  # fraction of the classes that i can serve
    "routed_classes",  # fraction of the classes served at i now
    "accuracy",  # best accuracy of the model over data versions
    "model_size",  # model bytes / (bytes + 1 GB)
    "gpu",  # instance type is a GPU (0/1)
    "lat",  # (region latitude + 90) / 180
    "lon",  # (region longitude + 180) / 360
    "gain",  # G_i / (G_i + F_i) [$/$]; Placement: G_i = Σ_{r served} max(0, C[r, its facility] − C[r, i]);
    # Scheduling: G_i = Σ_{r unserved} max(0, c_r − C[r, i]), c_r = min C[r, open j]
    # (if none is open and feasible: max_j C[r, j]); 0 for an open facility
    "cover",  # fraction of the classes that are unserved and feasible at i
)
CLASS_FEATURES = (
    "served",              # 0/1
    "current",             # Scheduling: the class the next action serves (0/1); Placement: 0
    "rate_share",          # λ_r / Σλ
    "rate_rel",            # λ_r / (λ_r + mean λ)
    "slo",                 # L / (L + 1000 ms)
    "accuracy_floor",      # α_r
    "cost_now",            # C[r, facility serving r] / (· + ref/|R|); 0 if unserved
    "cost_best",           # min_i C[r, i] / (· + ref/|R|)
    "feasible_facilities",  # fraction of the facilities that can serve r
    "lat",                 # origin region latitude, as for facilities
    "lon",                 # origin region longitude
)
N_FAC_FEATURES, N_CLASS_FEATURES, N_GLOBALS = len(FACILITY_FEATURES), len(CLASS_FEATURES), 4
F = {name: j for j, name in enumerate(FACILITY_FEATURES)}
C = {name: j for j, name in enumerate(CLASS_FEATURES)}


def check_sizes(s: Scenario) -> None:
    """Raise :class:`ScenarioError` if ``s`` does not fit the padded layout (naming the size and the
    limit)."""
    n_fac = s.n_regions * s.n_models * s.n_instance_types
    for what, have, limit in (
        ("classes", s.n_classes, MAX_CLASSES),
        ("facilities (regions x models x instance types)", n_fac, MAX_FACILITIES),
        ("data versions", s.n_data_versions, MAX_DATA_VERSIONS),
    ):
        if have > limit:
            raise ScenarioError(f"scenario {s.name!r} has {have} {what}, more than the sets observation's "
                                f"maximum of {limit}")


class AnySizeSource(ScenarioSource):
    """A scenario source whose scenarios may have any sizes within the sets maxima (not the first one's)."""

    def __init__(self, scenario: str | Scenario, resample: bool = False):
        super().__init__(scenario, resample=resample, max_classes=MAX_CLASSES)

    def check(self, s: Scenario) -> None:
        check_sizes(s)


def observation_space(scheduling: bool) -> spaces.Dict:
    """The Dict space of the sets observation (all Box(0, 1) float32)."""
    def box(*shape: int) -> spaces.Box:
        return spaces.Box(0.0, 1.0, shape, dtype=np.float32)

    d = {"facilities": box(MAX_FACILITIES, N_FAC_FEATURES), "facility_valid": box(MAX_FACILITIES),
         "classes": box(MAX_CLASSES, N_CLASS_FEATURES), "class_valid": box(MAX_CLASSES),
         "pair_cost": box(MAX_CLASSES, MAX_FACILITIES), "globals": box(N_GLOBALS)}
    if scheduling:
        d["action_cost"] = box(MAX_FACILITIES, MAX_DATA_VERSIONS)
    return spaces.Dict(d)


class StaticSets:
    """The parts of the sets observation fixed by a scenario and its reference cost (cached per scenario)."""

    def __init__(self, scenario: Scenario, ref: float):
        cm = CostModel.of(scenario)
        s = scenario
        R, n_fac = cm.C.shape
        self.n_classes, self.n_facilities = R, n_fac
        self.class_scale = ref / R
        fac = np.zeros((MAX_FACILITIES, N_FAC_FEATURES), dtype=np.float32)
        finite = np.isfinite(cm.F)
        fmax = cm.F[finite].max() if finite.any() else 1.0
        f = fac[:n_fac]
        f[:, F["open_cost"]] = np.where(finite, cm.F / fmax, 1.0)
        f[:, F["offered"]] = finite
        f[:, F["price"]] = np.where(finite, squash(np.where(finite, cm.fac_price_epoch, 0.0), ref), 1.0)
        f[:, F["deploy"]] = squash(cm.deploy, ref)
        f[:, F["feasible_classes"]] = cm.fac_feasible.mean(axis=0)
        f[:, F["accuracy"]] = s.accuracy.max(axis=1)[cm.fac_model]
        f[:, F["model_size"]] = squash(s.model_bytes[cm.fac_model], 1e9)
        f[:, F["gpu"]] = s.instance_is_gpu[cm.fac_type]
        f[:, F["lat"]] = (s.region_lat[cm.fac_region] + 90.0) / 180.0
        f[:, F["lon"]] = (s.region_lon[cm.fac_region] + 180.0) / 360.0
        self.facilities = fac
        self.facility_valid = np.zeros(MAX_FACILITIES, dtype=np.float32)
        self.facility_valid[:n_fac] = 1.0
        cls = np.zeros((MAX_CLASSES, N_CLASS_FEATURES), dtype=np.float32)
        c = cls[:R]
        rate = s.class_rate
        c[:, C["rate_share"]] = rate / max(rate.sum(), 1e-300)
        c[:, C["rate_rel"]] = squash(rate, max(rate.mean(), 1e-300))
        c[:, C["slo"]] = squash(s.class_latency_slo_ms, 1000.0)
        c[:, C["accuracy_floor"]] = s.class_accuracy_floor
        c_safe = np.where(cm.fac_feasible, cm.C, 0.0)
        c[:, C["cost_best"]] = squash(np.where(cm.fac_feasible, cm.C, np.inf).min(axis=1), self.class_scale)
        c[:, C["feasible_facilities"]] = cm.fac_feasible.mean(axis=1)
        c[:, C["lat"]] = (s.region_lat[s.class_origin] + 90.0) / 180.0
        c[:, C["lon"]] = (s.region_lon[s.class_origin] + 180.0) / 360.0
        self.classes = cls
        self.class_valid = np.zeros(MAX_CLASSES, dtype=np.float32)
        self.class_valid[:R] = 1.0
        self.pair_cost = np.ones((MAX_CLASSES, MAX_FACILITIES), dtype=np.float32)
        self.pair_cost[:R, :n_fac] = np.where(cm.fac_feasible, squash(c_safe, self.class_scale), 1.0)
        self.C_now = np.where(cm.fac_feasible, squash(c_safe, self.class_scale), 0.0)  # [R, I]
        self.C_inf = cm.C                                     # [R, I] dollars, inf where infeasible
        self.feasible = cm.fac_feasible
        self.F = np.where(np.isfinite(cm.F), cm.F, 0.0)
        self.globals_sizes = (R / MAX_CLASSES, n_fac / MAX_FACILITIES)
        self.feasible_count = cm.fac_feasible.sum(axis=0)      # [I] classes each facility can serve
        self.C_safe0 = np.where(cm.fac_feasible, cm.C, 0.0)   # [R, I] C, 0 where infeasible [$]
        worst = np.where(cm.fac_feasible, cm.C, -np.inf).max(axis=1)
        self.C_worst = worst                                   # [R] max_j C[r, j] over feasible j [$]
        for block in (self.facility_valid, self.class_valid, self.pair_cost):
            block.flags.writeable = False  # shared by every observation (read-only)

    @classmethod
    def of(cls, scenario: Scenario, ref: float) -> StaticSets:
        return cached_on(scenario, ("sets_static", ref), lambda: cls(scenario, ref))

    def observe(self, assign: np.ndarray, busy: np.ndarray, rho: float) -> dict[str, np.ndarray]:
        """The dynamic columns shared by both envs, from each class's facility ``assign`` [R] (-1 or |I|:
        unserved) and its busy instances ``busy`` [R]; returns fresh arrays."""
        R, n_fac = self.n_classes, self.n_facilities
        served = (assign >= 0) & (assign < n_fac)
        fac_of = np.where(served, assign, 0)
        x = np.bincount(fac_of[served], busy[served], minlength=n_fac)
        used = np.bincount(fac_of[served], minlength=n_fac) > 0
        n = np.where(used, np.maximum(1, instances_needed(x, rho)), 0)
        fac = self.facilities.copy()
        f = fac[:n_fac]
        f[:, F["open"]] = used
        f[:, F["load"]] = squash(x, 1.0)
        f[:, F["instances"]] = squash(n, 4.0)
        cap = rho * n
        f[:, F["spare"]] = np.clip((cap - x) / np.where(used, cap, 1.0), 0.0, 1.0)
        f[:, F["routed_classes"]] = np.bincount(fac_of[served], minlength=n_fac) / R
        now = self.C_inf[np.arange(R), fac_of][served]        # dollars of each served class where it is
        with np.errstate(invalid="ignore"):
            gain = np.maximum(now[:, None] - self.C_inf[served], 0.0).sum(axis=0)  # inf - inf: not feasible
        gain = np.nan_to_num(gain, nan=0.0, posinf=0.0)
        f[:, F["gain"]] = np.divide(gain, gain + self.F, out=np.zeros_like(gain), where=gain > 0)
        f[:, F["cover"]] = (self.feasible & ~served[:, None]).sum(axis=0) / R
        cls = self.classes.copy()
        c = cls[:R]
        c[:, C["served"]] = served
        c[:, C["cost_now"]] = np.where(served, self.C_now[np.arange(R), fac_of], 0.0)
        return {"facilities": fac, "facility_valid": self.facility_valid.copy(), "classes": cls,
                "class_valid": self.class_valid.copy(), "pair_cost": self.pair_cost.copy(),
                "globals": np.array([served.mean(), 0.0, *self.globals_sizes], dtype=np.float32)}


class SetsTracker:
    """The dynamic part of :meth:`StaticSets.observe`, kept up to date from one step to the next.

    :meth:`observe` gives the numbers of ``StaticSets.observe`` (fresh ``facilities``, ``classes`` and
    ``globals``; ``facility_valid``, ``class_valid`` and ``pair_cost`` are the shared read-only blocks)
    without its O(R·I) recomputation per step: each class's row of the gain terms
    max(0, C[r, its facility] − C[r, i]) and its ``served`` / ``cost_now`` entries are recomputed only
    when its facility changes (found by comparing ``assign`` with the last one seen, so any sequence of
    states is handled, resets included), and the count of unserved classes each facility can serve is
    kept as integers.  The gain is then summed over the same rows (the served classes, in class order)
    as ``StaticSets.observe`` sums them, so the same bits.
    """

    def __init__(self, st: StaticSets):
        self.st = st
        R, n_fac = st.n_classes, st.n_facilities
        self.assign = np.full(R, -2, dtype=np.int64)           # nothing seen yet: every row is updated
        self.served = np.zeros(R, dtype=bool)
        self.terms = np.zeros((R, n_fac))                      # gain terms of each served class
        self.classes = st.classes.copy()                       # with the served / cost_now columns
        self.cover = st.feasible_count.copy()                  # unserved classes that i can serve
        self.busy = np.zeros(R)                                # busy instances of each class (Scheduling)
        self.is_open = np.zeros(n_fac, dtype=bool)             # Scheduling's unserved gain: open facilities,
        self.at_open = np.full(R, np.inf)                      # min C[r, open j] [$],
        self.pay = np.full(R, np.nan)                          # what r pays without a new facility [$],
        self.unserved_terms = np.zeros((R, n_fac))             # and its gain terms at every facility
        self.fac = st.facilities.copy()                        # with the per-facility load columns
        self.touched: set[int] = set()                         # facilities whose classes changed

    def update(self, assign: np.ndarray, busy_of: Any = None) -> None:
        """Take the classes' facilities ``assign`` [R] (-1 or |I|: unserved); ``busy_of(rows)`` gives the
        busy instances of classes ``rows`` (kept in ``busy``) when the caller does not pass them."""
        st = self.st
        changed = np.flatnonzero(assign != self.assign)
        if changed.size == 0:
            return
        if busy_of is not None:
            self.busy[changed] = busy_of(changed)
        n_fac = st.n_facilities
        a = assign[changed]
        now = (a >= 0) & (a < n_fac)
        was = self.served[changed]
        fac = np.where(now, a, 0)
        cls = changed[now]
        if cls.size:  # the served classes that moved: their gain terms (inf - inf cannot occur here)
            here = st.C_inf[cls, fac[now]]
            self.terms[cls] = np.maximum(here[:, None] - st.C_inf[cls], 0.0)
        c = self.classes
        c[changed, C["served"]] = now
        c[changed, C["cost_now"]] = np.where(now, st.C_now[changed, fac], 0.0)
        became, lost = changed[now & ~was], changed[~now & was]
        if became.size:
            self.cover -= st.feasible[became].sum(axis=0)
        if lost.size:
            self.cover += st.feasible[lost].sum(axis=0)
        old = self.assign[changed]
        self.touched.update(old[(old >= 0) & (old < n_fac)].tolist())
        self.touched.update(a[now].tolist())
        self.served[changed] = now
        self.assign = assign.copy()

    def observe(self, assign: np.ndarray, busy: np.ndarray | None, rho: float, busy_of: Any = None,
                gain: bool = True) -> dict[str, np.ndarray]:
        """``StaticSets.observe(assign, busy, rho)``'s numbers (see the class docstring); ``busy=None``: the
        kept ``busy`` (with ``busy_of``); ``gain=False`` leaves the ``gain`` column to the caller."""
        self.update(assign, busy_of)
        if busy is None:
            busy = self.busy
        st = self.st
        R, n_fac = st.n_classes, st.n_facilities
        served = self.served
        self._refresh_facilities(assign, busy, rho)
        fac = self.fac.copy()
        f = fac[:n_fac]
        if gain:
            g = self.terms[served].sum(axis=0)                  # finite: no nan or inf to clean
            f[:, F["gain"]] = np.divide(g, g + st.F, out=np.zeros_like(g), where=g > 0)
        f[:, F["cover"]] = self.cover / R
        return {"facilities": fac, "facility_valid": st.facility_valid, "classes": self.classes.copy(),
                "class_valid": st.class_valid, "pair_cost": st.pair_cost,
                "globals": np.array([served.mean(), 0.0, *st.globals_sizes], dtype=np.float32)}

    def _refresh_facilities(self, assign: np.ndarray, busy: np.ndarray, rho: float) -> None:
        """The open, load, instances, spare and routed columns of the facilities whose classes changed,
        in Python floats with ``StaticSets.observe``'s operations: the load summed over the facility's
        classes in class order from 0.0 (as ``bincount``), n = max(1, ⌈x/ρ⌉) if used
        (``instances_needed_one``), x/(x+1), n/(n+4), clip((ρn − x)/ρn, 0, 1), count/R."""
        if not self.touched:
            return
        R = self.st.n_classes
        f = self.fac
        for i in sorted(self.touched):
            members = np.flatnonzero(assign == i).tolist()
            x = 0.0
            for r in members:
                x += busy.item(r)
            count = len(members)
            n = max(1, instances_needed_one(x, rho)) if count else 0
            cap = rho * n
            f[i, F["open"]] = count > 0
            f[i, F["load"]] = x / (x + 1.0)
            f[i, F["instances"]] = n / (n + 4.0)
            f[i, F["spare"]] = min(max((cap - x) / (cap if count else 1.0), 0.0), 1.0)
            f[i, F["routed_classes"]] = count / R
        self.touched.clear()


    def unserved_gain(self, unserved: np.ndarray, is_open: np.ndarray) -> np.ndarray:
        """``_unserved_gain(st, unserved, is_open)``'s numbers: min C[r, open j] is updated with the newly
        opened facilities (a minimum is exact in any order; recomputed when a facility closed, i.e. a new
        episode), each class's row of gain terms only when what it pays changed, and the gain is summed
        over the same rows (the unserved classes, in class order), so the same bits."""
        st = self.st
        if (self.is_open & ~is_open).any():
            self.at_open = np.where(is_open[None, :], st.C_inf, np.inf).min(axis=1)
        else:
            new = np.flatnonzero(is_open & ~self.is_open)
            if new.size:
                self.at_open = np.minimum(self.at_open, st.C_inf[:, new].min(axis=1))
        self.is_open = is_open.copy()
        pay = np.where(np.isfinite(self.at_open), self.at_open, st.C_worst)
        rows = np.flatnonzero(pay != self.pay)
        if rows.size:
            terms = np.maximum(pay[rows, None] - st.C_safe0[rows], 0.0)
            self.unserved_terms[rows] = np.where(st.feasible[rows], terms, 0.0)
            self.pay = pay
        if not unserved.any():
            return np.zeros(st.n_facilities, dtype=np.float32)
        g = self.unserved_terms[unserved].sum(axis=0)
        g = np.where(is_open, 0.0, g)
        return np.divide(g, g + st.F, out=np.zeros_like(g), where=g > 0).astype(np.float32)


def tracker(env: Any, st: StaticSets) -> SetsTracker:
    """The :class:`SetsTracker` of ``env`` for ``st`` (a new one when the scenario or reference changed)."""
    tr = getattr(env, "_sets_tracker", None)
    if tr is None or tr.st is not st:
        tr = SetsTracker(st)
        env._sets_tracker = tr
    return tr


def placement_observe(env: Any, plain: np.ndarray) -> dict[str, np.ndarray]:
    """The sets observation of a Placement env (its plain observation ``plain`` gives the open flags,
    opening costs, attraction, fraction served and cost so far, copied as they are)."""
    batch, t = env.batch, env.tables
    n_fac = t.n_facilities
    st = StaticSets.of(env.scenario, env.reference_cost)
    out = tracker(env, st).observe(batch.assign[0], batch.busy_cls[0], t.rho)
    f = out["facilities"][:n_fac]
    f[:, F["open"]] = plain[:n_fac]  # an opened facility that lost all its classes is still open
    f[:, F["open_cost"]] = plain[n_fac:2 * n_fac]
    f[:, F["attract"]] = plain[2 * n_fac:3 * n_fac]
    out["globals"][:2] = plain[3 * n_fac:3 * n_fac + 2]
    return out


def placement_mask(plain_mask: np.ndarray, n_fac: int) -> np.ndarray:
    """[MAX_FACILITIES + 1] mask in the padded layout (STOP last) from the plain [|I| + 1] mask."""
    if plain_mask.size == MAX_FACILITIES + 1 and n_fac + 1 != plain_mask.size:  # already padded
        return plain_mask
    m = np.zeros(MAX_FACILITIES + 1, dtype=bool)
    m[:n_fac] = plain_mask[:n_fac]
    m[MAX_FACILITIES] = plain_mask[n_fac]
    return m


def placement_action(action: Any, n_fac: int) -> int:
    """The plain action of a padded Placement action, or -1 for a padding action (always masked)."""
    a = discrete_action(action, MAX_FACILITIES + 1)
    if a == MAX_FACILITIES:
        return n_fac
    return a if a < n_fac else -1


def padding_message(a: int, n_fac: int) -> str:
    """Why padded Placement action ``a`` is masked."""
    return (f"action {a} is masked off: it is padding (this scenario has {n_fac} facilities: actions "
            f"0..{n_fac - 1} open them, {MAX_FACILITIES} is STOP)")


def placement_padded(plain_action: int, n_fac: int) -> int:
    """The padded action of a plain Placement action (STOP |I| → MAX_FACILITIES)."""
    return MAX_FACILITIES if plain_action == n_fac else int(plain_action)


def scheduling_table(scenario: Scenario) -> np.ndarray:
    """[MAX_FACILITIES · MAX_DATA_VERSIONS] plain action of each padded action (-1 for padding)."""
    def compute() -> np.ndarray:
        K, M, D, H = (
            scenario.n_regions,
            scenario.n_models,
            scenario.n_data_versions,
            scenario.n_instance_types,
        )
        table = np.full((MAX_FACILITIES, MAX_DATA_VERSIONS), -1, dtype=np.int64)
        k, m, h = np.unravel_index(np.arange(K * M * H), (K, M, H))
        d = np.arange(D)
        table[:K * M * H, :D] = ((k * M + m)[:, None] * D + d[None, :]) * H + h[:, None]
        return table.reshape(-1)

    return cached_on(scenario, "sets_scheduling_table", compute)


def scheduling_observe(env: Any, plain: np.ndarray) -> dict[str, np.ndarray]:
    """The sets observation of a Scheduling env (its plain observation gives the current class's floor,
    SLO and rate share, the served fraction, the open flags, the spare capacity and the marginal costs)."""
    s, t, batch = env.scenario, env.tables, env.batch
    K, n_fac = s.n_regions, t.n_facilities
    st = StaticSets.of(s, env.reference_cost)
    assign = batch.facility[0]
    data = batch.data[0]

    def busy_of(rows: np.ndarray) -> np.ndarray:  # t.busy at each class's plain action (0 if unserved)
        fac = assign[rows]
        return np.where(fac >= 0, t.busy[rows, np.maximum(_plain_action(t, fac, data[rows]), 0)], 0.0)

    tr = tracker(env, st)
    out = tr.observe(assign, None, t.rho, busy_of=busy_of, gain=False)
    f = out["facilities"][:n_fac]
    col = K + 4
    is_open = plain[col:col + n_fac]
    f[:, F["open"]] = is_open
    f[:, F["spare"]] = plain[col + n_fac:col + 2 * n_fac]
    r = int(batch.current()[0])
    if not batch.done[0]:
        out["classes"][r, C["current"]] = 1.0
    out["globals"][0] = plain[K + 3]
    f[:, F["gain"]] = tr.unserved_gain(assign < 0, is_open > 0)
    out["globals"][1] = squash(float(batch.costs[0, 0]), env.reference_cost)
    index, padding = _scheduling_gather(s)
    action_cost = plain[col + 2 * n_fac:].take(index)
    action_cost[padding] = 1.0
    out["action_cost"] = action_cost.reshape(MAX_FACILITIES, MAX_DATA_VERSIONS)
    return out


def _plain_action(t: Any, fac: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Plain action index of (facility, data version) pairs (-1 where the facility is -1)."""
    cm = t.cm
    _, M, D, H = cm.shape[1:]
    f = np.maximum(fac, 0)
    a = ((cm.fac_region[f] * M + cm.fac_model[f]) * D + np.maximum(data, 0)) * H + cm.fac_type[f]
    return np.where(fac >= 0, a, -1)


def _scheduling_gather(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(plain action of each padded action, 0 for padding; padding mask) of ``scheduling_table``."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        table = scheduling_table(scenario)
        return np.maximum(table, 0), table < 0

    return cached_on(scenario, "sets_scheduling_gather", compute)


def _unserved_gain(st: StaticSets, unserved: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """[I] G_i / (G_i + F_i) of the unserved classes (Scheduling's ``gain`` column, see FACILITY_FEATURES)."""
    cu = st.C_inf[unserved]                                   # [U, I], inf where infeasible
    if cu.shape[0] == 0:
        return np.zeros(st.n_facilities, dtype=np.float32)
    feas = st.feasible[unserved]
    at_open = np.where(is_open[None, :], cu, np.inf).min(axis=1)
    worst = np.where(feas, cu, -np.inf).max(axis=1)
    ref = np.where(np.isfinite(at_open), at_open, worst)      # what each class pays without i [$]
    gain = np.where(feas, np.maximum(ref[:, None] - np.where(feas, cu, 0.0), 0.0), 0.0).sum(axis=0)
    gain = np.where(is_open, 0.0, gain)
    return np.divide(gain, gain + st.F, out=np.zeros_like(gain), where=gain > 0).astype(np.float32)


def scheduling_mask(env: Any, plain_mask: np.ndarray) -> np.ndarray:
    """[MAX_FACILITIES · MAX_DATA_VERSIONS] mask in the padded layout."""
    table = scheduling_table(env.scenario)
    if plain_mask.size == table.size and env.tables.n_actions != table.size:  # already padded
        return plain_mask
    return (table >= 0) & plain_mask[np.maximum(table, 0)]


def scheduling_action(env: Any, action: Any) -> int:
    """The plain action of a padded Scheduling action, or -1 for a padding action (always masked)."""
    a = discrete_action(action, MAX_FACILITIES * MAX_DATA_VERSIONS)
    return int(scheduling_table(env.scenario)[a])


def scheduling_padding_message(env: Any, a: int) -> str:
    """Why padded Scheduling action ``a`` is masked."""
    i, d = divmod(int(a), MAX_DATA_VERSIONS)
    return (f"action {a} (facility {i}, data version {d}) is masked off: it is padding (this scenario has "
            f"{env.tables.n_facilities} facilities and {env.scenario.n_data_versions} data versions)")


def scheduling_padded(env: Any, plain_action: int) -> int:
    """The padded action of a plain Scheduling action."""
    t = env.tables
    i, d = int(t.act_facility[plain_action]), int(t.act_data[plain_action])
    return i * MAX_DATA_VERSIONS + d
