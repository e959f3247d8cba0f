"""``a2gym/Placement-v0``: build one epoch's serving plan by opening facilities one at a time."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from a2gym.costmodel import CostModel, Evaluation, instances_needed, instances_needed_one
from a2gym.envs.base import DEFAULT_SCENARIO, A2Env, A2VectorEnv, discrete_action, facility_ranks, squash
from a2gym.envs.normalisers import normaliser
from a2gym.envs.reward import cached_on, greedy_plan
from a2gym.plan import Plan
from a2gym.scenario import Scenario


class PlacementLists(NamedTuple):
    """:class:`PlacementTables` as Python lists (ints/floats), for the single env's per-step loop."""

    fac_cls: list[list[tuple[int, int, float, float]]]
    """fac_cls[i]: (class r, its rank of i, busy instances, bandwidth cost [$/epoch]) of the classes
    feasible at facility i, in class order."""
    order: list[list[int]]
    """order[r]: the facilities in class r's cheapest-first order."""
    n_feasible: list[int]
    """n_feasible[r]: how many facilities can serve class r."""
    busy: list[list[float]]
    """busy[r][i]: busy instances of class r at facility i (d*); column |I| = unserved (0)."""
    price: list[float]
    """price[i]: π·T [$/epoch] (0 where not offered)."""
    deploy: list[float]
    """deploy[i]: g [$]."""


class PlacementTables:
    """Per-scenario arrays of the Placement env, all taken from :class:`CostModel` (no new cost formula).

    rank [R, I]: facility rank in each class's cheapest-first order (|I| = infeasible, ``facility_ranks``);
    order_flat [R·I]: the facilities of each class in that order (row-major), n_feasible [R]: how many are
    feasible, so the facilities of rank new … stop-1 of class r are ``order_flat[r·I + new : r·I + stop]``.
    bw_flat, busy_flat [R·(I+1)]: bandwidth cost [$/epoch] and busy instances at d* of (r, i), flattened;
    column |I| of each row = unserved (0).
    price [I]: π·T [$/epoch] (0 where not offered).  deploy [I]: g [$].
    """

    def __init__(self, scenario: Scenario):
        cm = CostModel.of(scenario)
        self.cm = cm
        R, n_fac = cm.C.shape
        self.n_classes, self.n_facilities = R, n_fac
        self.rank = facility_ranks(cm)
        self.rank_t = np.ascontiguousarray(self.rank.T)
        self.order_flat = np.argsort(cm.C, axis=1, kind="stable").ravel()
        self.n_feasible = cm.fac_feasible.sum(axis=1)
        pad = np.zeros((R, 1))
        bw = np.hstack([np.where(cm.fac_feasible, cm.bw_star, 0.0), pad])
        busy = np.hstack([np.where(cm.fac_feasible, cm.busy_star, 0.0), pad])
        self.bw_flat, self.busy_flat = bw.ravel(), busy.ravel()
        self.price = np.where(np.isfinite(cm.fac_price_epoch), cm.fac_price_epoch, 0.0)
        self.deploy = cm.deploy
        self.rho = scenario.target_utilisation
        self.busy_positive = bool(np.all(cm.busy_star[cm.fac_feasible] > 0))
        self.attract0 = (self.rank < n_fac).sum(axis=0)
        finite = np.isfinite(cm.F)
        fmax = cm.F[finite].max() if finite.any() else 1.0
        self.open_cost_obs = np.where(finite, cm.F / fmax, 1.0).astype(np.float32)
        self._py: PlacementLists | None = None

    def py(self) -> PlacementLists:
        """The same numbers as Python lists for the single-episode path (``PlacementBatch.open_one``)."""
        if self._py is None:
            n_fac = self.n_facilities
            busy = self.busy_flat.reshape(self.n_classes, n_fac + 1).tolist()
            bw = self.bw_flat.reshape(self.n_classes, n_fac + 1).tolist()
            rank = self.rank.tolist()
            fac_cls = [[(r, rank[r][i], busy[r][i], bw[r][i]) for r in range(self.n_classes)
                        if rank[r][i] < n_fac] for i in range(n_fac)]
            order = self.order_flat.reshape(self.n_classes, n_fac).tolist()
            self._py = PlacementLists(fac_cls, order, self.n_feasible.tolist(), busy, self.price.tolist(),
                                      self.deploy.tolist())
        return self._py

    @classmethod
    def of(cls, scenario: Scenario) -> PlacementTables:
        return cached_on(scenario, "placement_tables", lambda: cls(scenario))

    def route(self, is_open: np.ndarray) -> np.ndarray:
        """Each class's cheapest open facility (by C, ties to the lower index); |I| if none is feasible."""
        masked = np.where(is_open[None, :], self.rank, self.n_facilities)
        j = masked.argmin(axis=1)
        return np.where(masked[np.arange(self.n_classes), j] < self.n_facilities, j, self.n_facilities)


