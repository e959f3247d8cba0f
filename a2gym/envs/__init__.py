"""Gymnasium environments of a2gym, registered in the ``a2gym`` namespace on ``import a2gym``.

One package per env, each exporting its :class:`~a2gym.envs.spec.EnvSpec` as ``SPEC``:

* ``a2gym/Placement-v0`` (:mod:`.placement`, :class:`PlacementEnv`): open facilities one at a time, then STOP.
* ``a2gym/Scheduling-v0`` (:mod:`.scheduling`, :class:`SchedulingEnv`): pick (region, model, data version,
  type) per class.
* ``a2gym/GeoServe-v0`` (:mod:`.geoserve`, :class:`GeoServeEnv`): a day of slots; choose the deployed
  facilities each slot.
* ``a2gym/GeoServeCapacity-v0`` (:mod:`.geoserve_capacity`, :class:`GeoServeCapacityEnv`): a day of slots;
  choose instance counts, with provisioning delay and billing.

The modules beside them (``base``, ``demand``, ``invalid``, ``reward``, ``sets``, ``source``, ...) are what
the envs share; :mod:`.registration` holds the specs and registers them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from a2gym.envs.registration import SPECS, register_envs, register_spec, spec_of
from a2gym.envs.spec import EnvSpec

SUBMODULES = ("base", "demand", "geoserve", "geoserve_capacity", "geoserve_v1", "invalid", "placement",
              "registration", "reward", "scheduling", "source", "viewer")
"""Imported on first attribute access (``a2gym.envs.placement.PlacementEnv`` right after ``import a2gym``),
so ``import a2gym`` stays cheap."""


def __getattr__(name: str) -> ModuleType | Any:
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "ENVS":
        from a2gym.envs import registration

        return registration.ENVS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SPECS", "SUBMODULES", "EnvSpec", "register_envs", "register_spec", "spec_of"]
