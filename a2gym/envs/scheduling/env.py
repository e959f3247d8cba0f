"""``a2gym/Scheduling-v0``: serve the request classes one at a time, choosing (region, model, data, type)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from a2gym.costmodel import TOL, CostModel, Evaluation, instances_needed, instances_needed_one
from a2gym.envs.base import DEFAULT_SCENARIO, A2Env, A2VectorEnv, discrete_action, squash
from a2gym.envs.normalisers import normaliser
from a2gym.envs.reward import cached_on, greedy_plan
from a2gym.plan import Plan
from a2gym.scenario import Scenario

SLO_SCALE_MS = 1000.0  # observation of a latency SLO L: L / (L + 1000 ms)


class SchedulingTables:
    """Per-scenario arrays of the Scheduling env, taken from :class:`CostModel` (no new cost formula).

    Actions a = ((k·|M| + m)·|D| + d)·|H| + h.  order [R]: visiting order of the classes (rate descending,
    ties by index).  feasible [R, A].  act_facility [A], act_data [A].  busy [R, A] busy instances,
    bw [R, A] bandwidth cost [$/epoch].  price [I] π·T [$/epoch] (0 if not offered), deploy [I] g [$].
    feas_* [F]: the feasible (class, action) pairs, grouped by class and facility (see ``feas_ptr``), with
    their facility, busy, bw, price and deploy.
    """

    def __init__(self, scenario: Scenario):
        cm = CostModel.of(scenario)
        self.cm = cm
        R, K, M, D, H = cm.shape
        s = scenario
        self.n_classes, self.n_actions, self.n_facilities = R, K * M * D * H, cm.n_facilities
        self.order = np.argsort(-s.class_rate, kind="stable")
        self.feasible = cm.feasible.reshape(R, -1).view()
        self.feasible.flags.writeable = False  # the single env hands out its rows as the mask (read-only)
        k, m, d, h = np.unravel_index(np.arange(self.n_actions), (K, M, D, H))
        self.act_facility = (k * M + m) * H + h
        self.act_data = d
        self.busy = np.ascontiguousarray(np.broadcast_to(cm.busy[:, None], (R, K, M, D, H)).reshape(R, -1))
        self.bw = np.ascontiguousarray(np.broadcast_to(cm.bw_cost[:, :, None, :, None], (R, K, M, D, H))
                                       .reshape(R, -1))
        self.price = np.where(np.isfinite(cm.fac_price_epoch), cm.fac_price_epoch, 0.0)
        self.deploy = cm.deploy
        self.rho = s.target_utilisation
        self.price_a = self.price[self.act_facility]
        self.deploy_a = self.deploy[self.act_facility]
        # the feasible (class, action) pairs sorted by class, facility, action: class r's feasible actions
        # on facility i are entries feas_ptr[r, i] … feas_ptr[r, i+1]-1 of the feas_* arrays
        cls, act = np.nonzero(self.feasible)
        fac = self.act_facility[act]
        o = np.lexsort((act, fac, cls))
        cls, act, fac = cls[o], act[o], fac[o]
        self.feas_cls, self.feas_act, self.feas_fac = cls, act, fac
        self.feas_busy, self.feas_bw = self.busy[cls, act], self.bw[cls, act]
        self.feas_price, self.feas_deploy = self.price_a[act], self.deploy_a[act]
        starts = np.arange(R)[:, None] * self.n_facilities + np.arange(self.n_facilities + 1)[None, :]
        self.feas_ptr = np.searchsorted(cls * self.n_facilities + fac, starts)
        self.class_rows: dict[float, np.ndarray] = {}  # scale -> SchedulingBatch._class_rows
        # the single env's Python mirrors: visiting order, each class's feasible pairs feas_* [lo, hi)
        self.order_py = self.order.tolist()
        self.feas_lo, self.feas_hi = self.feas_ptr[:, 0].tolist(), self.feas_ptr[:, -1].tolist()
        self.act_facility_py, self.act_data_py = self.act_facility.tolist(), self.act_data.tolist()
        self.price_py, self.deploy_py = self.price.tolist(), self.deploy.tolist()
        onehot = np.eye(K, dtype=np.float32)[s.class_origin]
        self.class_obs = np.concatenate([
            onehot, s.class_accuracy_floor[:, None], squash(s.class_latency_slo_ms, SLO_SCALE_MS)[:, None],
            (s.class_rate / max(s.class_rate.sum(), 1e-300))[:, None]], axis=1).astype(np.float32)

    @classmethod
    def of(cls, scenario: Scenario) -> SchedulingTables:
        return cached_on(scenario, "scheduling_tables", lambda: cls(scenario))

    def action_of(self, facility: int, data: int) -> int:
        """Action index of (facility i, data version d)."""
        s = self.cm.scenario
        k, m, h = (int(v) for v in s.facility_parts(facility))
        return ((k * s.n_models + m) * s.n_data_versions + int(data)) * s.n_instance_types + h


def reference_assignment(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """A2-Greedy's (facility, data version) of every class (its plan must be integral)."""
    return greedy_plan(scenario).assignment(scenario.n_classes)