def placement_reference_cost(scenario: Scenario) -> float:
    """Cost [$/epoch] this env reaches when A2-Greedy's open facilities are opened (the reward normaliser)."""

    def compute() -> float:
        t = PlacementTables.of(scenario)
        is_open = np.zeros(t.n_facilities, dtype=bool)
        is_open[greedy_plan(scenario).open_facilities] = True
        return t.cm.evaluate(t.cm.materialise(t.route(is_open)), check=False).total

    return normaliser(scenario, "placement_reference_cost", compute)  # solved once per scenario SHA-256


class PlacementBatch:
    """State of N Placement episodes on one scenario, stepped together (numpy over the batch).

    Opening a facility updates the state incrementally: only the classes that move to it are rerouted,
    and each class keeps the busy instances and bandwidth cost of its current facility (``busy_cls``,
    ``bw_cls``, copies of ``CostModel`` values), so recosting is one ``bincount`` of the load per facility
    plus Lemma A's instance counts.  The sums run over the same arrays in the same order as a recost
    from scratch, so the dollars are the same bits.  The single env is a batch of one (``open_one``
    is ``open_facilities`` for one episode), so the single and the vector env compute identical numbers.
    """

    def __init__(self, tables: PlacementTables, n: int, check: bool = True):
        self.t = tables
        self.n = n
        self.check = check  # list violations at STOP (the cost is the same either way)
        R, n_fac = tables.n_classes, tables.n_facilities
        self.open = np.zeros((n, n_fac), dtype=bool)
        self.best = np.full((n, R), n_fac, dtype=np.int64)      # rank of each class's current facility
        self.assign = np.full((n, R), n_fac, dtype=np.int64)    # its facility (|I| = unserved)
        self.busy_cls = np.zeros((n, R))                        # its busy instances at d* (0 if unserved)
        self.bw_cls = np.zeros((n, R))                          # its bandwidth cost at d* [$/epoch]
        self.attract = np.zeros((n, n_fac), dtype=np.int64)     # classes that would move to i if it opened
        self.unserved = np.zeros(n, dtype=np.int64)
        self.costs = np.zeros((n, 4))  # total, compute, bandwidth, deployment [$/epoch]
        self.done = np.zeros(n, dtype=bool)
        # n_i·price_i and used_i·deploy_i of every facility (the elementwise terms of lemma_a_costs),
        # kept up to date by open_facilities for the facilities whose classes change
        self.fac_compute = np.zeros((n, n_fac))
        self.fac_deploy = np.zeros((n, n_fac))
        self._mask = np.zeros((n, n_fac + 1), dtype=bool)
        self._obs = np.zeros((n, 3 * n_fac + 2), dtype=np.float32)
        self._obs[:, n_fac:2 * n_fac] = tables.open_cost_obs
        self._key_offset = (np.arange(n) * (n_fac + 1))[:, None]
        if n == 1:  # the single env: Python mirrors of episode 0 for open_one
            self._fac_cost = np.zeros((2, n_fac))  # n_i·price_i and used_i·deploy_i of every facility
        self.reset(np.arange(n))

    def reset(self, b: np.ndarray) -> None:
        t = self.t
        self.open[b] = False
        self._obs[b, :t.n_facilities] = 0.0
        self.best[b] = t.n_facilities
        self.assign[b] = t.n_facilities
        self.busy_cls[b] = 0.0
        self.bw_cls[b] = 0.0
        self.attract[b] = t.attract0
        self.unserved[b] = t.n_classes
        self.costs[b] = 0.0
        self.done[b] = False
        self.fac_compute[b] = 0.0
        self.fac_deploy[b] = 0.0
        self._update_masks()
        if self.n == 1:
            self._best = [t.n_facilities] * t.n_classes       # rank of each class's facility
            self._fac_of = [t.n_facilities] * t.n_classes     # its facility
            self._members: dict[int, list[int]] = {}          # open facility -> its classes (class order)
            self._unserved = t.n_classes
            self._fac_cost.fill(0.0)
            self.py_costs = (0.0, 0.0, 0.0, 0.0)               # = costs[0] as Python floats

    def masks(self) -> np.ndarray:
        """[N, I+1]: open facility i (useful and not open), STOP (every class served). Read-only view."""
        return self._mask

    def _update_masks(self) -> None:
        n_fac = self.t.n_facilities
        np.greater(self.attract, 0, out=self._mask[:, :n_fac])
        np.equal(self.unserved, 0, out=self._mask[:, n_fac])

    def open_facilities(self, b: np.ndarray, i: np.ndarray) -> None:
        """Open facility i[j] in episode b[j] (valid, unmasked actions; b ascending); reroute and recost.

        A class r moving from rank ``old`` to rank ``new`` no longer attracts to the facilities of rank
        new … old-1 (a slice of its cheapest-first order), so ``attract`` drops by one bincount over
        those (episode, facility) pairs: work in proportion to what changes, no loop over episodes.
        The costs are recomputed only for the facilities whose classes change (:meth:`_recost_moved`).
        """
        t = self.t
        n_fac = t.n_facilities
        rk = t.rank_t[i]                                   # [nb, R]
        pj, pr = np.nonzero(rk < self.best[b])             # the (episode, class) pairs that move
        env, fac = b[pj], i[pj]
        new, old = rk[pj, pr], self.best[env, pr]
        length = np.minimum(old, t.n_feasible[pr]) - new   # ranks new … stop-1 (stop ≤ #feasible)
        end = np.cumsum(length)
        pos = np.repeat(pr * n_fac + new - (end - length), length) + np.arange(end[-1] if end.size else 0)
        key = np.repeat(env * n_fac, length) + t.order_flat[pos]
        self.attract -= np.bincount(key, minlength=self.n * n_fac).reshape(self.n, n_fac)
        self.unserved -= np.bincount(env[old == n_fac], minlength=self.n)
        left = self.assign[env, pr]                        # the facility each moving class leaves
        self.best[env, pr] = new
        self.assign[env, pr] = fac
        cell = pr * (n_fac + 1) + fac
        self.busy_cls[env, pr] = t.busy_flat[cell]
        self.bw_cls[env, pr] = t.bw_flat[cell]
        self.open[b, i] = True
        self._obs[b, i] = 1.0
        self._recost_moved(b, i, pj, left)
        self._update_masks()

    def _recost_moved(self, b: np.ndarray, i: np.ndarray, pj: np.ndarray, left: np.ndarray) -> None:
        """Costs of episodes b after ``open_facilities``: the same numbers as :meth:`recost`, with Lemma A's
        instance counts recomputed only for the facilities whose classes changed.

        The loads are ``lemma_a_costs``'s one ``bincount`` (each facility's busy instances summed in class
        order), but n_i·price_i and used_i·deploy_i are kept per facility (``fac_compute``,
        ``fac_deploy``) and redone only for the opened facility i[j] and the facilities its classes left
        (``left``); every other facility keeps its classes and so its numbers.  The totals are the same
        ``np.add.reduce`` over the same per-facility and per-class arrays, so the dollars are the same bits.
        """
        t = self.t
        n_fac, width = t.n_facilities, t.n_facilities + 1
        nb = len(b)
        key = (self.assign[b] + self._key_offset[:nb]).ravel()
        x = np.bincount(key, self.busy_cls[b].ravel(), nb * width)
        gone = left < n_fac                                # classes that left an open facility
        rows = np.concatenate([np.arange(nb), pj[gone]])
        facs = np.concatenate([i, left[gone]])
        cell = rows * width + facs
        xs = x[cell]
        used = (xs > 0) if t.busy_positive else (np.bincount(key, None, nb * width)[cell] > 0)
        n = np.maximum(instances_needed(xs, t.rho), used)
        e = b[rows]
        self.fac_compute[e, facs] = n * t.price[facs]
        self.fac_deploy[e, facs] = used * t.deploy[facs]
        c = self.costs
        compute = np.add.reduce(self.fac_compute[b], 1)
        bandwidth = np.add.reduce(self.bw_cls[b], 1)
        deployment = np.add.reduce(self.fac_deploy[b], 1)
        c[b, 1], c[b, 2], c[b, 3] = compute, bandwidth, deployment
        c[b, 0] = compute + bandwidth + deployment

    def open_one(self, e: int, i: int) -> None:
        """``open_facilities`` for the single episode of a batch of one (e = 0): the same numbers, in Python.

        Only what changes is recomputed: the classes that move to i, the load of i and of the facilities
        they leave (summed over their classes in class order from 0.0, as ``bincount`` sums), those
        facilities' n_i·price_i and used_i·deploy_i (the elementwise products of ``lemma_a_costs``); the
        totals are the same ``np.add.reduce`` over the same per-facility and per-class arrays, so the
        dollars are the same bits as ``lemma_a_costs``.
        """
        t = self.t
        n_fac = t.n_facilities
        fac_cls, order, n_feasible, busy_of, price, deploy = t.py()
        best, fac_of, members = self._best, self._fac_of, self._members
        best_row, assign_row = self.best[e], self.assign[e]
        busy_row, bw_row = self.busy_cls[e], self.bw_cls[e]
        idx: list[int] = []
        rs: list[int] = []
        left = set()
        x = 0.0
        unserved = self._unserved
        for r, k, b, w in fac_cls[i]:
            old = best[r]
            if k < old:
                stop = n_feasible[r]
                idx += order[r][k:old if old < stop else stop]
                if old == n_fac:
                    unserved -= 1
                else:
                    f = fac_of[r]
                    members[f].remove(r)
                    left.add(f)
                best[r] = best_row[r] = k
                fac_of[r] = assign_row[r] = i
                busy_row[r] = b
                bw_row[r] = w
                rs.append(r)
                x += b
        self._unserved = unserved
        members[i] = rs
        attract = self.attract[e]
        if len(idx) > 8:
            attract -= np.bincount(idx, minlength=n_fac)
        else:
            for f in idx:
                attract[f] -= 1
        self.unserved[e] = unserved
        self.open[e, i] = True
        self._obs[e, i] = 1.0
        fc = self._fac_cost
        rho = t.rho
        fc[0, i] = max(instances_needed_one(x, rho), 1) * price[i]  # n = max(1, ⌈x/ρ⌉): Lemma A
        fc[1, i] = 1.0 * deploy[i]
        for f in left:
            cls = members[f]
            if cls:
                x = 0.0
                for r in cls:
                    x += busy_of[r][f]
                fc[0, f] = max(instances_needed_one(x, rho), 1) * price[f]
            else:
                fc[0, f] = 0 * price[f]
                fc[1, f] = 0.0 * deploy[f]
        compute, deployment = np.add.reduce(fc, 1).tolist()
        bandwidth = float(np.add.reduce(bw_row))
        total = compute + bandwidth + deployment
        self.py_costs = (total, compute, bandwidth, deployment)
        self.costs[e] = self.py_costs
        mask = self._mask[e]
        np.greater(attract, 0, out=mask[:n_fac])
        mask[n_fac] = unserved == 0

    def recost(self, b: np.ndarray) -> None:
        """Recost episodes b (``lemma_a_costs`` of their routings)."""
        compute, bandwidth, deployment = self.lemma_a_costs(self.assign[b], self.busy_cls[b], self.bw_cls[b])
        c = self.costs
        c[b, 1], c[b, 2], c[b, 3] = compute, bandwidth, deployment
        c[b, 0] = compute + bandwidth + deployment

    def lemma_a_costs(self, assign: np.ndarray, busy: np.ndarray, bw: np.ndarray) -> tuple[Any, Any, Any]:
        """(compute, bandwidth, deployment) [$/epoch] of routings ``assign`` [R] or [nb, R] (|I| = unserved).

        ``busy``, ``bw``: each class's busy instances and bandwidth cost at its facility (0 if unserved).
        The plan is materialised by Lemma A as ``CostModel.materialise`` does: load x_i summed in class order
        (``bincount``), n_i = max(1, ⌈x_i/ρ⌉) on used facilities.
        """
        t = self.t
        n_fac = t.n_facilities
        if assign.ndim == 1:
            key, shape = assign, (n_fac + 1,)
        else:
            key, shape = (assign + self._key_offset[:len(assign)]).ravel(), (len(assign), n_fac + 1)
        size = shape[0] * shape[-1] if len(shape) == 2 else shape[0]
        x = np.bincount(key, busy.ravel(), size).reshape(shape)[..., :n_fac]
        # with every busy time > 0, a facility is used exactly when it carries load
        used = (x > 0) if t.busy_positive else (np.bincount(key, None, size).reshape(shape)[..., :n_fac] > 0)
        # n = max(1, ⌈x/ρ⌉) where used, else 0 (an unused facility has x = 0, so ⌈x/ρ⌉ = 0)
        n = np.maximum(instances_needed(x, t.rho), used)
        axis = assign.ndim - 1
        return np.add.reduce(n * t.price, axis), np.add.reduce(bw, axis), np.add.reduce(used * t.deploy, axis)

    def finish(self, e: int) -> Evaluation:
        """STOP in episode e: the true cost of its plan by ``CostModel.evaluate`` (with violations)."""
        cm = self.t.cm
        ev = cm.evaluate(cm.materialise(self.assign[e]), check=self.check)  # STOP: every class is served
        self.costs[e] = (ev.total, ev.compute, ev.bandwidth, ev.deployment)
        self.done[e] = True
        return ev

    def finish_batch(self, es: np.ndarray) -> None:
        """STOP in episodes ``es`` (every class served), without violations: :meth:`finish`'s costs for all
        of them at once (``CostModel.assignment_costs``, the batched ``evaluate(materialise(·))``)."""
        self.costs[es] = self.t.cm.assignment_costs(self.assign[es])
        self.done[es] = True

    def plan(self, e: int) -> Plan:
        """Episode e's plan of its served classes, materialised by ``CostModel.materialise`` (Lemma A)."""
        cm = self.t.cm
        a = self.assign[e]
        served = np.flatnonzero(a < self.t.n_facilities)
        fac = a[served]
        data = cm.dstar[served, fac]
        sub = cm.materialise(fac, data, rates=cm.scenario.class_rate[served])  # classes renumbered 0..P-1
        return Plan(cls=served, facility=fac, data=data, fraction=np.ones(served.size),
                    instances=sub.instances)

    def observe(self, ref: float) -> np.ndarray:
        """[N, 3I+2] observations (a fresh array)."""
        t = self.t
        n_fac, R = t.n_facilities, t.n_classes
        o = self._obs  # columns 0 … I-1 (open) are kept up to date by reset / open_*
        np.multiply(self.attract, 1.0 / R, out=o[:, 2 * n_fac:3 * n_fac], casting="unsafe")
        o[:, 3 * n_fac] = (R - self.unserved) / R
        o[:, 3 * n_fac + 1] = squash(self.costs[:, 0], ref)
        return o.copy()

    def observe_one(self, e: int, ref: float) -> np.ndarray:
        """Row e of ``observe`` (same numbers: the scalars are the same IEEE operations), a fresh array."""
        t = self.t
        n_fac, R = t.n_facilities, t.n_classes
        o = self._obs[e]
        np.multiply(self.attract[e], 1.0 / R, out=o[2 * n_fac:3 * n_fac], casting="unsafe")
        if self.n == 1:  # the Python mirrors of the same numbers
            o[3 * n_fac] = (R - self._unserved) / R
            o[3 * n_fac + 1] = squash(self.py_costs[0], ref)
        else:
            o[3 * n_fac] = (R - int(self.unserved[e])) / R
            o[3 * n_fac + 1] = squash(float(self.costs[e, 0]), ref)
        return o.copy()


