"""The old name of :mod:`a2gym.envs.geoserve_capacity` (until the env packages): the same modules under
their old names, so ``from a2gym.envs.geoserve_v1.dynamics import V1Tables`` and pickles naming them still
work. New code imports :mod:`a2gym.envs.geoserve_capacity`."""

import sys

from a2gym.envs.geoserve_capacity import dynamics, env, hindsight, policy, reference
from a2gym.envs.geoserve_capacity.env import GeoServeCapacityEnv, GeoServeV1Env

for _module in (dynamics, env, hindsight, policy, reference):
    sys.modules[f"{__name__}.{_module.__name__.rsplit('.', 1)[-1]}"] = _module

__all__ = ["GeoServeCapacityEnv", "GeoServeV1Env", "dynamics", "env", "hindsight", "policy", "reference"]
