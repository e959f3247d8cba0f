"""``a2gym/Placement-v0``: open facilities one at a time, then STOP; each class goes to its cheapest open one.

:mod:`.env` holds the env (:class:`PlacementEnv`, its tables and :class:`PlacementVectorEnv`), :mod:`.policy`
its target-to-action adaptor and :mod:`.spec` its :class:`~a2gym.envs.spec.EnvSpec` (``SPEC``). The names of
:mod:`.env` are attributes of this package (``from a2gym.envs.placement import PlacementEnv``), imported on
first use so that reading ``SPEC`` imports no env.
"""

from a2gym.envs.placement.spec import SPEC
from a2gym.envs.spec import forward_attributes

__getattr__ = forward_attributes(__name__)

__all__ = ["SPEC"]
