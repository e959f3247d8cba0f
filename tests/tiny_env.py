"""A fifth env defined outside the library, for the spec tests: Placement whose STOP comes first in the
observation's docs only, i.e. a plain subclass with its own class, id and :class:`EnvSpec`.

Registering :data:`SPEC` (``register_spec``) is all it takes for the generic env harness
(``tests/test_envs.py``), the reference policy, the heuristics and the leaderboard's reserved rows to know it.
"""

from __future__ import annotations

from a2gym.envs.placement.env import PlacementEnv
from a2gym.envs.spec import EPOCH_OPTIMUM, EnvSpec


class TinyEnv(PlacementEnv):
    """Placement-v0's dynamics under another class and id (its own spec, nothing else)."""


SPEC = EnvSpec(
    id="a2gym/TinyPlacement-v0",
    kind="placement",
    entry_point="tests.tiny_env:TinyEnv",
    env_class="tests.tiny_env:TinyEnv",
    reference="a2gym.envs.reward:plan_reference",
    target_adaptor="a2gym.envs.placement.policy:target_adaptor",
    seed_free=True,
    optimum=EPOCH_OPTIMUM,
)

ENV_VAR = "A2GYM_TEST_TINY_ENV"
"""Set to 1 to make ``tests/env_checks.py`` register :data:`SPEC` before it lists the envs to test."""
