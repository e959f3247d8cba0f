"""``a2gym/GeoServe-v0``: a day of time slots; choose which facilities are deployed for each slot."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.checks import is_int
from a2gym.costmodel import CostModel
from a2gym.envs.base import DEFAULT_SCENARIO, MAX_EPISODE_STEPS, facility_ranks, squash
from a2gym.envs.demand import DemandModel
from a2gym.envs.reward import cached_on
from a2gym.envs.slotted import SlottedEnv
from a2gym.errors import ActionError
from a2gym.plan import Plan
from a2gym.scenario import Scenario

PENALTY_FILE = Path(__file__).resolve().parents[2] / "data" / "penalty.csv"


def _penalty_default() -> float:
    """``slo_penalty_per_request`` of ``a2gym/data/penalty.csv`` (the assumption and its anchors)."""
    with PENALTY_FILE.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return next(float(r["value"]) for r in rows if r["name"] == "slo_penalty_per_request")


SLO_PENALTY_PER_REQUEST = _penalty_default()
"""$ per request no facility can serve (default of the kwarg): an ASSUMPTION with its anchors (SLA credit
terms, lost revenue) in ``a2gym/data/penalty.csv``."""


def slot_view(scenario: Scenario, slot_hours: float) -> Scenario:
    """The scenario with epoch length T = one slot [h]: the ONE place GeoServe scales costs to a slot.

    Compute (π·T·n) and bandwidth (3600·T·λ·bytes·β) are linear in T, so evaluating a plan on this view
    with the slot's rates gives the slot's dollars; C[r, i] scales by T, so d* and every class's order of
    facilities are unchanged.  Deployment g is per deployment, not per epoch, and is charged by the env.
    """
    return cached_on(scenario, ("slot_view", float(slot_hours)),
                     lambda: scenario.replace(epoch_hours=float(slot_hours), uri=None))


class GeoServeTables:
    """Per-(scenario, slot length) arrays: the slot view's cost model, ranks, deployable facilities."""

    def __init__(self, scenario: Scenario, slot_hours: float):
        self.view = slot_view(scenario, slot_hours)
        cm = CostModel.of(self.view)
        self.cm = cm
        self.n_classes, self.n_facilities = cm.C.shape
        self.rank = facility_ranks(cm)
        self.deployable = cm.fac_feasible.any(axis=0)
        self.price_per_hour = np.nan_to_num(scenario.price_per_hour[cm.fac_region, cm.fac_type], nan=0.0)
        self.cold_start_cost = self.price_per_hour * scenario.cold_start_s / 3600.0  # [$] per instance start
        self.deploy = cm.deploy

    @classmethod
    def of(cls, scenario: Scenario, slot_hours: float) -> GeoServeTables:
        return cached_on(scenario, ("geoserve_tables", float(slot_hours)), lambda: cls(scenario, slot_hours))

    def slot(self, deployed: np.ndarray, previous: np.ndarray, rates: np.ndarray, penalty_per_request: float
             ) -> tuple[dict[str, float], Plan, np.ndarray]:
        """Costs [$] of one slot: (compute, bandwidth, deployment, penalty, total, unserved_requests), the
        autoscaled plan and the unserved-class mask.

        Each class goes to its cheapest deployed feasible facility (by C, ties to the lower index) with d*;
        a deployed facility runs max(1, ⌈x_i/ρ⌉) instances; newly deployed ones pay g + one instance's cold
        start; a class with no deployed feasible facility pays ``penalty_per_request`` per request.
        """
        n_fac = self.n_facilities
        masked = np.where(deployed[None, :], self.rank, n_fac)
        j = masked.argmin(axis=1)
        served = masked[np.arange(self.n_classes), j] < n_fac
        cls = np.flatnonzero(served)
        fac = j[cls]
        data = self.cm.dstar[cls, fac]
        sub = self.cm.materialise(fac, data, rates=rates[cls])  # classes renumbered 0..P-1
        n = np.where(deployed, np.maximum(1, sub.instances), 0)
        plan = Plan(cls=cls, facility=fac, data=data, fraction=np.ones(cls.size), instances=n)
        ev = self.cm.evaluate(plan, rates=rates, check=False)
        new = deployed & ~previous
        deployment = float(self.deploy[new].sum() + self.cold_start_cost[new].sum())
        unserved_req = float(rates[~served].sum()) * 3600.0 * self.view.epoch_hours
        penalty = unserved_req * penalty_per_request
        costs = {"compute": ev.compute, "bandwidth": ev.bandwidth, "deployment": deployment,
                 "penalty": penalty,
                 "unserved_requests": unserved_req}
        costs["total"] = ev.compute + ev.bandwidth + deployment + penalty
        return costs, plan, ~served


