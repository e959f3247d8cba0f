"""A :class:`Plan`: which facility and data version serve each request class, and how many instances run.

A plan is a list of *parts* ``(class r, facility i, data version d, fraction z)`` plus an instance
count ``n_i`` per facility. Fractions of a class should sum to 1 (A2-MILP constraint 1); whether they
do, and every other constraint, is checked by :func:`a2gym.evaluate`, which reports violations
instead of fixing them. Facilities are flat indices ``i = (k * |M| + m) * |H| + h``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from a2gym.errors import PlanError


@dataclasses.dataclass(frozen=True, eq=False)
class Plan:
    """An A² serving plan for one epoch.

    Attributes:
        cls: int [P], class index of each part.
        facility: int [P], flat facility index of each part.
        data: int [P], data version index of each part.
        fraction: float [P], share of the class's requests that the part carries, in (0, 1].
        instances: int [I], instance count n_i of every facility (0 = not deployed).
    """

    cls: np.ndarray
    facility: np.ndarray
    data: np.ndarray
    fraction: np.ndarray
    instances: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in (("cls", np.int64), ("facility", np.int64), ("data", np.int64),
                            ("fraction", float), ("instances", np.int64)):
            try:
                raw = np.asarray(getattr(self, name))
            except (ValueError, TypeError) as e:
                raise PlanError(f"Plan.{name} cannot be read as an array: {e}") from None
            if raw.ndim != 1:
                raise PlanError(f"Plan.{name} must be 1-D, got shape {raw.shape}")
            if raw.size and raw.dtype.kind not in "biuf":
                raise PlanError(f"Plan.{name} must hold numbers, got {raw[:3].tolist()!r:.80} ({raw.dtype})")
            if dtype is np.int64 and raw.size and raw.dtype.kind == "f":
                bad = ~np.isfinite(raw) | (raw != np.round(raw)) | (np.abs(raw) >= 2.0**63)
                if bad.any():
                    raise PlanError(f"Plan.{name} must hold integers, got {raw[bad][:3]}")
            if raw.dtype.kind == "u" and raw.size and raw.max() >= 2**63:
                raise PlanError(f"Plan.{name} holds a value out of the integer range: {raw.max()}")
            arr = np.array(raw, dtype=dtype)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        p = {len(self.cls), len(self.facility), len(self.data), len(self.fraction)}
        if len(p) != 1:
            raise PlanError(
                f"Plan parts must have equal lengths, got cls={len(self.cls)}, "
                f"facility={len(self.facility)}, "
                f"data={len(self.data)}, fraction={len(self.fraction)}"
            )

    @classmethod
    def from_assignment(cls, facility: Any, data: Any, instances: Any) -> Plan:
        """An integral plan: class r is served wholly by ``facility[r]`` with data version ``data[r]``."""
        facility = np.asarray(facility)
        return cls(cls=np.arange(len(facility)), facility=facility, data=np.asarray(data),
                   fraction=np.ones(len(facility)), instances=np.asarray(instances))

    @property
    def open_facilities(self) -> np.ndarray:
        """Flat indices of facilities with at least one instance."""
        return np.flatnonzero(self.instances > 0)

    @property
    def is_integral(self) -> bool:
        """Every class served by exactly one part of fraction 1."""
        return bool(np.all(self.fraction == 1.0) and len(np.unique(self.cls)) == len(self.cls))

    def assignment(self, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """(facility [R], data version [R]) of an integral plan serving each of ``n_classes`` classes once."""
        if not self.is_integral or len(self.cls) != n_classes:
            raise PlanError(
                f"the plan is not integral over {n_classes} classes (one part of fraction 1 per class)"
            )
        fac = np.empty(n_classes, dtype=np.int64)
        data = np.empty(n_classes, dtype=np.int64)
        fac[self.cls], data[self.cls] = self.facility, self.data
        return fac, data

    def to_dict(self) -> dict[str, list]:
        """JSON-ready form (lists)."""
        return {k: getattr(self, k).tolist() for k in ("cls", "facility", "data", "fraction", "instances")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        missing = [k for k in ("cls", "facility", "data", "fraction", "instances") if k not in d]
        if missing:
            raise PlanError(f"plan is missing field(s): {', '.join(missing)}")
        return cls(**{k: d[k] for k in ("cls", "facility", "data", "fraction", "instances")})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plan) and all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("cls", "facility", "data", "fraction", "instances")
        )

    __hash__ = None  # type: ignore[assignment]
