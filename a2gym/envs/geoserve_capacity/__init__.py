"""``a2gym/GeoServeCapacity-v0`` (formerly ``a2gym/GeoServe-v1``):
capacity decisions with provisioning delay, billing and capacity-limited routing.

Split as in Jumanji: :mod:`.dynamics` (fleet, billing, routing), :mod:`.env` (the Gymnasium env),
:mod:`.reference` (A2-Greedy re-solved per slot: reactive, forecast, oracle; the target-tracking autoscaler),
:mod:`.policy` (those references as policies), :mod:`.hindsight` (the time-expanded MILP over the realised
day) and :mod:`.spec` (its :class:`~a2gym.envs.spec.EnvSpec`, ``SPEC``). The names of :mod:`.env` are
attributes of this package (``from a2gym.envs.geoserve_capacity import GeoServeCapacityEnv``), imported on
first use so that reading ``SPEC`` imports no env. :mod:`a2gym.envs.geoserve_v1` is its old name.
"""

from a2gym.envs.geoserve_capacity.spec import SPEC
from a2gym.envs.spec import forward_attributes

__getattr__ = forward_attributes(__name__)

__all__ = ["SPEC"]
