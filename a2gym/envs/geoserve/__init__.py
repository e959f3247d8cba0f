"""``a2gym/GeoServe-v0``: a day of slots; each slot, choose the deployed facilities (instant autoscaling).

:mod:`.env` holds the env (:class:`GeoServeEnv`, its tables and per-slot plans), :mod:`.policy` its
reference (myopic, oracle) and target-to-action adaptor, and :mod:`.spec` its
:class:`~a2gym.envs.spec.EnvSpec` (``SPEC``). The names of :mod:`.env` are attributes of this package
(``from a2gym.envs.geoserve import GeoServeEnv``), imported on first use so that reading ``SPEC`` imports
no env.
"""

from a2gym.envs.geoserve.spec import SPEC
from a2gym.envs.spec import forward_attributes

__getattr__ = forward_attributes(__name__)

__all__ = ["SPEC"]
