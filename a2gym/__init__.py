"""a2gym: a Gymnasium benchmark for geo-distributed DNN inference serving (the A² problem).

Public API::

    import a2gym
    scn = a2gym.load_scenario("scenario://paper-default-v0")
    sol = a2gym.solve(scn, "greedy")          # the reference solver (A2-Greedy)
    ev = a2gym.evaluate(scn, sol.plan)        # true cost split into compute / bandwidth / deployment
    env = gymnasium.make("a2gym/Placement-v0", scenario="scenario://paper-default-v0")
"""

from __future__ import annotations

from typing import Any

from a2gym.costmodel import CostModel, Evaluation, Violation, evaluate, load_scenario
from a2gym.errors import (
    A2GymError,
    ActionError,
    InfeasibleError,
    PlanError,
    RecordError,
    ResetNeededError,
    ScenarioError,
    SolverError,
)
from a2gym.plan import Plan
from a2gym.scenario import Scenario

__version__ = "0.2.0"


def solve(scenario: Any, method: str = "greedy", time_limit: float | None = None, seed: int | None = None,
          restrict: str | None = None, **options: Any):
    """Solve an A² instance; see :func:`a2gym.solvers.solve`."""
    from a2gym.solvers import solve as _solve

    return _solve(scenario, method, time_limit=time_limit, seed=seed, restrict=restrict, **options)


def lower_bound(scenario: Any, time_limit: float | None = None) -> float:
    """max(LP relaxation of A2-MILP, ½·LP(A2-UFL)) in $ per epoch; see :func:`a2gym.solvers.lower_bound`."""
    from a2gym.solvers import lower_bound as _lb

    return _lb(scenario, time_limit=time_limit)


from a2gym.envs import register_envs  # noqa: E402  (envs import the names above)

register_envs()


def __getattr__(name: str) -> Any:
    """Submodules on first access (``a2gym.policies.reference_policy`` right after ``import a2gym``)."""
    if name in ("policies", "solvers", "leaderboard", "viz", "cli"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "A2GymError",
    "ActionError",
    "CostModel",
    "Evaluation",
    "InfeasibleError",
    "Plan",
    "PlanError",
    "RecordError",
    "ResetNeededError",
    "Scenario",
    "ScenarioError",
    "SolverError",
    "Violation",
    "__version__",
    "evaluate",
    "load_scenario",
    "lower_bound",
    "solve",
]
