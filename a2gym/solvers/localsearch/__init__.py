"""True-cost local search for integral A² plans (formulation §11.6 step 4d).

The state is an integral assignment (facility σ(r), data version d_r) with instance counts
n_i = max(1, ⌈x_i/ρ⌉) on used facilities (Lemma A).  Its cost [$ per epoch] is

    Σ_{i used} (π_i·T·n_i + g_i) + Σ_r V_r·s_{d_r}·β(o_r, k_{σ(r)})/1e9,

exactly :meth:`CostModel.assignment_cost` (the tests assert the two agree).  Moves, each accepted only
when the true cost strictly decreases:

* **relocate**: one class to another (facility, data version), including re-choosing the data version
  on its own facility.  The delta is exact: it counts the instance steps on both facilities, so moving
  a class onto spare ρ·n capacity costs no compute, and leaving a facility that then needs one
  instance fewer (or none) earns it.  Deltas of all classes are computed in one vectorised pass, then
  applied best-first, each re-checked against the current state.
* **close**: move every class of an open facility at once to its best remaining open option (data
  version re-chosen), largest loads first.
* **swap**: close an open facility while allowing one closed facility to open in its place.
* **shed**: move classes off a facility (cheapest first, each to its best other open option) until it
  needs one instance fewer.
* **open**: open a closed facility with one seed class, then pull every class that gains from it.

Only Pareto-optimal data versions per (class, facility) are considered (a version with both more
bytes and more busy time is never better).  The search is deterministic.

Implementation notes (speed).  The composite moves re-insert one class at a time into a handful of
open facilities, so their hot paths are plain-Python scalar loops over a per-class table of allowed
options (:class:`OptionTable`), with the state mirrored in Python lists next to the numpy arrays that
the vectorised passes use.  Every delta is computed with the same floating-point operations, in the
same order, as the vectorised formulas (:meth:`LocalSearch.fac_cost`), and ties go to the first
option in (facility, data version) order like ``np.argmin``, so the scalar and vectorised paths give
bit-identical decisions.

Layout: :mod:`.state` (options, state, exact deltas), :mod:`.relocate` (the relocate move),
:mod:`.facility` (close, swap, open, shed, force-close) and, here, :class:`LocalSearch`, which runs
them to a fixpoint and adds the iterated kicks.
"""

from __future__ import annotations

import numpy as np

from a2gym.solvers.localsearch.facility import FacilityMoves
from a2gym.solvers.localsearch.state import OptionTable

__all__ = ["LocalSearch", "OptionTable"]


class LocalSearch(FacilityMoves):
    """The local search of one (possibly restricted) cost model: state and deltas from
    :class:`~a2gym.solvers.localsearch.state.AssignmentState`, moves from the mixins, and the drivers
    :meth:`run` (all moves to a fixpoint) and :meth:`kick_search` (iterated kicks)."""

    def kick_search(self, max_kicks: int = 200) -> None:
        """Iterated local search: from the best plan, force-close each open facility in turn and re-run
        the local search; keep any strictly better result, until no kick improves (deterministic)."""
        self.run()
        best, best_state = self.total(), self._snapshot()
        kicks = 0
        improved = True
        while improved and kicks < max_kicks and not self._late():
            improved = False
            for i in np.flatnonzero(best_state[5] > 0).tolist():
                if kicks >= max_kicks or self._late():
                    break
                kicks += 1
                self._restore(tuple(a.copy() for a in best_state))
                if not self.force_close(i):
                    continue
                self.run()
                if self.total() < best - self._eps():
                    best, best_state = self.total(), self._snapshot()
                    self.moves["kick"] += 1
                    improved = True
                    break
        self._restore(best_state)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Local search to a fixpoint of all moves; returns (facility, data) per class."""
        for _ in range(self.max_rounds):
            self.relocate_pass()
            if self._late():
                break
            if self.close_pass() or self.shed_pass() or self.open_pass() or self.swap_pass():
                continue
            break
        return self.fac.copy(), self.dat.copy()

