"""A2-Greedy (formulation §11.6): Hochbaum's star greedy on A2-UFL, then true-cost local search.

Pipeline of ``solve(s, "greedy")`` (deterministic):

1. :func:`star_greedy` (this module) → integral assignment, materialised by Lemma A.
2. True-cost local search (:mod:`a2gym.solvers.localsearch`) from that start and from two further
   deterministic starts (per-request cheapest; the support of LP(A2-UFL) when that LP is small, see
   :func:`extra_starts`); the cheapest local optimum is kept.  Step 1's start is always
   among them, so the result is never worse than the star greedy's.
3. Split polish (:mod:`a2gym.solvers.polish`, ``split=True`` by default): A2-MILP restricted to the
   facilities the plan already opened, which lets classes split to fill spare ρ·n capacity; kept only
   if strictly cheaper.  ``split=False`` returns the unsplit plan of step 2.

Guarantee (cost in $ per epoch).  Let OPT be the optimum of the A² instance and OPT_UFL the optimum of
its A2-UFL reduction (F_i = π_{k,h}·T + g_{k,m}, C_{r,i} = min_d [V_r·b_{r,k,d} + π_{k,h}·T·λ_r·τ_{m,d,h}/ρ]).

* Step 3 (star greedy) returns an A2-UFL solution of cost ≤ H_|R|·LP(A2-UFL) ≤ H_|R|·OPT_UFL, where
  H_n = Σ_{t≤n} 1/t ≤ 1 + ln n: Chvátal's dual fitting for greedy set cover applied to the set system of
  stars (facility, subset of clients); each chosen star is the cheapest per newly covered client, and
  zeroing the opening cost of an already open facility only makes later stars cheaper.
* Lemma A: materialising it (d = d*, n_i = max(1, ⌈x_i/ρ⌉)) gives a feasible A² plan whose true cost is
  ≤ its A2-UFL cost, because ⌈x/ρ⌉ ≤ 1 + x/ρ.
* The local search accepts only strict decreases of the true cost, the multi-start keeps the cheapest
  local optimum and the polish only replaces a plan by a cheaper one, so the final cost ≤ the
  materialised star-greedy cost.
* Lemma B: every feasible A² solution costs ≥ ½·OPT_UFL, since n_i ≥ max(1, x_i/ρ) ≥ (1 + x_i/ρ)/2.

Hence cost(A2-Greedy) ≤ H_|R|·OPT_UFL ≤ 2·H_|R|·OPT.  By the set-cover reduction (§5) no polynomial
algorithm can do better than a logarithmic factor unless P = NP.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from a2gym.costmodel import CostModel
from a2gym.errors import InfeasibleError, SolverError
from a2gym.plan import Plan
from a2gym.solvers.baselines import per_request_cheapest
from a2gym.solvers.bounds import ufl_lp
from a2gym.solvers.improve import best_local_optimum, remaining, split_polish

# Relative tolerance under which two star ratios count as tied (then the §11.6 3b tie-break decides).
TIE = 1e-12
LP_START_MAX = 100_000  # finite C entries up to which greedy also starts from the LP(A2-UFL) support


def a2_greedy(cm: CostModel, work: CostModel, options: dict[str, Any], deadline: float | None,
              info: dict[str, Any]) -> Plan:
    """The A2-Greedy plan of ``work`` (the instance, possibly restricted; ``cm`` is the original one).

    ``options``: ``local_search`` (default True), ``starts`` (see :func:`extra_starts`), ``kicks``
    (default 0), ``split`` (default True); ``deadline`` is a ``time.perf_counter()`` value or None.
    Records ``ufl_cost`` and ``materialised_cost`` [$] and the steps' own entries in ``info``.
    """
    sigma, info["ufl_cost"] = star_greedy(work)
    data = work.dstar[np.arange(len(sigma)), sigma]
    info["materialised_cost"] = work.assignment_cost(sigma, data)
    if options.get("local_search", True):
        starts = [("greedy", sigma), *extra_starts(work, options.get("starts"), deadline)]
        sigma, data = best_local_optimum(work, starts, int(options.get("kicks", 0)), deadline, info)
    plan = work.materialise(sigma, data)
    return split_polish(cm, work, plan, deadline, info) if options.get("split", True) else plan


def extra_starts(cm: CostModel, which: Any, deadline: float | None) -> list[tuple[str, np.ndarray]]:
    """Further local-search starts of A2-Greedy besides the star greedy: ``prc`` (every class at its
    cheapest facility) and ``lp`` (every class at its cheapest facility among those with y > 0 in
    LP(A2-UFL); only when it has at most ``LP_START_MAX`` finite C entries).  A2-Greedy keeps the best
    local optimum, so its cost never exceeds the star greedy's own (the guarantee is unchanged)."""
    if which is None:
        which = ("prc", "lp") if int(np.isfinite(cm.C).sum()) <= LP_START_MAX else ("prc",)
    out: list[tuple[str, np.ndarray]] = []
    for name in which:
        if name == "prc":
            out.append(("prc", per_request_cheapest(cm)))
        elif name == "lp":
            res = ufl_lp(cm, remaining(deadline, 0.1))
            if res is not None:
                support = res[2] > 1e-6
                out.append(("lp", np.argmin(np.where(support[None, :], cm.C, np.inf), axis=1)))
        else:
            raise SolverError(f"unknown greedy start {name!r}; valid: prc, lp")
    return out


