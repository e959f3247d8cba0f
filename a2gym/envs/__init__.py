"""Gymnasium environments of a2gym, registered in the ``a2gym`` namespace on ``import a2gym``.

* ``a2gym/Placement-v0`` (:class:`PlacementEnv`): open facilities one at a time, then STOP.
* ``a2gym/Scheduling-v0`` (:class:`SchedulingEnv`): pick (region, model, data version, type) per class.
* ``a2gym/GeoServe-v0`` (:class:`GeoServeEnv`): a day of slots; choose the deployed facilities each slot.
"""

from a2gym.envs.registration import ENVS, register_envs

__all__ = ["ENVS", "register_envs"]
