"""The :class:`Solution` every solver returns: a plan, its true cost (from :mod:`a2gym.costmodel`) and metadata."""

from __future__ import annotations

import dataclasses
from typing import Any

from a2gym.costmodel import Evaluation
from a2gym.plan import Plan


@dataclasses.dataclass(frozen=True, eq=False)
class Solution:
    """Result of :func:`a2gym.solvers.solve`.

    Attributes:
        plan: the serving plan (indices of the *original* scenario, also for restricted baselines).
        cost: ``CostModel.evaluate(plan)`` on the original scenario: total / compute / bandwidth /
            deployment in $ per epoch, and the violations (always empty for a returned solution).
        method: solver name (``greedy``, ``lpround``, ``milp``, ``per-request-cheapest``, ``random``).
        restrict: the restriction (``no-adaptation``, ``model-only``, ``data-only``, ``local``) or None.
        status: ``optimal`` (proved by the MILP), ``feasible`` (MILP stopped with an incumbent and a
            known gap), ``time_limit`` (stopped with an incumbent, gap unknown) or ``heuristic``.
        wall_time: seconds spent in the solver, including building its model.
        lower_bound: a proven lower bound on the optimum of the (restricted) instance [$ per epoch], or None.
        gap: (cost − lower_bound) / cost where known, else None.
        scenario_sha256, scenario_uri: which scenario was solved.
        info: solver-specific extras (e.g. local-search move counts, UFL cost, MILP objective).
    """

    plan: Plan
    cost: Evaluation
    method: str
    restrict: str | None
    status: str
    wall_time: float
    lower_bound: float | None = None
    gap: float | None = None
    scenario_sha256: str = ""
    scenario_uri: str | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> float:
        """Total true cost [$ per epoch]."""
        return self.cost.total

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: costs, status, timing, bound, scenario identity and the plan."""
        c = self.cost.to_dict()
        return {
            "method": self.method, "restrict": self.restrict, "status": self.status,
            "total": c["total"], "compute": c["compute"], "bandwidth": c["bandwidth"],
            "deployment": c["deployment"], "per_1k_requests": c["per_1k_requests"], "instances": c["instances"],
            "violations": c["violations"], "wall_time": self.wall_time, "lower_bound": self.lower_bound,
            "gap": self.gap, "scenario_uri": self.scenario_uri, "scenario_sha256": self.scenario_sha256,
            "info": _jsonable(self.info), "plan": self.plan.to_dict(),
        }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):
        return x.item()
    return x
