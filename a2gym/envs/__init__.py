"""Gymnasium environments of a2gym, registered in the ``a2gym`` namespace on ``import a2gym``.

* ``a2gym/Placement-v0`` (:class:`PlacementEnv`): open facilities one at a time, then STOP.
* ``a2gym/Scheduling-v0`` (:class:`SchedulingEnv`): pick (region, model, data version, type) per class.
* ``a2gym/GeoServe-v0`` (:class:`GeoServeEnv`): a day of slots; choose the deployed facilities each slot.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from a2gym.envs.registration import ENVS, register_envs

SUBMODULES = ("base", "demand", "geoserve", "invalid", "placement", "registration", "reward", "scheduling",
              "source", "viewer")
"""Imported on first attribute access (``a2gym.envs.placement.PlacementEnv`` right after ``import a2gym``),
so ``import a2gym`` stays cheap."""


def __getattr__(name: str) -> ModuleType:
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ENVS", "SUBMODULES", "register_envs"]
