"""What an a2gym env does with a masked action: the ``invalid_action`` make-kwarg, one implementation.

Gymnasium's contract (which its checker, SB3's checker, RL Zoo and RLlib rely on) is that every action in
``action_space`` is a legal input to ``step``.  An a2gym action can still be *masked* (``action_masks()``):
opening a facility that would serve nothing, serving a class somewhere that misses its SLO, deploying a
facility that is not offered.  ``invalid_action`` chooses the outcome:

* ``"noop"`` (default): the masked action (for ``MultiDiscrete``/``MultiBinary`` actions: the masked
  components) is not executed.  A ``Discrete`` env (Placement, Scheduling) leaves its state unchanged and
  pays the reward ``-invalid_penalty`` (the "invalid action penalty" alternative to masking, Huang &
  Ontañón 2022, *A Closer Look at Invalid Action Masking*); the ``max_invalid_actions``-th masked action
  *in a row* ends the episode as a failure (terminated, ``info["failed"] = True``) with the reward
  ``-invalid_failure_penalty``.  GeoServe clears the masked bits, executes the rest of the action and
  pays ``-invalid_penalty`` once for that step (default 0: a cleared bit changes nothing).
  Two measured pitfalls shaped the defaults (from the agent scripts' former wrapper): ending the episode
  at the *first* masked action taught PPO to fail at step 1 (a random policy almost never completes a
  Placement episode, so failing early, before paying any cost, looked best); an unbounded no-op loop
  would stop paying costs forever.  The failure penalty (10) exceeds the normalised cost of completed
  episodes (returns are -cost/reference_cost: a random valid Placement policy scores about -4, a random
  Scheduling policy about -8), and a deterministic agent that repeats a masked action fails after
  ``max_invalid_actions`` steps, so every episode is finite.
* ``"raise"``: the strict mode: :class:`a2gym.ActionError` naming the action and why it is masked.

Either way an action outside ``action_space`` (wrong type, shape or range) raises ``ActionError``.
``info`` always holds ``invalid_action`` (bool: this step's action was masked) and ``invalid_actions``
(masked actions so far in the episode); a failed episode's last ``info`` has ``failed = True`` and lists
the classes it left unserved in ``violations``.  Penalties are in reward units (normalised cost by
default).  The outcome is deterministic, so a recorded episode with masked actions replays exactly with
the same make-kwargs (``env.unwrapped.make_kwargs()``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from a2gym.checks import is_bool, is_finite_real, is_int
from a2gym.errors import ActionError

INVALID_ACTION_MODES = ("noop", "raise")
"""Allowed values of the ``invalid_action`` make-kwarg (the first is the default)."""

DEFAULT_INVALID_PENALTY = 0.1
DEFAULT_FAILURE_PENALTY = 10.0
DEFAULT_MAX_INVALID = 16


def _real(name: str, value: Any) -> float:
    if not (is_finite_real(value) and value >= 0):
        raise ValueError(f"{name} = {value!r} must be a finite real number >= 0")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool, else a ValueError naming the kwarg (no truthiness: ``1``, ``"yes"``)."""
    if not is_bool(value):
        raise ValueError(f"{name} = {value!r} must be True or False")
    return bool(value)


@dataclasses.dataclass(frozen=True)
class InvalidActionRule:
    """The validated ``invalid_action`` settings of one env (see the module docstring).

    mode: ``"noop"`` or ``"raise"``; penalty: reward paid per masked step [reward units, >= 0];
    failure_penalty: reward paid when a run of masked actions ends the episode; max_run: that run's
    length (Discrete envs; >= 1).
    """

    mode: str = "noop"
    penalty: float = DEFAULT_INVALID_PENALTY
    failure_penalty: float = DEFAULT_FAILURE_PENALTY
    max_run: int = DEFAULT_MAX_INVALID

    @classmethod
    def from_kwargs(cls, invalid_action: Any, invalid_penalty: Any, invalid_failure_penalty: Any,
                    max_invalid_actions: Any) -> InvalidActionRule:
        """The rule of the make-kwargs, or a ValueError naming the bad kwarg and the allowed values."""
        if not isinstance(invalid_action, str) or invalid_action not in INVALID_ACTION_MODES:
            raise ValueError(f"invalid_action = {invalid_action!r} is not one of "
                             f"{', '.join(repr(m) for m in INVALID_ACTION_MODES)}")
        if not (is_int(max_invalid_actions) and max_invalid_actions >= 1):
            raise ValueError(f"max_invalid_actions = {max_invalid_actions!r} must be an integer >= 1")
        return cls(invalid_action, _real("invalid_penalty", invalid_penalty),
                   _real("invalid_failure_penalty", invalid_failure_penalty), int(max_invalid_actions))

    @property
    def raises(self) -> bool:
        return self.mode == "raise"

    def kwargs(self) -> dict[str, Any]:
        """The make-kwargs that give this rule (JSON values)."""
        return {"invalid_action": self.mode, "invalid_penalty": self.penalty,
                "invalid_failure_penalty": self.failure_penalty, "max_invalid_actions": self.max_run}


class InvalidActionCounter:
    """Masked actions of one episode: ``run`` in a row, ``total`` in the episode (Python ints: the single
    env's hot path reads them every step)."""

    def __init__(self, rule: InvalidActionRule):
        self.rule = rule
        self.run = 0
        self.total = 0

    def reset(self) -> None:
        self.run = 0
        self.total = 0

    def masked(self, why: Callable[[], str]) -> tuple[float, bool]:
        """A masked action: raise (``"raise"``; ``why()`` gives the message) or count it.

        Returns (reward, failed): ``-penalty`` and False, or ``-failure_penalty`` and True for the
        ``max_run``-th masked action in a row (Discrete envs: the episode ends as a failure).
        """
        rule = self.rule
        if rule.mode == "raise":
            raise ActionError(why())
        self.total += 1
        self.run += 1
        if self.run >= rule.max_run:
            return -rule.failure_penalty, True
        return -rule.penalty, False


class InvalidActionCounters:
    """:class:`InvalidActionCounter` for N copies of a native vector env (numpy arrays ``run``, ``total``)."""

    def __init__(self, rule: InvalidActionRule, n: int):
        self.rule = rule
        self.run = np.zeros(n, dtype=np.int64)
        self.total = np.zeros(n, dtype=np.int64)

    def reset(self, b: Any = slice(None)) -> None:
        self.run[b] = 0
        self.total[b] = 0

    def masked(self, b: np.ndarray) -> np.ndarray:
        """Copies b chose masked actions (``"noop"`` mode): count them; the bool array of those that fail."""
        self.total[b] += 1
        self.run[b] += 1
        return self.run[b] >= self.rule.max_run

    def valid(self, b: np.ndarray) -> None:
        """Copies b chose valid actions: their runs of masked actions are broken."""
        self.run[b] = 0
