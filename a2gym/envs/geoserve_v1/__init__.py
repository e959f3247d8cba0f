"""``a2gym/GeoServeCapacity-v0`` (formerly ``a2gym/GeoServe-v1``):
capacity decisions with provisioning delay, billing and capacity-limited routing.

Split as in Jumanji: :mod:`.dynamics` (fleet, billing, routing), :mod:`.env` (the Gymnasium env),
:mod:`.reference` (A2-Greedy re-solved per slot: reactive, forecast, oracle) and :mod:`.hindsight`
(the time-expanded MILP over the realised day).
"""

from a2gym.envs.geoserve_v1.env import GeoServeCapacityEnv, GeoServeV1Env

__all__ = ["GeoServeCapacityEnv", "GeoServeV1Env"]