def star_greedy(cm: CostModel) -> tuple[np.ndarray, float]:
    """Hochbaum's greedy on A2-UFL (§11.6 steps 1–3); returns (facility of each class, A2-UFL cost [$]).

    Each round, every facility's best star is the prefix of its cheapest unserved classes minimising
    (F'_i + Σ c)/p (one cumsum over a once-sorted column, so no re-sorting); the best star wins, ties
    broken by larger p, then lower opening price, then lower index.  Open facilities have F' = 0, and
    every class whose cheapest open facility beats all closed stars is assigned in one batch (exactly
    what the one-at-a-time greedy would do, since removing a class never lowers a closed star's ratio
    below that class's cost).
    """
    C, F = cm.C, cm.F
    R, nI = C.shape
    if R and not np.isfinite(C).any(axis=1).all():
        cm.check_feasible()
        raise InfeasibleError("some request class has no feasible facility")
    order = np.argsort(C, axis=0, kind="stable")  # [R, I]
    Cs = np.take_along_axis(C, order, axis=0)
    finite_s = np.isfinite(Cs)
    Cs0 = np.where(finite_s, Cs, 0.0)
    usable = np.isfinite(F) & finite_s[0]
    Fp = np.where(usable, F, np.inf)
    price = np.where(np.isfinite(F), F, np.inf)
    unserved = np.ones(R, dtype=bool)
    sigma = np.full(R, -1, dtype=np.int64)
    is_open = np.zeros(nI, dtype=bool)
    ufl = 0.0
    cols = np.arange(nI)
    while unserved.any():
        live = unserved[order] & finite_s  # [R, I] unserved, feasible, in each column's sorted order
        cnt = np.cumsum(live, axis=0)
        tot = np.cumsum(np.where(live, Cs0, 0.0), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(live, (Fp[None, :] + tot) / np.maximum(cnt, 1), np.inf)
        best = ratio.min(axis=0)  # [I]
        closed_best = np.min(np.where(is_open, np.inf, best), initial=np.inf)
        if is_open.any():
            # Batch: classes whose cheapest open facility is strictly below every closed star.
            Co = np.where(is_open[None, :], C, np.inf)
            jo = np.argmin(Co, axis=1)
            co = Co[np.arange(R), jo]
            batch = unserved & (co < closed_best * (1 - TIE))
            if batch.any():
                sigma[batch] = jo[batch]
                ufl += float(co[batch].sum())
                unserved &= ~batch
                continue
        gmin = best.min()
        if not np.isfinite(gmin):
            raise InfeasibleError("star greedy: unserved classes with no usable facility")
        tied_pos = live & (ratio <= best[None, :] * (1 + TIE) + 1e-300)
        p = np.max(np.where(tied_pos, cnt, 0), axis=0)  # largest p reaching each facility's best ratio
        cand = best <= gmin * (1 + TIE) + 1e-300
        keys = np.lexsort((cols, price, -p, ~cand))  # last key primary: candidates first
        i = int(keys[0])
        pos = np.flatnonzero(live[:, i])[: p[i]]
        members = order[pos, i]
        sigma[members] = i
        ufl += float(Fp[i] + C[members, i].sum())
        unserved[members] = False
        if not is_open[i]:
            is_open[i] = True
            Fp[i] = 0.0
    return sigma, ufl