def scheduling_reference_cost(scenario: Scenario) -> float:
    """Cost [$/epoch] this env reaches with A2-Greedy's choice for every class (the reward normaliser)."""

    def compute() -> float:
        cm = CostModel.of(scenario)
        fac, data = reference_assignment(scenario)
        return cm.evaluate(cm.materialise(fac, data), check=False).total

    return normaliser(scenario, "scheduling_reference_cost", compute)  # solved once per scenario SHA-256


class SchedulingBatch:
    """State of N Scheduling episodes on one scenario (numpy over the batch; the single env is N = 1)."""

    def __init__(self, tables: SchedulingTables, n: int, check: bool = True):
        self.t = tables
        self.n = n
        self.check = check  # list violations at the end (the cost is the same either way)
        R, n_fac = tables.n_classes, tables.n_facilities
        self.step_no = np.zeros(n, dtype=np.int64)
        self.load = np.zeros((n, n_fac))                    # busy instances per facility
        self.inst = np.zeros((n, n_fac), dtype=np.int64)    # instances per facility
        self.facility = np.full((n, R), -1, dtype=np.int64)
        self.data = np.full((n, R), -1, dtype=np.int64)
        self.costs = np.zeros((n, 4))  # total, compute, bandwidth, deployment [$/epoch]
        self.done = np.zeros(n, dtype=bool)
        self._all = np.arange(n)
        # the observed open flags and spare capacities [N, 2I] (float32, as observed) and the open flags,
        # kept by assign for the one facility per episode whose load changes
        self.open_spare = np.zeros((n, 2 * n_fac), dtype=np.float32)
        self.is_open = np.zeros((n, n_fac), dtype=bool)
        if n == 1:  # the single env: Python mirrors of episode 0 for assign_one / observe_one
            self._open_spare, self._is_open = self.open_spare[0], self.is_open[0]
            self._rows_scale: float | None = None
        self.reset(self._all)

    def reset(self, b: np.ndarray) -> None:
        self.step_no[b] = 0
        self.load[b] = 0.0
        self.inst[b] = 0
        self.facility[b] = -1
        self.data[b] = -1
        self.costs[b] = 0.0
        self.done[b] = False
        self.open_spare[b] = 0.0
        self.is_open[b] = False
        if self.n == 1:
            n_fac = self.t.n_facilities
            self._step = 0
            self._load = [0.0] * n_fac
            self._inst = [0] * n_fac
            self.py_costs = (0.0, 0.0, 0.0, 0.0)   # = costs[0] as Python floats

    def current(self) -> np.ndarray:
        """Index of each episode's current class (the last one once done)."""
        return self.t.order[np.minimum(self.step_no, self.t.n_classes - 1)]

    masks_are_fresh = True  # masks() returns a new array (no copy needed)

    def masks(self) -> np.ndarray:
        return self.t.feasible[self.current()]

    def allowed(self, b: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``masks()[b, a]`` without building the whole mask."""
        return self.t.feasible[self.current()[b], a]

    def assign(self, b: np.ndarray, a: np.ndarray) -> None:
        """Serve episode b[j]'s current class with action a[j]: rent instances as load grows, pay
        bandwidth."""
        t = self.t
        r = t.order[self.step_no[b]]
        i = t.act_facility[a]
        self.load[b, i] += t.busy[r, a]
        old = self.inst[b, i]
        new = np.maximum(1, instances_needed(self.load[b, i], t.rho))
        c = self.costs
        c[b, 1] += (new - old) * t.price[i]
        c[b, 2] += t.bw[r, a]
        c[b, 3] += np.where(old == 0, t.deploy[i], 0.0)
        c[b, 0] = c[b, 1] + c[b, 2] + c[b, 3]
        self.inst[b, i] = new
        self.facility[b, r] = i
        self.data[b, r] = t.act_data[a]
        self.step_no[b] += 1
        cap = t.rho * new                # observe's spare capacity of the facility that changed
        self.is_open[b, i] = True
        self.open_spare[b, i] = 1.0
        self.open_spare[b, t.n_facilities + i] = np.clip((cap - self.load[b, i]) / cap, 0.0, 1.0)

    def assign_one(self, a: int) -> None:
        """``assign(0, a)`` for the single episode of a batch of one, in Python scalars: the same IEEE
        operations on the same numbers (``instances_needed_one`` is ``instances_needed`` of one float,
        (new - old)·price is int × float either way), so the same bits.  Also updates the observed open
        flag and spare capacity of the one facility whose load changes (``observe_one``)."""
        t = self.t
        r = t.order_py[self._step]
        i = t.act_facility_py[a]
        x = self._load[i] + t.busy.item(r, a)
        old = self._inst[i]
        new = max(1, instances_needed_one(x, t.rho))
        _, compute, bandwidth, deployment = self.py_costs
        compute += (new - old) * t.price_py[i]
        bandwidth += t.bw.item(r, a)
        deployment += t.deploy_py[i] if old == 0 else 0.0
        self.py_costs = costs = (compute + bandwidth + deployment, compute, bandwidth, deployment)
        self._load[i] = x
        self._inst[i] = new
        self._step += 1
        self.costs[0] = costs
        self.load[0, i] = x
        self.inst[0, i] = new
        self.facility[0, r] = i
        self.data[0, r] = t.act_data_py[a]
        self.step_no[0] = self._step
        cap = t.rho * new                          # observe(): cap = ρ·n, spare = clip((cap - x)/cap, 0, 1)
        self._is_open[i] = True
        self._open_spare[i] = 1.0
        self._open_spare[t.n_facilities + i] = min(max((cap - x) / cap, 0.0), 1.0)

    def observe_one(self, ref: float) -> np.ndarray:
        """``observe(ref)[0]`` of a batch of one (the same numbers, a fresh array), with the open flags and
        spare capacities kept by ``assign_one`` and one pass over the current class's feasible pairs on
        open facilities (``marginal_open``'s operations, inlined: the single env's step pays per numpy
        call, not per element)."""
        t = self.t
        R, n_fac = t.n_classes, t.n_facilities
        col = t.class_obs.shape[1] + 1
        step = self._step
        r = t.order_py[step if step < R else R - 1]
        scale = ref / R
        if self._rows_scale != scale:
            self._rows, self._rows_scale = self._class_rows(scale), scale
        out = self._rows[r].copy()
        out[col - 1] = step / R
        out[col:col + 2 * n_fac] = self._open_spare
        lo = t.feas_lo[r]
        pos = self._is_open.take(t.feas_fac[lo:t.feas_hi[r]]).nonzero()[0]
        if pos.size:
            pos += lo
            fac = t.feas_fac.take(pos)
            x = self.load[0].take(fac)
            x += t.feas_busy.take(pos)
            x /= t.rho
            m = np.maximum(x, 1.0)
            m *= TOL
            x -= m
            np.ceil(x, out=x)
            np.maximum(x, 1.0, out=x)
            x -= self.inst[0].take(fac)
            x *= t.feas_price.take(pos)
            x += t.feas_bw.take(pos)
            m = x + scale
            x /= m
            out[(col + 2 * n_fac) + t.feas_act.take(pos)] = x
        return out

    def finish(self, e: int) -> Evaluation:
        """Last class served: the true cost by ``CostModel.evaluate`` of the materialised plan."""
        cm = self.t.cm
        # = plan(e): every class is served
        ev = cm.evaluate(cm.materialise(self.facility[e], self.data[e]), check=self.check)
        self.costs[e] = (ev.total, ev.compute, ev.bandwidth, ev.deployment)
        self.done[e] = True
        if self.n == 1:
            self.py_costs = tuple(self.costs[0].tolist())
        return ev

    def finish_batch(self, es: np.ndarray) -> None:
        """Last class served in episodes ``es``, without violations: :meth:`finish`'s costs for all of them
        at once (``CostModel.assignment_costs``, the batched ``evaluate(materialise(·))``)."""
        self.costs[es] = self.t.cm.assignment_costs(self.facility[es], self.data[es])
        self.done[es] = True

    def plan(self, e: int) -> Plan:
        cm = self.t.cm
        served = np.flatnonzero(self.facility[e] >= 0)
        fac, data = self.facility[e, served], self.data[e, served]
        sub = cm.materialise(fac, data, rates=cm.scenario.class_rate[served])
        return Plan(cls=served, facility=fac, data=data, fraction=np.ones(served.size),
                    instances=sub.instances)

    def marginal(self, pos: np.ndarray, load: np.ndarray, inst: np.ndarray, deploy: np.ndarray | None,
                 scale: float) -> np.ndarray:
        """Observed marginal cost Δ/(Δ + scale) of the feasible pairs ``feas_*[pos]`` at a facility with
        ``load`` busy instances and ``inst`` instances: rent up to max(1, ⌈(x + busy)/ρ⌉) instances, pay
        ``deploy`` [$] if the facility is closed, and the class's bandwidth (the arithmetic of ``assign``).

        ``deploy=None`` for open facilities: the rental term is then ≥ +0.0 (the load only grows, so
        ``need ≥ inst``), and adding 0.0 to it would change no bit, so the addition is skipped.
        """
        t = self.t
        need = np.maximum(1, instances_needed(load + t.feas_busy[pos], t.rho))
        delta = (need - inst) * t.feas_price[pos]
        if deploy is not None:
            delta += deploy
        delta += t.feas_bw[pos]
        return squash(delta, scale)

    def marginal_open(self, pos: np.ndarray, load: np.ndarray, inst: np.ndarray, scale: float) -> np.ndarray:
        """``marginal(pos, load, inst, None, scale)`` with fewer passes, the same bits: the instance counts
        stay integral floats (max(1, ⌈·⌉) − inst is an exact small integer either way, so the product with
        the price is the same), and the temporaries are updated in place."""
        t = self.t
        x = load + t.feas_busy.take(pos)
        x /= t.rho                                   # need = busy / ρ
        m = np.maximum(x, 1.0)
        m *= TOL
        x -= m
        np.ceil(x, out=x)                            # ⌈need − TOL·max(1, need)⌉
        np.maximum(x, 1.0, out=x)
        x -= inst
        x *= t.feas_price.take(pos)
        x += t.feas_bw.take(pos)
        m = x + scale
        x /= m                                       # squash(delta, scale)
        return x

    def _class_rows(self, scale: float) -> np.ndarray:
        """[R, K+4+2I+A] float32: each class's observation row with every facility closed: the class
        columns, zeros, and the marginal cost of every action at a closed facility (no load, no
        instances; 1.0 where masked).  Computed once per scale (cached on the tables)."""
        t = self.t
        rows = t.class_rows.get(scale)
        if rows is None:
            n_cls = t.class_obs.shape[1]
            rows = np.zeros((t.n_classes, n_cls + 1 + 2 * t.n_facilities + t.n_actions), dtype=np.float32)
            rows[:, :n_cls] = t.class_obs
            marginal = rows[:, n_cls + 1 + 2 * t.n_facilities:]
            marginal[:] = 1.0
            pos = np.arange(t.feas_act.size)
            zero_load, zero_inst = np.zeros(pos.size), np.zeros(pos.size, np.int64)
            closed = self.marginal(pos, zero_load, zero_inst, t.feas_deploy, scale)
            marginal[t.feas_cls, t.feas_act] = closed
            t.class_rows[scale] = rows
        return rows

    def observe(self, ref: float) -> np.ndarray:
        """[N, K+4+2I+A] observations (a fresh float32 array).

        A closed facility has no load, so its actions observe the class's precomputed closed-facility
        marginal cost (``_class_rows``); only the feasible actions on open facilities are computed, for
        all episodes at once.
        """
        t = self.t
        R, n_fac = t.n_classes, t.n_facilities
        col = t.class_obs.shape[1] + 1      # first facility column
        r = self.current()
        scale = ref / R
        out = self._class_rows(scale)[r]    # a fresh copy
        is_open = self.is_open
        # open flags and spare capacities (ρ·n - x)/(ρ·n) clipped to [0, 1], 0 for a closed facility
        out[:, col - 1] = self.step_no / R
        out[:, col:col + 2 * n_fac] = self.open_spare
        flat = out.reshape(-1)
        classes = r[:1] if (r == r[0]).all() else np.unique(r)  # the copies run in lockstep: usually one
        for cls in classes:
            envs = self._all if len(classes) == 1 else np.flatnonzero(r == cls)
            lo, hi = t.feas_ptr[cls, 0], t.feas_ptr[cls, -1]                   # class cls's feasible pairs
            hit = is_open.take(t.feas_fac[lo:hi], axis=1)                      # ... on open facilities
            q = np.flatnonzero(hit if len(classes) == 1 else hit[envs])        # row-major, as nonzero()
            if q.size:
                k = q // (hi - lo)
                env, pos = envs[k], q - k * (hi - lo) + lo
                at = env * n_fac + t.feas_fac.take(pos)
                value = self.marginal_open(pos, self.load.take(at), self.inst.take(at), scale)
                flat[env * out.shape[1] + (col + 2 * n_fac) + t.feas_act.take(pos)] = value
        return out


class SchedulingEnv(A2Env):
    """Serve the request classes one at a time: choose the (region, model, data version, instance type).

    ## Description

    The classes are visited in a fixed order: rate λ_r descending (ties: lower class index).  For the
    current class the agent picks where it is served (region k, model m, instance type h: facility
    i = (k·|M| + m)·|H| + h) and in which data version d it is sent.  The env rents instances as load
    accumulates, n_i = max(1, ⌈x_i/ρ⌉) with x_i the busy instances sent to i so far, pays the class's
    bandwidth, and the model's deployment g when a facility is first used.  After the last class the
    cost is ``CostModel.evaluate`` of the materialised plan [$ per epoch].

    ## Action Space

    ``Discrete(|K|·|M|·|D|·|H|)``, a = ((k·|M| + m)·|D| + d)·|H| + h.  Masked off: (k, m, d, h) that miss
    the current class's latency SLO or accuracy floor, or whose instance type k does not offer.  Every
    action in the space is a legal input: with the default ``invalid_action="noop"`` a masked action
    serves nothing and pays ``-invalid_penalty`` (0.1), and the ``max_invalid_actions``-th (16) in a row
    ends the episode as a failure (reward ``-invalid_failure_penalty``, 10); ``invalid_action="raise"``
    raises ``a2gym.ActionError`` naming the action and why (:mod:`a2gym.envs.invalid`).  An action outside
    the space always raises.

    ## Observation Space

    ``Box(0, 1, (|K| + 4 + 2|I| + |A|,), float32)``:

    | index              | meaning                                                               | min | max |
    |--------------------|-----------------------------------------------------------------------|-----|-----|
    | 0 … K-1            | current class's origin region (one-hot)                               | 0   | 1   |
    | K                  | its accuracy floor α (top-1 fraction)                                 | 0   | 1   |
    | K+1                | its latency SLO L / (L + 1000 ms)                                     | 0   | 1   |
    | K+2                | its share of the total rate λ_r / Σλ                                  | 0   | 1   |
    | K+3                | classes served so far / |R|                                           | 0   | 1   |
    | K+4 … K+3+I        | facility i has instances (0/1)                                        | 0   | 1   |
    | K+4+I … K+3+2I     | spare capacity of i: (ρ·n_i − x_i) / (ρ·n_i) (0 if closed)            | 0   | 1   |
    | K+4+2I … K+3+2I+A  | marginal cost Δ of action a now: Δ / (Δ + ref/|R|); 1 if masked       | 0   | 1   |

    With ``observation="sets"`` (:mod:`a2gym.envs.sets`) the observation is the padded ``Dict`` of
    Placement-v0's ``observation="sets"`` (see its table; ``classes`` column 1 marks the current class, the
    plain observation's class, served-fraction, open and spare columns are copied) plus

    | key            | shape    | meaning                                                       | min | max |
    |------------------|------------|-----------------------------------------------------------------|-----|-----|
    | action_cost    | [Î, 16]  | the plain marginal cost of serving the current class at (i, d); | 0  | 1  |
    |                |            | 1.0 where masked or padding                                   |     |   |

    and the action is a pointer into that layout: ``Discrete(Î · 16)``, a = i · 16 + d (facility i,
    data version d); padding actions are always masked (an ActionError).
    With ``action_mask_in_obs=True`` the observation is ``Dict({"observations": <the Box above>,
    "action_mask": Box(0, 1, (|A|,), float32)})``, the mask equal to ``action_masks()``.

    ``info``: ``cost`` (dollars so far), ``compute``, ``bandwidth``, ``deployment`` [$/epoch],
    ``reference_cost``, ``class`` (index of the class the next action serves), ``unserved`` (classes not
    served yet), ``action_mask``, ``invalid_action``, ``invalid_actions`` (as in Placement-v0),
    ``violations`` (at the end; on a failure, the classes left unserved) and ``failed`` (on a failure).

    ## Rewards

    r_t = -(c_t - c_{t-1}) / ref with c_t the cost of the classes served so far (instances rented,
    bandwidth, deployment) and, after the last class, the true evaluated cost; ref =
    :func:`scheduling_reference_cost`.  Return = -final_cost / ref (-1.0 for the reference).

    ## Starting State

    No class served, nothing rented; the first class is the one with the highest rate.  Deterministic.

    ## Episode End

    Terminated after |R| valid steps (every class served), or as a failure after ``max_invalid_actions``
    masked actions in a row.  ``max_episode_steps`` is a safety cap (1,000,000; reset refuses a scenario
    that could need more steps).  ``step`` before ``reset`` or after the end raises
    ``a2gym.ResetNeededError``.

    ## Arguments

    * ``scenario``: URI, path or Scenario (default ``scenario://paper-default-v0``).
    * ``resample``: with a ``generator://`` URI, a fresh generated scenario (same K, M, D, H) per reset;
      the observation describes the current class, so |R| may vary.
    * ``max_classes``: largest |R| a resampled scenario may have (default: the first scenario's).
    * ``reward``: ``"normalised"`` (default), ``"dollars"`` or a callable (cost_before, cost_after, ref).
    * ``render_mode``: ``"rgb_array"`` or ``"ansi"``.
    * ``observation``: ``"plain"`` (default) or ``"sets"`` (padded sets and pointer action above; a
      ``make`` kwarg, the env is then :class:`a2gym.envs.sets_envs.SchedulingSetsEnv`).
    * ``invalid_action``, ``invalid_penalty``, ``invalid_failure_penalty``, ``max_invalid_actions``,
      ``action_mask_in_obs``: as in Placement-v0 (``env.unwrapped.make_kwargs()`` lists them all).

    >>> import gymnasium, a2gym
    >>> env = gymnasium.make("a2gym/Scheduling-v0", scenario="generator://synth-v0/1?classes=8&regions=3")
    >>> obs, info = env.reset(seed=0)
    >>> int(env.action_space.n) == 3 * 6 * 12 * 2
    True

    ## Vectorized environment

    :class:`SchedulingVectorEnv` steps N copies with numpy (``vectorization_mode="vector_entry_point"``),
    same numbers as N single envs, NEXT_STEP autoreset, the same kwargs and ``info`` keys (but ``class``).

    ## Reference

    A2-Greedy's integral plan (``split=False``) as actions: each class gets the (k, m, d, h) the greedy
    plan serves it with (:meth:`target_action`, the adaptor the heuristic baselines use too).  It costs
    $2.985 on paper-default-v0 where ``a2gym solve`` reports $2.965: ``solve`` ends with a split polish
    that may divide a class between facilities, which no env action can express.

    ## Version History

    * v0: initial version.
    * v0 (unreleased): ``observation="sets"`` make kwarg (size-agnostic padded observation, pointer action);
      the default observation, dollars and rewards are unchanged.
    * v0, unchanged id (no valid action behaves differently, every committed record replays): every action
      in the space is legal (``invalid_action``, default ``"noop"``); ``action_mask_in_obs``;
      ``info["unserved"]``, ``["invalid_action"]``, ``["invalid_actions"]``, ``["failed"]``; the vector
      env's infos gain ``unserved`` and ``violations``; ``step`` before ``reset`` raises
      ``ResetNeededError``.
    """

    def __init__(self, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 **invalid_and_obs: Any):
        super().__init__(scenario, resample, max_classes, reward, render_mode, **invalid_and_obs)
        K, M, D, H = self.source.sizes
        n_fac, n_act = K * M * H, K * M * D * H
        self.action_space = spaces.Discrete(n_act)
        self._finish_spaces(spaces.Box(0.0, 1.0, (K + 4 + 2 * n_fac + n_act,), dtype=np.float32), n_act)
        self._setup(self.scenario)
        self._row_mask = self.tables.feasible[self.tables.order_py[0]]

    def _setup(self, scenario: Scenario) -> None:
        self.scenario = scenario
        tables = SchedulingTables.of(scenario)
        if getattr(self, "tables", None) is tables:  # same scenario: reuse the state arrays
            self.batch.reset(_ZERO)
        else:
            self.tables = tables
            self.reference_cost = scheduling_reference_cost(scenario)
            self.batch = SchedulingBatch(tables, 1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._setup(self._choose_scenario(options))
        self._check_steps(self.scenario.n_classes * self.invalid_rule.max_run)
        self._begin_episode()
        self._row_mask = self.tables.feasible[self.tables.order_py[0]]  # a read-only row
        return self._observation(), self._info()

    def step(self, action: Any):
        t = self.tables
        n_act = t.n_actions
        a = action if type(action) is int and 0 <= action < n_act else discrete_action(action, n_act)
        if self._needs_reset is not None:
            raise self._reset_needed()
        if not self._row_mask[a]:
            return self._masked_step(lambda: self._why_masked(a))
        self.invalid.run = 0
        batch = self.batch
        before = batch.py_costs[0]
        batch.assign_one(a)
        step, R = batch._step, t.n_classes
        done = step == R
        if done:
            self._last_eval = batch.finish(0)
            self._needs_reset = "the episode has ended (every class served)"
        costs = batch.py_costs
        r = t.order_py[step if step < R else R - 1]
        self._row_mask = t.feasible[r]
        reward = float(self.reward_fn(before, costs[0], self.reference_cost))
        info = {"cost": costs[0], "compute": costs[1], "bandwidth": costs[2], "deployment": costs[3],
                "reference_cost": self.reference_cost, "class": r, "unserved": R - step,
                "action_mask": self._row_mask.copy(), "invalid_action": False,
                "invalid_actions": self.invalid.total}
        if done:
            info["violations"] = [str(v) for v in self._last_eval.violations]
        return self._observation(), reward, done, False, info

    def _why_masked(self, a: int) -> str:
        s, t = self.scenario, self.tables
        r = int(self.batch.current()[0])
        i, d = int(t.act_facility[a]), int(t.act_data[a])
        what = f"action {a} ({s.facility_name(i)} with {s.data_versions[d]}) for class {s.classes[r]}"
        k, m, h = (int(v) for v in s.facility_parts(i))
        cm = t.cm
        if not cm.offered[k, h]:
            why = "the instance type is not offered in that region"
        elif not cm.acc_ok[r, m, d]:
            why = f"accuracy {s.accuracy[m, d]:.4f} < floor {s.class_accuracy_floor[r]:g}"
        else:
            lat = float(cm.latency_ms(r, k, m, d, h))
            why = f"latency {lat:.1f} ms > SLO {s.class_latency_slo_ms[r]:g} ms"
        return f"{what} is masked off: {why}"

    def _mask(self) -> np.ndarray:
        return self._row_mask

    def _obs(self) -> np.ndarray:
        return self.batch.observe_one(self.reference_cost)

    def _info(self) -> dict[str, Any]:
        unserved = self.tables.n_classes - int(self.batch.step_no[0])
        return self._cost_info(**{"class": int(self.batch.current()[0])}, unserved=unserved,
                               action_mask=self._row_mask.copy(), **self._invalid_info(False))

    def _unserved_classes(self) -> np.ndarray:
        return self.tables.order[int(self.batch.step_no[0]):]

    def plan(self) -> Plan:
        """The plan of the classes served so far (Lemma A instance counts)."""
        return self.batch.plan(0)

    def target_action(self, target: Plan | np.ndarray, data: np.ndarray | None = None) -> int:
        """The action toward a target: serve the current class at its target facility ``target[r]`` in data
        version ``data[r]`` (default d*(r, i)); a Plan gives both (:meth:`Plan.assignment`, integral)."""
        if isinstance(target, Plan):
            target, data = target.assignment(self.scenario.n_classes)
        r = int(self.batch.current()[0])
        i = int(target[r])
        d = int(data[r]) if data is not None else int(self.tables.cm.dstar[r, i])
        return self.tables.action_of(i, d)


_ZERO = np.zeros(1, dtype=np.int64)


class SchedulingVectorEnv(A2VectorEnv):
    """N copies of :class:`SchedulingEnv` on one scenario, stepped with numpy (see its docstring).

    All copies visit the classes in the same order, so a step serves class ``order[t]`` in each copy.
    Rewards, observations, infos and autoresets equal those of N single envs.
    """

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 max_episode_steps: int | None = None, **invalid_and_obs: Any):
        super().__init__(num_envs, scenario, resample, max_classes, reward, render_mode, max_episode_steps,
                         **invalid_and_obs)
        K, M, D, H = self.source.sizes
        n_fac, n_act = K * M * H, K * M * D * H
        self.single_action_space = spaces.Discrete(n_act)
        self.single_observation_space = spaces.Box(0.0, 1.0, (K + 4 + 2 * n_fac + n_act,), dtype=np.float32)
        self._finish_init()

    def _setup(self, scenario: Scenario) -> None:
        self.tables = SchedulingTables.of(scenario)
        self.reference_cost = scheduling_reference_cost(scenario)
        self.batch = SchedulingBatch(self.tables, self.num_envs, check=False)

    def _apply(self, b: np.ndarray, a: np.ndarray) -> None:
        self.batch.assign(b, a)
        ended = b[self.batch.step_no[b] == self.tables.n_classes]
        if ended.size:
            self.batch.finish_batch(ended)

    def _unserved(self) -> np.ndarray:
        return self.tables.n_classes - self.batch.step_no

    def _unserved_classes(self, e: int) -> np.ndarray:
        return self.tables.order[int(self.batch.step_no[e]):]