class PlacementEnv(A2Env):
    """Build one epoch's A² serving plan by opening facilities (region, model, instance type) one at a time.

    ## Description

    The scenario's request classes (origin region, accuracy floor, latency SLO, rate) must all be served.
    Each step the agent opens one facility i = (k, m, h) (index ``(k*|M| + m)*|H| + h``) or says STOP.
    The env itself routes every class to its cheapest feasible *open* facility by the A2-UFL assignment
    cost C[r, i] (ties to the lower index, so the routing depends only on the open set), sends it in the
    data version d*(r, i), and sizes each used facility with n_i = max(1, ⌈x_i/ρ⌉) instances (Lemma A,
    ``CostModel.materialise``).  The episode's cost is ``CostModel.evaluate`` of that plan [$ per epoch].

    ## Action Space

    ``Discrete(|I| + 1)``: action i < |I| opens facility i; action |I| is STOP.  Masked off (see
    ``info["action_mask"]`` / ``action_masks()``): a facility that is open, not offered, or would serve no
    class (every class it can serve already has a cheaper open facility); STOP while any class is unserved.
    Some action is always valid.  Every action in the space is a legal input: with the default
    ``invalid_action="noop"`` a masked action changes nothing and pays ``-invalid_penalty`` (0.1), and the
    ``max_invalid_actions``-th (16) masked action in a row ends the episode as a failure (reward
    ``-invalid_failure_penalty``, 10); ``invalid_action="raise"`` raises ``a2gym.ActionError`` naming the
    action and why it is masked (:mod:`a2gym.envs.invalid`).  An action outside the space always raises.

    ## Observation Space

    ``Box(0, 1, (3|I| + 2,), float32)``:

    | index            | meaning                                                            | min | max |
    |------------------|--------------------------------------------------------------------|-----|-----|
    | 0 … I-1          | facility i is open (0/1)                                           | 0   | 1   |
    | I … 2I-1         | opening cost F_i / max_j F_j ($/$; 1 if not offered)               | 0   | 1   |
    | 2I … 3I-1        | fraction of classes that would move to i if it opened              | 0   | 1   |
    | 3I               | fraction of classes served                                         | 0   | 1   |
    | 3I+1             | cost so far c / (c + ref) (c, ref in $/epoch)                       | 0   | 1   |

    With ``observation="sets"`` (:mod:`a2gym.envs.sets`) the observation is size-agnostic, a ``Dict`` of
    ``Box(0, 1)`` float32 arrays padded to R̂ = ``MAX_CLASSES`` (128), Î = ``MAX_FACILITIES`` (192):

    | key            | shape   | meaning                                                        | min | max |
    |------------------|-----------|------------------------------------------------------------------|-----|-----|
    | facilities      | [Î, 18]  | per facility: open, F_i/max F, attraction (the plain columns),  | 0  | 1  |
    |                |           | spare capacity, load, instances, offered, price, deploy g,     |     |   |
    |               |           | feasible / routed classes, model accuracy and size, GPU, lat/lon, |  |    |
    |               |           | gain G/(G+F_i) of moving served classes to i, unserved coverable |  |     |
    | facility_valid  | [Î]      | 1 for a facility of this scenario, 0 for padding                | 0  | 1  |
    | classes        | [R̂, 11]  | per class: served, current (0 here), rate share, rate, SLO,    | 0  | 1  |
    |               |           | accuracy floor, current cost, best cost, #feasible, origin lat/lon |  |   |
    | class_valid    | [R̂]     | 1 for a class of this scenario, 0 for padding                  | 0  | 1  |
    | pair_cost     | [R̂, Î]  | C[r,i] / (C[r,i] + ref/|R|) at d*(r,i); 1.0 if infeasible/padding | 0  | 1  |
    | globals        | [4]     | fraction served, c/(c + ref) (the plain last two), |R|/R̂, |I|/Î  | 0  | 1  |

    Its action space is ``Discrete(Î + 1)``: i < |I| opens facility i, Î is STOP, |I| … Î-1 are padding
    (always masked; an ActionError).  Any scenario with |R| ≤ R̂, |I| ≤ Î and |D| ≤ 16 may be given at
    ``reset``; a larger one raises ``ScenarioError`` naming the size and the limit.
    With ``action_mask_in_obs=True`` the observation is ``Dict({"observations": <the Box above>,
    "action_mask": Box(0, 1, (|I| + 1,), float32)})``, the mask equal to ``action_masks()``.

    ``info``: ``cost`` (dollars so far), ``compute``, ``bandwidth``, ``deployment`` [$/epoch],
    ``reference_cost`` [$/epoch], ``unserved`` (classes), ``action_mask``, ``invalid_action`` (this step's
    action was masked), ``invalid_actions`` (masked actions this episode), ``violations`` (at STOP, always
    empty; on a failure, the classes left unserved) and ``failed`` (only on a failure).

    ## Rewards

    r_t = -(c_t - c_{t-1}) / ref, where c_t is the cost of the plan serving the classes routed so far (0
    at reset; at STOP the true ``CostModel.evaluate`` cost) and ref = :func:`placement_reference_cost`.
    The return is -final_cost / ref: -1.0 for the reference, > -1 beats it.

    ## Starting State

    Nothing open, every class unserved, cost 0.  Deterministic given the scenario.

    ## Episode End

    Terminated at STOP (at most |I| + 1 valid steps), or as a failure after ``max_invalid_actions`` masked
    actions in a row.  Truncation only by ``max_episode_steps`` (a safety cap of 1,000,000; reset raises if
    a scenario could need more).  ``step`` before ``reset`` or after the end raises
    ``a2gym.ResetNeededError``.

    ## Arguments

    * ``scenario``: URI, path or Scenario (default ``scenario://paper-default-v0``).
    * ``resample``: with a ``generator://`` URI, draw a fresh scenario (same sizes) at every reset from
      the reset's seeded RNG.  The observation is per facility, so |R| may vary.
    * ``max_classes``: largest |R| a resampled scenario may have (default: the first scenario's).
    * ``reward``: ``"normalised"`` (default), ``"dollars"`` or a callable (cost_before, cost_after, ref).
    * ``render_mode``: ``"rgb_array"`` (map) or ``"ansi"`` (table).
    * ``observation``: ``"plain"`` (default) or ``"sets"`` (padded sets and the padded action above; a
      ``make`` kwarg, the env is then :class:`a2gym.envs.sets_envs.PlacementSetsEnv`).
    * ``invalid_action`` (``"noop"`` or ``"raise"``), ``invalid_penalty`` (0.1), ``invalid_failure_penalty``
      (10.0), ``max_invalid_actions`` (16): what a masked action does, see :mod:`a2gym.envs.invalid`.
    * ``action_mask_in_obs`` (False): put the mask in a Dict observation (RLlib, TorchRL, Tianshou).

    ``env.unwrapped.make_kwargs()`` lists every one of them with its value (what a record needs).

    >>> import gymnasium, a2gym
    >>> env = gymnasium.make("a2gym/Placement-v0", scenario="generator://synth-v0/1?classes=8&regions=3")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape == env.observation_space.shape and info["cost"] == 0.0
    True

    ## Vectorized environment

    :class:`PlacementVectorEnv` steps N copies with numpy (``gymnasium.make_vec("a2gym/Placement-v0",
    num_envs=N, vectorization_mode="vector_entry_point")``), same numbers as N single envs, NEXT_STEP
    autoreset, the same kwargs (masked actions included) and ``info`` keys (``violations`` and ``failed``
    with Gymnasium's ``_key`` masks, set for the copies whose episode ended).

    ## Reference

    A2-Greedy's integral plan (``split=False``) as actions: open its open facilities in index order
    (skipping any that have become masked, which would serve nothing), then STOP
    (:func:`a2gym.policies.reference_policy`, through :meth:`target_action`, the adaptor the heuristic
    baselines use too).  Its cost, the reward normaliser, is $3.066 on paper-default-v0 where ``a2gym
    solve`` reports $2.965: ``solve`` ends with a split polish that may divide a class between facilities,
    which no env action can express (integral A2-Greedy: $2.985, what Scheduling-v0 reproduces), and this
    env routes each class to its cheapest open facility by C[r, i] rather than to A2-Greedy's assignment.

    ## Version History

    * v0: initial version.
    * v0 (unreleased): ``observation="sets"`` make kwarg (size-agnostic padded observation and action);
      the default observation, dollars and rewards are unchanged.
    * v0, unchanged id (no valid action behaves differently, every committed record replays): every action
      in the space is legal (``invalid_action``, default ``"noop"``); ``action_mask_in_obs``;
      ``info["invalid_action"]``, ``["invalid_actions"]``, ``["failed"]``; the vector env's infos gain
      ``unserved`` and ``violations``; ``step`` before ``reset`` raises ``ResetNeededError``.
    """

    def __init__(self, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 **invalid_and_obs: Any):
        super().__init__(scenario, resample, max_classes, reward, render_mode, **invalid_and_obs)
        n_fac = self.source.n_facilities
        self.n_facilities = n_fac
        self.action_space = spaces.Discrete(n_fac + 1)
        self._finish_spaces(spaces.Box(0.0, 1.0, (3 * n_fac + 2,), dtype=np.float32), n_fac + 1)
        self._setup(self.scenario)

    def _setup(self, scenario: Scenario) -> None:
        self.scenario = scenario
        tables = PlacementTables.of(scenario)
        if getattr(self, "tables", None) is tables:  # same scenario: reuse the state arrays
            self.batch.reset(_FIRST)
        else:
            self.tables = tables
            self.reference_cost = placement_reference_cost(scenario)
            self.batch = PlacementBatch(tables, 1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._setup(self._choose_scenario(options))
        self._check_steps((self.n_facilities + 1) * self.invalid_rule.max_run)
        self._begin_episode()
        return self._observation(), self._info()

    def step(self, action: Any):
        n_fac = self.n_facilities
        a = action if type(action) is int and 0 <= action <= n_fac else discrete_action(action, n_fac + 1)
        if self._needs_reset is not None:
            raise self._reset_needed()
        batch = self.batch
        mask = batch._mask[0]
        if not mask[a]:
            return self._masked_step(lambda: self._why_masked(a))
        self.invalid.run = 0
        before = batch.py_costs[0]
        if a == n_fac:
            self._last_eval = batch.finish(0)
            costs = batch.py_costs = tuple(batch.costs[0].tolist())
            self._needs_reset = "the episode has ended (STOP)"
            done = True
        else:
            batch.open_one(0, a)
            costs = batch.py_costs
            done = False
        reward = float(self.reward_fn(before, costs[0], self.reference_cost))
        info = {"cost": costs[0], "compute": costs[1], "bandwidth": costs[2], "deployment": costs[3],
                "reference_cost": self.reference_cost, "unserved": batch._unserved,
                "action_mask": mask.copy(),
                "invalid_action": False, "invalid_actions": self.invalid.total}
        if done:
            info["violations"] = [str(v) for v in self._last_eval.violations]
        return self._observation(), reward, done, False, info

    def _why_masked(self, a: int) -> str:
        if a == self.n_facilities:
            left = int(self.batch.unserved[0])
            return f"action {a} (STOP) is masked off: {left} class(es) are still unserved"
        name = self.scenario.facility_name(a)
        if self.batch.open[0, a]:
            why = "it is already open"
        elif not np.isfinite(self.tables.cm.F[a]):
            why = "its instance type is not offered in that region"
        else:
            why = "it would serve no class (each class it can serve already has a cheaper open facility)"
        return f"action {a} (open {name}) is masked off: {why}"

    def _mask(self) -> np.ndarray:
        return self.batch.masks()[0]

    def _obs(self) -> np.ndarray:
        return self.batch.observe_one(0, self.reference_cost)

    def _info(self) -> dict[str, Any]:
        return self._cost_info(unserved=int(self.batch.unserved[0]), action_mask=self.batch.masks()[0].copy(),
                               **self._invalid_info(False))

    def _unserved_classes(self) -> np.ndarray:
        return np.flatnonzero(self.batch.assign[0] == self.n_facilities)

    def plan(self) -> Plan:
        """The plan built so far (served classes only), materialised by Lemma A."""
        return self.batch.plan(0)

    def target_action(self, target: Plan | np.ndarray, data: np.ndarray | None = None) -> int:
        """The action toward a target: open the first (lowest-index) facility of ``target`` (a Plan: its
        open facilities; an array: each class's target facility) that is not masked, else STOP.

        Opening every target facility lets the env route each class to its cheapest open one, so the
        episode reaches the target's open set (``data`` is ignored: the env sends d*).
        """
        del data
        facilities = target.open_facilities if isinstance(target, Plan) else np.unique(target)
        return open_next(facilities, self.batch.masks()[0], self.n_facilities)


def open_next(facilities: np.ndarray, mask: np.ndarray, stop: int) -> int:
    """Placement's action toward a target: the first of ``facilities`` (ascending indices) that ``mask``
    allows, else ``stop`` (every class is served once its target is open or useless). The one
    target-to-action rule, used by :meth:`PlacementEnv.target_action` and the heuristics, which see only
    ``info["action_mask"]``."""
    for i in facilities:
        if mask[i]:
            return int(i)
    return stop


_FIRST = np.zeros(1, dtype=np.int64)


class PlacementVectorEnv(A2VectorEnv):
    """N copies of :class:`PlacementEnv` on one scenario, stepped with numpy (see its docstring).

    ``gymnasium.make_vec("a2gym/Placement-v0", num_envs=64, vectorization_mode="vector_entry_point",
    scenario=...)``.  Rewards, observations, infos and autoresets equal those of N single envs.
    """

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = DEFAULT_SCENARIO, resample: bool = False,
                 max_classes: int | None = None, reward: Any = "normalised", render_mode: str | None = None,
                 max_episode_steps: int | None = None, **invalid_and_obs: Any):
        super().__init__(num_envs, scenario, resample, max_classes, reward, render_mode, max_episode_steps,
                         **invalid_and_obs)
        n_fac = self.source.n_facilities
        self.n_facilities = n_fac
        self.single_action_space = spaces.Discrete(n_fac + 1)
        self.single_observation_space = spaces.Box(0.0, 1.0, (3 * n_fac + 2,), dtype=np.float32)
        self._finish_init()

    def _setup(self, scenario: Scenario) -> None:
        self.tables = PlacementTables.of(scenario)
        self.reference_cost = placement_reference_cost(scenario)
        self.batch = PlacementBatch(self.tables, self.num_envs, check=False)

    def _apply(self, b: np.ndarray, a: np.ndarray) -> None:
        stop = a == self.n_facilities
        if (~stop).any():
            self.batch.open_facilities(b[~stop], a[~stop])
        if stop.any():
            self.batch.finish_batch(b[stop])

    def _unserved(self) -> np.ndarray:
        return self.batch.unserved.copy()

    def _unserved_classes(self, e: int) -> np.ndarray:
        return np.flatnonzero(self.batch.assign[e] == self.n_facilities)