def greedy_slot_plan(scenario: Scenario, slot_hours: float, rates: np.ndarray,
                     local_search: bool = False) -> Plan:
    """A2-Greedy's integral plan for one slot's rates [req/s, R] on the slot view.

    Without ``local_search`` only the star greedy and Lemma A materialisation run (§11.6 steps 1–3, 5, the
    part that carries the 2·H_|R| guarantee): ~2 ms per slot on paper-default-v0 instead of ~0.1–1 s.
    """
    from a2gym.solvers import solve

    view = slot_view(scenario, slot_hours).replace(class_rate=np.asarray(rates, dtype=float), uri=None)
    return solve(view, "greedy", local_search=local_search, split=False).plan


def greedy_deployment(scenario: Scenario, slot_hours: float, rates: np.ndarray,
                      local_search: bool = False) -> np.ndarray:
    """The open set of :func:`greedy_slot_plan` as a 0/1 vector over the facilities (int8)."""
    bits = np.zeros(scenario.n_facilities, dtype=np.int8)
    bits[greedy_slot_plan(scenario, slot_hours, rates, local_search).open_facilities] = 1
    return bits


def geoserve_reference_cost(scenario: Scenario, demand: DemandModel, penalty_per_request: float,
                            local_search: bool = False) -> float:
    """The myopic reference's day cost [$] on the noise-free expected demand (the reward normaliser):
    each slot deploys A2-Greedy's open set for the previous slot's expected demand."""
    key = ("geoserve_reference_cost", demand.n_slots, demand.slot_minutes, demand.amplitude, demand.peak_hour,
           float(penalty_per_request), bool(local_search))

    def compute() -> float:
        t = GeoServeTables.of(scenario, demand.slot_hours)
        rates = demand.expected(scenario)
        prev = np.zeros(t.n_facilities, dtype=bool)
        total = 0.0
        for s in range(demand.n_slots):
            dep = greedy_deployment(scenario, demand.slot_hours, rates[s], local_search).astype(bool)
            total += t.slot(dep, prev, rates[s + 1], penalty_per_request)[0]["total"]
            prev = dep
        return total

    return cached_on(scenario, key, compute)


def slot_lower_bound(scenario: Scenario, slot_hours: float, rates: np.ndarray,
                     time_limit: float | None = None) -> float:
    """``a2gym.lower_bound`` of one slot [$]: slot view, the slot's rates, deployment g = 0."""
    from a2gym.solvers import lower_bound

    view = slot_view(scenario, slot_hours).replace(class_rate=np.asarray(rates, dtype=float),
                                                   model_bytes=np.zeros(scenario.n_models), uri=None)
    return float(lower_bound(view, time_limit=time_limit))


