"""``a2gym/Scheduling-v0``: pick (region, model, data version, instance type) for one class per step.

:mod:`.env` holds the env (:class:`SchedulingEnv`, its tables and :class:`SchedulingVectorEnv`),
:mod:`.policy` its target-to-action adaptor and :mod:`.spec` its :class:`~a2gym.envs.spec.EnvSpec`
(``SPEC``). The names of :mod:`.env` are attributes of this package
(``from a2gym.envs.scheduling import SchedulingEnv``), imported on first use so that reading ``SPEC``
imports no env.
"""

from a2gym.envs.scheduling.spec import SPEC
from a2gym.envs.spec import forward_attributes

__getattr__ = forward_attributes(__name__)

__all__ = ["SPEC"]
