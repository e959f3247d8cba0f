"""``a2gym/GeoServeCapacity-v0`` (formerly ``a2gym/GeoServe-v1``): a day of slots; choose how many instances
each facility has, with a provisioning delay, billing from request to release, and routing within the
capacity that is ready."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.checks import is_finite_real, is_int
from a2gym.envs.base import DEFAULT_SCENARIO, MAX_EPISODE_STEPS, squash
from a2gym.envs.demand import DemandModel
from a2gym.envs.geoserve.env import SLO_PENALTY_PER_REQUEST
from a2gym.envs.geoserve_capacity.dynamics import (
    Billing,
    DelayWindows,
    Fleet,
    V1Tables,
    provisioning_defaults,
)
from a2gym.envs.geoserve_capacity.reference import NORMALISERS, expected_initial_fleet, reference_day
from a2gym.envs.slotted import SlottedEnv
from a2gym.errors import ActionError
from a2gym.plan import Plan
from a2gym.scenario import Scenario

_DEFAULTS = provisioning_defaults()
PROVISIONING_DELAY_S = _DEFAULTS["provisioning_delay_s"]  # 180 s: boot 30 s (measured) + serving start 150 s
BILLING_GRANULARITY_S = _DEFAULTS["billing_granularity_s"]  # 1 s (EC2 Linux on-demand)
BILLING_MINIMUM_S = _DEFAULTS["billing_minimum_s"]  # 60 s (EC2 Linux on-demand)
MAX_INSTANCES = 8


def _check_number(name: str, value: Any, positive: bool) -> float:
    if not (is_finite_real(value) and (value > 0 if positive else value >= 0)):
        raise ValueError(f"{name} = {value!r} must be a finite number {'> 0' if positive else '>= 0'}")
    return float(value)


MAX_INSTANCES_CAP = 1024
"""Largest ``max_instances``: the action mask holds |I|·(max_instances + 1) booleans."""


def _check_int(name: str, value: Any, low: int) -> int:
    if not (is_int(value) and value >= low):
        raise ValueError(f"{name} = {value!r} must be an integer >= {low}")
    return int(value)


class GeoServeCapacityEnv(SlottedEnv):
    """Serve a day of demand by choosing each facility's instance count; new instances take time to be
    ready, are billed from request to release, and only ready capacity serves.

    ## Description

    A day is ``n_slots`` slots of ``slot_minutes`` (default 96 × 15 min from 00:00 UTC) with GeoServe-v0's
    demand: λ_r(t) = λ_r · (1 + A·cos(2π(h_local − 14)/24)) · b(t), the diurnal curve of the class's origin
    times bursts from the bundled Azure arrival trace (:mod:`a2gym.envs.demand`), drawn per episode from
    the reset's seeded RNG.  Each step the agent sets, for the next slot, the number of instances of every
    facility (region, model, instance type), seeing the demand of the last slots and its fleet.  The env
    (:mod:`a2gym.envs.geoserve_capacity.dynamics`):

    * adds instances (requested now, ready ``provisioning_delay_s`` later) or releases them (newest
      first, so booting ones go first);
    * bills every instance from request to release at its $/h price, in units of
      ``billing_granularity_s`` with a ``billing_minimum_s`` minimum (EC2 Linux: per second, 60 s);
    * charges the model transfer g (as v0) when a facility goes from 0 instances to some;
    * routes the slot's realised demand within the *ready* capacity (ρ busy-instances per instance):
      each class to its cheapest feasible facility with spare capacity, then its next; demand no ready
      capacity can take within the SLO pays ``slo_penalty_per_request`` $ per request and is counted in
      ``info["unserved_requests"]``; served requests pay bandwidth.

    ## Action Space

    ``MultiDiscrete([max_instances + 1] * |I|)``: entry i is facility i's instance count for the next
    slot.  ``action_masks()`` / ``info["action_mask"]`` is the concatenation, facility by facility, of
    ``max_instances + 1`` booleans (count allowed), as sb3-contrib's MaskablePPO expects for
    MultiDiscrete: a facility not offered or feasible for no class may only have 0.  Every action in the
    space is a legal input: with the default ``invalid_action="noop"`` a count at a masked facility is
    cleared to 0 (``info["cleared_counts"]``), the rest is executed and ``-invalid_penalty`` (default 0) is
    paid; ``invalid_action="raise"`` raises ``a2gym.ActionError`` naming the facility.  An action outside
    the space (wrong shape, a count outside 0..max_instances) always raises.

    ## Observation Space

    ``Box(0, 1, (4 + H·R_max + 2|I|,), float32)``; H = ``history_slots``, R_max = ``max_classes``:

    | index                   | meaning                                                        | min | max |
    |-------------------------|----------------------------------------------------------------|-----|-----|
    | 0                       | (1 + sin(2π h/24)) / 2, h = UTC hour at the start of the next slot | 0 | 1 |
    | 1                       | (1 + cos(2π h/24)) / 2                                         | 0   | 1   |
    | 2                       | slots done / n_slots                                           | 0   | 1   |
    | 3 + j·R_max + r | class r's demand j+1 slots ago: λ/(λ+λ_r) (0: padding; pre-episode: slot -1) | 0 | 1 |
    | 3 + H·R_max + i         | instances of facility i ready now / max_instances              | 0   | 1   |
    | 3 + H·R_max + I + i     | instances of facility i pending (requested, not ready) / max_instances |0|1|
    | 3 + H·R_max + 2I        | cost so far c / (c + ref)                                      | 0   | 1   |

    ``info``: ``cost`` ($ so far), ``compute``, ``bandwidth``, ``deployment``, ``penalty`` [$ so far],
    ``unserved_requests`` (this slot, requests), ``unserved_requests_total`` (so far), ``violations``
    (classes with unserved demand this slot), ``observed_rates`` [req/s, R] (last slot's demand),
    ``ready`` and ``pending`` [instances, I], ``slot``, ``reference_cost``, ``action_mask``,
    ``invalid_action`` (this step had a masked count), ``invalid_actions`` (such steps this episode),
    ``cleared_counts`` (masked counts cleared this step).  With ``action_mask_in_obs=True`` the
    observation is ``Dict({"observations": <the Box>, "action_mask": Box(0, 1, (|I|·(max_instances+1),))})``.

    ## Rewards

    r_t = -(slot t's cost) / ref, ref = the normaliser reference's mean day cost over the days of
    ``reset(seed=0, 1, 2)`` (:func:`~a2gym.envs.geoserve_capacity.reference.reference_day`), so the return is
    -day_cost / ref and the normaliser returns about -1. The normaliser is the target-tracking autoscaler
    (``normaliser="target-tracking"``, the default) or the reactive re-solve (``"reactive"``: GeoServe-v1's).

    ## Starting State

    The fleet A2-Greedy sizes for the noise-free demand of the slot before the day, ready and past its
    billing minimum (the day continues from yesterday); the demand of slot -1 is observed.

    ## Episode End

    Terminated after ``n_slots`` steps; every instance is released at the end of the day.
    ``max_episode_steps`` is a safety cap (1,000,000).  ``step`` before ``reset`` or after the end raises
    ``a2gym.ResetNeededError``.

    ## Arguments

    * ``scenario``, ``resample``, ``max_classes``, ``reward``, ``render_mode``: as in Placement-v0.
    * ``n_slots`` (96), ``slot_minutes`` (15), ``diurnal_amplitude`` (0.5), ``peak_hour`` (14.0), ``trace``
      (``"conv"``): as in GeoServe-v0.
    * ``slo_penalty_per_request`` ($ per unserved request, 1e-3): an ASSUMPTION with its sources and the
      sensitivity of every reference to it in ``a2gym/data/penalty.csv`` and
      ``results/capacity/sensitivity.md`` (0.1×, 1×, 10×).
    * ``provisioning_delay_s`` (180 s ≥ 0): request to ready; 30 s EC2 Linux boot (measured) + 150 s
      serving start and model load (ASSUMPTION); sources in ``a2gym/data/provisioning.csv``.
    * ``billing_granularity_s`` (1 s, > 0) and ``billing_minimum_s`` (60 s, ≥ 0): EC2 Linux on-demand.
    * ``max_instances`` (8, ≥ 1): the largest count per facility; ``make`` fails naming it when the
      initial fleet (or, with ``normaliser="reactive"``, the reactive reference) needs more.
    * ``normaliser`` (``"target-tracking"`` or ``"reactive"``): the reference whose day cost the reward
      is divided by (see Rewards).
    * ``history_slots`` (4, ≥ 1): slots of demand in the observation.
    * ``invalid_action`` (``"noop"`` or ``"raise"``), ``invalid_penalty`` (0.0), ``action_mask_in_obs``
      (False): as in GeoServe-v0.

    >>> import gymnasium, a2gym
    >>> env = gymnasium.make("a2gym/GeoServeCapacity-v0", scenario="generator://synth-v0/1?classes=8&regions=3",
    ...                      n_slots=4, slot_minutes=60)
    >>> obs, info = env.reset(seed=0)
    >>> env.action_space.shape == (env.unwrapped.n_facilities,)
    True

    ## Vectorized environment

    No native vector env; use ``gymnasium.make_vec(..., vectorization_mode="sync"|"async")``.

    ## Reference

    :func:`a2gym.policies.reference_policy` with ``mode="target-tracking"`` (the default: a Kubernetes-HPA
    autoscaler per facility on the re-solve's placement, :class:`~a2gym.envs.geoserve_capacity.reference.
    TargetTracker`: ⌈load / (0.7 ρ)⌉ instances, scale-out at once, scale-in after a 900 s (one slot)
    stabilisation window; tuned on ``a2-val-v1`` only), ``"reactive"`` (A2-Greedy re-solved on the last
    slot's observed demand, counts max(1, ⌈x_i/ρ⌉)), ``"forecast"`` (the same on a diurnal forecast of
    the slots the request must cover), ``"oracle"`` (v0's oracle: the true demand of the slot being
    decided) or ``"hindsight"`` (the time-expanded MILP over the realised day,
    :mod:`a2gym.envs.geoserve_capacity.hindsight`).  Every reference's counts are capped at ``max_instances``
    (a bursty day may need more than the normaliser's days, which ``make`` checks).  On the leaderboard
    (``a2-test-v1``) the target-tracking reference is the one scores are relative to; reactive, forecast,
    oracle and hindsight are reserved rows beside it.

    ## Version History

    * GeoServeCapacity-v0 (0.2.0): the dynamics of GeoServe-v1 under their own name, so GeoServe-v0 is
      no longer called out of date (this is another problem, not an upgrade); the reward is normalised by
      the target-tracking autoscaler (``normaliser="reactive"`` gives GeoServe-v1's reward, and old
      ``a2gym/GeoServe-v1`` records replay through it); the reference row is target-tracking.
    * GeoServe-v1: capacity decisions (instance counts) with provisioning delay, billing from request to
      release and routing within ready capacity; reward normalised by the reactive reference.
    * (GeoServe-v0, :class:`a2gym.envs.geoserve.env.GeoServeEnv`: deployment set, instant autoscaling; a
      different problem.)
    """

    def __init__(
        self,
        scenario: str | Scenario = DEFAULT_SCENARIO,
        resample: bool = False,
        max_classes: int | None = None,
        reward: Any = "normalised",
        render_mode: str | None = None,
        n_slots: int = 96,
        slot_minutes: float = 15.0,
        diurnal_amplitude: float = 0.5,
        peak_hour: float = 14.0,
        trace: str | np.ndarray | None = "conv",
        slo_penalty_per_request: float = SLO_PENALTY_PER_REQUEST,
        provisioning_delay_s: float = PROVISIONING_DELAY_S,
        billing_granularity_s: float = BILLING_GRANULARITY_S,
        billing_minimum_s: float = BILLING_MINIMUM_S,
        max_instances: int = MAX_INSTANCES,
        history_slots: int = 4,
        invalid_action: str = "noop",
        invalid_penalty: float = 0.0,
        action_mask_in_obs: bool = False,
        normaliser: str = "target-tracking",
    ):
        super().__init__(scenario, resample, max_classes, reward, render_mode, invalid_action=invalid_action,
                         invalid_penalty=invalid_penalty, action_mask_in_obs=action_mask_in_obs)
        if (
            isinstance(n_slots, int | np.integer)
            and not isinstance(n_slots, bool)
            and n_slots > MAX_EPISODE_STEPS
        ):
            raise ValueError(
                f"n_slots = {n_slots} is more than the registered max_episode_steps = {MAX_EPISODE_STEPS}"
            )
        self.demand = DemandModel(n_slots, slot_minutes, diurnal_amplitude, peak_hour, trace)
        self.penalty_per_request = _check_number("slo_penalty_per_request", slo_penalty_per_request, False)
        delay = _check_number("provisioning_delay_s", provisioning_delay_s, False)
        gran = _check_number("billing_granularity_s", billing_granularity_s, True)
        minimum = _check_number("billing_minimum_s", billing_minimum_s, False)
        self.max_instances = _check_int("max_instances", max_instances, 1)
        if self.max_instances > MAX_INSTANCES_CAP:
            raise ValueError(f"max_instances = {self.max_instances} is above the cap of {MAX_INSTANCES_CAP} "
                             "(a2gym.envs.geoserve_capacity.env.MAX_INSTANCES_CAP)")
        if normaliser not in NORMALISERS:
            known = ", ".join(map(repr, NORMALISERS))
            raise ValueError(f"normaliser = {normaliser!r} must be one of {known}")
        self.normaliser = normaliser
        self.history_slots = _check_int("history_slots", history_slots, 1)
        self.n_slots, self.slot_hours = self.demand.n_slots, self.demand.slot_hours
        self.slot_s = self.slot_hours * 3600.0
        self.delay = DelayWindows(delay, self.slot_s)
        self.billing = Billing(gran, minimum)
        n_fac, r_max = self.source.n_facilities, self.source.max_classes
        self.n_facilities = n_fac
        self.action_space = spaces.MultiDiscrete(np.full(n_fac, self.max_instances + 1, dtype=np.int64))
        self._finish_spaces(
            spaces.Box(0.0, 1.0, (4 + self.history_slots * r_max + 2 * n_fac,), dtype=np.float32),
            n_fac * (self.max_instances + 1),
        )
        for k in ("invalid_failure_penalty", "max_invalid_actions"):  # a day always ends: no failure
            del self._make_kwargs[k]
        self._make_kwargs.update(
            n_slots=n_slots,
            slot_minutes=slot_minutes,
            diurnal_amplitude=diurnal_amplitude,
            peak_hour=peak_hour,
            trace=trace,
            slo_penalty_per_request=slo_penalty_per_request,
            provisioning_delay_s=provisioning_delay_s,
            billing_granularity_s=billing_granularity_s,
            billing_minimum_s=billing_minimum_s,
            max_instances=max_instances,
            history_slots=history_slots,
            normaliser=normaliser,
        )
        self._setup(self.scenario)
        self.rates = self.demand.expected(self.scenario)
        self._start_episode()

    # ------------------------------------------------------------------ setup
    def settings(self) -> tuple:
        """Everything besides the demand model and penalty that changes the dynamics (cache keys)."""
        b = self.billing
        return (self.delay.delay_s, b.granularity_s, b.minimum_s)

    def new_fleet(self, scenario: Scenario | None = None) -> Fleet:
        """A fleet at the start of the day (the initial fleet, nothing pending) on ``scenario``."""
        s = self.scenario if scenario is None else scenario
        tables = V1Tables.of(s, self.slot_hours)
        return Fleet(tables, self.n_slots, self.slot_s, self.delay, self.billing,
                     expected_initial_fleet(s, self.demand))

    def _setup(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.tables = V1Tables.of(scenario, self.slot_hours)
        initial = expected_initial_fleet(scenario, self.demand)
        self.reference_cost, peak = reference_day(scenario, self.demand, self.settings(),
                                                  lambda: self.new_fleet(scenario), self.penalty_per_request,
                                                  self.normaliser, self.max_instances)
        need = max(peak, int(initial.max(initial=0)))
        if need > self.max_instances:
            who = "initial fleet" if self.normaliser != "reactive" else "reactive reference"
            raise ValueError(
                f"max_instances = {self.max_instances} is below the {need} instances per facility "
                f"that the {who} uses on {scenario.name!r}; raise max_instances"
            )
        allowed = np.zeros((self.n_facilities, self.max_instances + 1), dtype=bool)
        allowed[:, 0] = True
        allowed[self.tables.deployable, 1:] = True
        self._allowed = allowed
        self._mask_flat = allowed.ravel()

    def _start_episode(self) -> None:
        self.fleet = self.new_fleet()
        self.slot_no = 0
        self.totals = dict.fromkeys(("total", "compute", "bandwidth", "deployment", "penalty",
                                     "unserved_requests"), 0.0)
        self._last = {"unserved_requests": 0.0, "violations": []}
        self._cleared = 0

    # ------------------------------------------------------------------- step
    def step(self, action: Any):
        target = self._validate(action)
        if self._needs_reset is not None:
            raise self._reset_needed()
        masked = (target > 0) & ~self.tables.deployable
        self._cleared = int(masked.sum())
        if self._cleared:  # a count at a masked facility: raise, or clear it (it could serve nobody)
            self.invalid.masked(lambda: self._why_masked(int(np.flatnonzero(masked)[0]), target))
            target = np.where(masked, 0, target)
        rates = self.rates[self.slot_no + 1]
        costs = self.fleet.step(target, rates, self.penalty_per_request)
        for k in self.totals:
            self.totals[k] += costs[k]
        self.slot_no += 1
        self._last = {"unserved_requests": costs["unserved_requests"], "violations": self._violations(rates)}
        return self._slot_result(costs["total"])

    def _violations(self, rates: np.ndarray) -> list[str]:
        names = self.scenario.classes
        return [f"unserved: {names[r]}" for r in np.flatnonzero(self.fleet.unserved_rates > 0)]

    def _validate(self, action: Any) -> np.ndarray:
        a = np.asarray(action)
        n_fac, top = self.n_facilities, self.max_instances
        if a.shape != (n_fac,) or a.dtype.kind not in "iu":
            raise ActionError(f"action is not in MultiDiscrete([{top + 1}] * {n_fac}): shape {a.shape}, "
                              f"dtype {a.dtype} (need {n_fac} integers)")
        out = np.flatnonzero((a < 0) | (a > top))
        if out.size:
            i = int(out[0])
            raise ActionError(
                f"action[{i}] = {int(a[i])} instances of {self.scenario.facility_name(i)} is outside "
                f"0..{top} (max_instances)"
            )
        return a.astype(np.int64)

    def _why_masked(self, i: int, counts: np.ndarray) -> str:
        return (
            f"action[{i}] = {int(counts[i])} instances of {self.scenario.facility_name(i)} is masked off: "
            f"the "
            "facility is not offered or can serve no class"
        )

    # ------------------------------------------------------------ observation
    def ready_and_pending(self) -> tuple[np.ndarray, np.ndarray]:
        """Instances [I] ready at the start of the next slot, and requested but not yet ready."""
        ready = self.fleet.ready_at(self.slot_no)
        return ready, self.fleet.count - ready

    def _mask(self) -> np.ndarray:
        return self._mask_flat

    def _obs(self) -> np.ndarray:
        t, r_max, H = self.slot_no, self.source.max_classes, self.history_slots
        R, n_fac = self.scenario.n_classes, self.n_facilities
        obs = np.zeros(self.box_space.shape, dtype=np.float64)
        ang = 2.0 * np.pi * t * self.slot_hours / 24.0
        obs[0], obs[1], obs[2] = (1 + np.sin(ang)) / 2, (1 + np.cos(ang)) / 2, t / self.n_slots
        rows = np.maximum(t - np.arange(H), 0)  # rates rows of slots t-1, t-2, ... (row 0 = slot -1)
        observed = self.rates[rows]
        dem = obs[3:3 + H * r_max].reshape(H, r_max)
        dem[:, :R] = observed / np.maximum(observed + self.scenario.class_rate, 1e-300)
        ready, pending = self.ready_and_pending()
        k = 3 + H * r_max
        obs[k:k + n_fac] = ready
        obs[k + n_fac:k + 2 * n_fac] = pending
        obs[k:k + 2 * n_fac] /= self.max_instances
        obs[-1] = squash(self.totals["total"], self.reference_cost)
        return obs.astype(np.float32)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"cost": self.totals["total"]}
        info.update({k: v for k, v in self.totals.items() if k not in ("total", "unserved_requests")})
        info.update(self._last)
        ready, pending = self.ready_and_pending()
        info.update({"unserved_requests_total": self.totals["unserved_requests"],
                     "observed_rates": self.rates[self.slot_no].copy(), "ready": ready, "pending": pending,
                     "slot": self.slot_no, "reference_cost": self.reference_cost,
                     "action_mask": self._mask_flat.copy(), **self._invalid_info(self._cleared > 0),
                     "cleared_counts": self._cleared})
        return info

    # -------------------------------------------------------------- rendering
    def plan(self) -> Plan:
        """The last slot's routing as a plan (parts with the served share of each class) and its fleet."""
        n = self.fleet.count.copy()
        if self.slot_no == 0:
            return Plan(cls=[], facility=[], data=[], fraction=[], instances=n)
        parts = self.fleet.parts  # the last routed segment
        if not parts:
            return Plan(cls=[], facility=[], data=[], fraction=[], instances=n)
        r = np.concatenate([p[0] for p in parts])
        i = np.concatenate([p[1] for p in parts])
        got = np.concatenate([p[2] for p in parts])
        rates = self.rates[self.slot_no]
        frac = np.minimum(1.0, got / np.where(rates[r] > 0, rates[r], 1.0))
        keep = frac > 0
        r, i, frac = r[keep], i[keep], frac[keep]
        return Plan(cls=r, facility=i, data=self.tables.cm.dstar[r, i], fraction=frac, instances=n)

    def _cost_parts(self) -> dict[str, float]:
        return {k: v for k, v in self.totals.items() if k != "unserved_requests"}

    def _render_title(self) -> str:
        return f"{super()._render_title()}, slot {self.slot_no}/{self.n_slots}"


GeoServeV1Env = GeoServeCapacityEnv
"""The former name (``a2gym/GeoServe-v1``), kept for code that imports it."""
