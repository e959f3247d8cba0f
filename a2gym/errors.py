"""Exception types of a2gym.

Every bad input raises a subclass of :class:`A2GymError` whose message names the offending field,
value, action or file line. Nothing is silently clipped or fixed.
"""

from __future__ import annotations

from gymnasium.error import ResetNeeded


class A2GymError(Exception):
    """Base class of every error a2gym raises on purpose."""


class ScenarioError(A2GymError, ValueError):
    """A scenario (file, URI or arrays) is malformed or cannot be served.

    The message names the field and the bad value, e.g. ``price_per_hour[2, 0] = -1.0 (must be >= 0 or NaN)``.
    """


class InfeasibleError(ScenarioError):
    """Some request classes have no feasible (region, model, data version, instance type).

    ``classes`` holds their names.
    """

    def __init__(self, message: str, classes: tuple[str, ...] = ()):
        super().__init__(message)
        self.classes = tuple(classes)


class PlanError(A2GymError, ValueError):
    """A plan is malformed (wrong shape, index out of range); constraint violations are reported, not raised."""


class SolverError(A2GymError, RuntimeError):
    """A solver failed: unknown method, no solution within the time limit, backend error."""


class ActionError(A2GymError, ValueError):
    """An env action is outside the action space or masked off."""


class ResetNeededError(A2GymError, ResetNeeded):
    """An env was stepped before ``reset()`` or after its episode ended (also a Gymnasium ``ResetNeeded``)."""


class RecordError(A2GymError, ValueError):
    """An episode record or results file is malformed, tampered with or does not replay."""


class FileError(A2GymError, OSError):
    """A path that cannot be read or written as asked: missing, not a regular file (a FIFO, a device, a
    directory, a symbolic link as an output), larger than the limit, or in a folder that does not exist."""