class GeoServeEnv(SlottedEnv):
    """Serve a day of time-varying demand: each slot, choose which facilities are deployed.

    ## Description

    A day is ``n_slots`` slots of ``slot_minutes`` (default 96 × 15 min, from 00:00 UTC).  Each class's
    demand follows its origin's local time and bursts from the bundled Azure arrival trace
    (:mod:`a2gym.envs.demand`): λ_r(t) = λ_r · (1 + A·cos(2π(h_local − 14)/24)) · b(t), drawn per episode
    from the reset's seeded RNG.  Each step the agent sets the facilities (k, m, h) deployed for the next
    slot, seeing only the last slot's demand.  The env then autoscales: every class goes to its cheapest
    deployed feasible facility (by C[r, i], data version d*), each deployed facility runs
    max(1, ⌈x_i/ρ⌉) instances for the slot's load, and it charges, in dollars:

    * compute and bandwidth of the slot: ``CostModel.evaluate(plan, rates=slot_rates)`` on the slot view
      (:func:`slot_view`: epoch length = slot length, the one place costs are scaled to a slot);
    * deployment of each newly deployed facility: model transfer g + one instance's ``cold_start_s``;
    * an SLO penalty of ``slo_penalty_per_request`` $ per request of a class that no deployed facility
      can serve (default 1e-3 $, about 1000 times the cost of serving a request).

    ## Action Space

    ``MultiDiscrete([2] * |I|)`` (every RL library takes it; ``action_type="multibinary"`` gives
    ``MultiBinary(|I|)``, the same decision): component i = 1 deploys facility i for the next slot.
    ``action_masks()`` / ``info["action_mask"]`` has 2|I| entries, (may be 0, may be 1) per facility, the
    layout sb3-contrib's MaskablePPO expects for both spaces; a facility not offered or feasible for no
    class may not be 1.  Every action in the space is a legal input: with the default
    ``invalid_action="noop"`` the masked 1s are cleared (``info["cleared_bits"]``) and the rest of the
    action is executed, paying ``-invalid_penalty`` (default 0: a cleared bit changes nothing); the day
    ends after ``n_slots`` steps either way.  ``invalid_action="raise"`` raises ``a2gym.ActionError``
    naming the facility.  An action outside the space (wrong shape, a value other than 0/1) always raises.

    ## Observation Space

    ``Box(0, 1, (4 + |I| + R_max,), float32)``; R_max = ``max_classes``:

    | index              | meaning                                                          | min | max |
    |--------------------|------------------------------------------------------------------|-----|-----|
    | 0                  | (1 + sin(2π h/24)) / 2, h = UTC hour at the start of the next slot | 0 | 1   |
    | 1                  | (1 + cos(2π h/24)) / 2                                           | 0   | 1   |
    | 2                  | slots done / n_slots                                             | 0   | 1   |
    | 3 … 2+I            | facility i deployed in the last slot (0/1)                       | 0   | 1   |
    | 3+I … 2+I+R_max    | last slot's demand of class r: λ_obs / (λ_obs + λ_r) (0 = padding) | 0 | 1   |
    | 3+I+R_max          | cost so far c / (c + ref)                                        | 0   | 1   |

    With ``action_mask_in_obs=True`` the observation is ``Dict({"observations": <the Box above>,
    "action_mask": Box(0, 1, (2|I|,), float32)})``, the mask equal to ``action_masks()``.

    ``info``: ``cost`` (dollars so far), ``compute``, ``bandwidth``, ``deployment``, ``penalty`` [$ so
    far], ``unserved_requests`` (this slot), ``violations`` (classes unserved in this slot),
    ``observed_rates`` [req/s, R] (last slot's demand), ``slot``, ``reference_cost``, ``action_mask``,
    ``invalid_action`` (this step had a masked 1), ``invalid_actions`` (such steps this episode),
    ``cleared_bits`` (masked 1s cleared this step).

    ## Rewards

    r_t = -(slot t's cost) / ref, ref = :func:`geoserve_reference_cost`: the myopic reference's day cost
    on the noise-free expected demand (bursts = 1).  The return is -day_cost / ref.

    ## Starting State

    Nothing deployed; the demand of the slot before the day (t = -1) is observed.

    ## Episode End

    Terminated after ``n_slots`` steps (the day is over).  ``max_episode_steps`` is a safety cap
    (1,000,000; make refuses a longer day).  ``step`` before ``reset`` or after the end raises
    ``a2gym.ResetNeededError``.

    ## Arguments

    * ``scenario``, ``resample``, ``max_classes`` (padding of the demand block), ``reward``,
      ``render_mode``: as in Placement-v0.
    * ``n_slots`` (96), ``slot_minutes`` (15, a multiple of 10 s), ``diurnal_amplitude`` (0.5),
      ``peak_hour`` (14.0 local), ``trace`` (``"conv"``, ``"code"``, an array, or None = no bursts),
      ``slo_penalty_per_request`` ($, 1e-3), ``reference_local_search`` (False: the reference runs
      A2-Greedy without its local search, see :func:`greedy_slot_plan`).
    * ``action_type``: ``"multidiscrete"`` (default) or ``"multibinary"``.
    * ``invalid_action`` (``"noop"`` or ``"raise"``), ``invalid_penalty`` (0.0), ``action_mask_in_obs``
      (False): as in Placement-v0 (a day always ends, so there is no failure run).
      ``env.unwrapped.make_kwargs()`` lists every kwarg with its value.

    >>> import gymnasium, a2gym
    >>> env = gymnasium.make("a2gym/GeoServe-v0", scenario="generator://synth-v0/1?classes=8&regions=3",
    ...                      n_slots=4, slot_minutes=60)
    >>> obs, info = env.reset(seed=0)
    >>> info["observed_rates"].shape
    (8,)

    ## Vectorized environment

    No native vector env; use ``gymnasium.make_vec(..., vectorization_mode="sync"|"async")``.

    ## Reference

    :func:`a2gym.policies.reference_policy` with ``mode="myopic"`` (A2-Greedy's open set for the last
    slot's observed demand) or ``"oracle"`` (for the true demand of the slot being decided), turned into
    an action by :meth:`target_action`, and :func:`a2gym.policies.geoserve_lower_bound` (Σ per-slot lower
    bounds).

    ## Version History

    * v0: initial version.
    * v0, unchanged id (the same decisions and costs; every committed record replays): the default action
      space is ``MultiDiscrete([2] * |I|)`` (RLlib rejects ``MultiBinary``), ``MultiBinary`` behind
      ``action_type="multibinary"`` (load an SB3 model saved with the MultiBinary space in an env made
      with it); a masked 1 is cleared instead of raising (``invalid_action``, ``invalid_penalty``);
      ``action_mask_in_obs``; the myopic reference policy honours ``reference_local_search``; ``step``
      before ``reset`` raises ``ResetNeededError``.
    """

    def __init__(self, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 n_slots: int = 96, slot_minutes: float = 15.0, diurnal_amplitude: float = 0.5,
                 peak_hour: float = 14.0, trace: str | np.ndarray | None = "conv",
                 slo_penalty_per_request: float = SLO_PENALTY_PER_REQUEST,
                 reference_local_search: bool = False, action_type: str = "multidiscrete",
                 invalid_action: str = "noop", invalid_penalty: float = 0.0,
                 action_mask_in_obs: bool = False):
        super().__init__(scenario, resample, max_classes, reward, render_mode, invalid_action=invalid_action,
                         invalid_penalty=invalid_penalty, action_mask_in_obs=action_mask_in_obs)
        if is_int(n_slots) and n_slots > MAX_EPISODE_STEPS:
            raise ValueError(f"n_slots = {n_slots} is more than the registered max_episode_steps = "
                             f"{MAX_EPISODE_STEPS}")
        if action_type not in ACTION_TYPES:
            raise ValueError(f"action_type = {action_type!r} is not one of "
                             f"{', '.join(map(repr, ACTION_TYPES))}")
        self.demand = DemandModel(n_slots, slot_minutes, diurnal_amplitude, peak_hour, trace)
        if not (np.isfinite(slo_penalty_per_request) and slo_penalty_per_request >= 0):
            raise ValueError(f"slo_penalty_per_request = {slo_penalty_per_request!r} must be finite and >= 0")
        self.penalty_per_request = float(slo_penalty_per_request)
        self.reference_local_search = bool(reference_local_search)
        self.n_slots, self.slot_hours = self.demand.n_slots, self.demand.slot_hours
        n_fac, r_max = self.source.n_facilities, self.source.max_classes
        self.n_facilities = n_fac
        self.action_type = action_type
        self.action_space = spaces.MultiDiscrete(np.full(n_fac, 2)) if action_type == "multidiscrete" \
            else spaces.MultiBinary(n_fac)
        self._finish_spaces(spaces.Box(0.0, 1.0, (4 + n_fac + r_max,), dtype=np.float32), 2 * n_fac)
        for k in ("invalid_failure_penalty", "max_invalid_actions"):  # a day always ends: no failure
            del self._make_kwargs[k]
        self._make_kwargs.update(n_slots=n_slots, slot_minutes=slot_minutes,
                                 diurnal_amplitude=diurnal_amplitude, peak_hour=peak_hour, trace=trace,
                                 slo_penalty_per_request=slo_penalty_per_request,
                                 reference_local_search=reference_local_search, action_type=action_type)
        self._setup(self.scenario)
        self.rates = self.demand.expected(self.scenario)
        self._start_episode()

    def _setup(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.tables = GeoServeTables.of(scenario, self.slot_hours)
        self.reference_cost = geoserve_reference_cost(scenario, self.demand, self.penalty_per_request,
                                                      self.reference_local_search)
        may_be_0 = np.ones(self.n_facilities, dtype=bool)
        self._mask_pairs = np.stack([may_be_0, self.tables.deployable], 1).ravel()

    def _start_episode(self) -> None:
        self.slot_no = 0
        self.deployed = np.zeros(self.n_facilities, dtype=bool)
        self.totals = dict.fromkeys(("total", "compute", "bandwidth", "deployment", "penalty"), 0.0)
        self._last = {"unserved_requests": 0.0, "violations": []}
        self._plan: Plan | None = None
        self._cleared = 0

    def step(self, action: Any):
        bits = self._validate(action)
        if self._needs_reset is not None:
            raise self._reset_needed()
        masked = bits & ~self.tables.deployable
        self._cleared = int(masked.sum())
        if self._cleared:  # a masked bit: raise, or clear it (the facility could serve nobody)
            self.invalid.masked(lambda: self._why_masked(int(np.flatnonzero(masked)[0])))
            bits = bits & ~masked
        rates = self.rates[self.slot_no + 1]
        costs, self._plan, unserved = self.tables.slot(bits, self.deployed, rates, self.penalty_per_request)
        for k in self.totals:
            self.totals[k] += costs[k]
        self.deployed = bits
        self.slot_no += 1
        names = self.scenario.classes
        self._last = {"unserved_requests": costs["unserved_requests"],
                      "violations": [f"unserved: {names[r]}" for r in np.flatnonzero(unserved)]}
        return self._slot_result(costs["total"])

    def _validate(self, action: Any) -> np.ndarray:
        """The bits of an action in the action space, or ActionError naming it (masked bits are kept)."""
        a = np.asarray(action)
        n = self.n_facilities
        if a.shape != (n,) or a.dtype.kind not in "biuf":
            raise ActionError(f"action {action!r} is not in {self.action_space} "
                              f"(shape {a.shape}, dtype {a.dtype})")
        if not np.all((a == 0) | (a == 1)):
            bad = int(np.flatnonzero((a != 0) & (a != 1))[0])
            raise ActionError(f"action[{bad}] = {a[bad]!r} is not 0 or 1 ({self.action_space})")
        return a != 0

    def _why_masked(self, i: int) -> str:
        return (f"action[{i}] = 1 (deploy {self.scenario.facility_name(i)}) is masked off: the facility is "
                "not offered or can serve no class")

    def _mask(self) -> np.ndarray:
        return self._mask_pairs

    def _obs(self) -> np.ndarray:
        h = self.slot_no * self.slot_hours
        observed = self.rates[self.slot_no]
        base = self.scenario.class_rate
        dem = np.zeros(self.source.max_classes)
        dem[:observed.size] = np.where(base > 0, observed / np.where(base > 0, observed + base, 1.0), 0.0)
        ang = 2.0 * np.pi * h / 24.0
        head = [(1 + np.sin(ang)) / 2, (1 + np.cos(ang)) / 2, self.slot_no / self.n_slots]
        return np.concatenate([head, self.deployed, dem, [squash(self.totals["total"], self.reference_cost)]]
                              ).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"cost": self.totals["total"]}
        info.update({k: v for k, v in self.totals.items() if k != "total"})
        info.update(self._last)
        info.update({"observed_rates": self.rates[self.slot_no].copy(), "slot": self.slot_no,
                     "reference_cost": self.reference_cost, "action_mask": self._mask_pairs.copy(),
                     **self._invalid_info(self._cleared > 0), "cleared_bits": self._cleared})
        return info

    def plan(self) -> Plan:
        """The last slot's autoscaled plan (empty before the first step)."""
        if self._plan is None:
            return Plan(cls=[], facility=[], data=[], fraction=[], instances=np.zeros(self.n_facilities))
        return self._plan

    def target_action(self, target: Plan | np.ndarray, data: np.ndarray | None = None) -> np.ndarray:
        """The action toward a target: deploy its facilities (a Plan: its open facilities; an array: each
        class's target facility) for the next slot (``data`` is ignored: the env autoscales with d*)."""
        del data
        facilities = (target.open_facilities if isinstance(target, Plan)
                      else np.asarray(target, dtype=np.int64))
        return deploy_bits(facilities, self.n_facilities, self.action_space.dtype)

    def _cost_parts(self) -> dict[str, float]:
        return self.totals

    def _render_title(self) -> str:
        return f"{super()._render_title()}, slot {self.slot_no}/{self.n_slots}"


def deploy_bits(facilities: np.ndarray, n_facilities: int, dtype: Any) -> np.ndarray:
    """GeoServe's action toward a target: one bit per facility, set for ``facilities`` (the one rule, used
    by :meth:`GeoServeEnv.target_action` and the heuristics)."""
    bits = np.zeros(n_facilities, dtype=dtype)
    bits[facilities] = 1
    return bits


ACTION_TYPES = ("multidiscrete", "multibinary")
"""Allowed values of GeoServe's ``action_type`` make-kwarg (the first is the default)."""

