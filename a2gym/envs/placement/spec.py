"""The :class:`~a2gym.envs.spec.EnvSpec` of ``a2gym/Placement-v0``."""

from a2gym.envs.spec import EPOCH_OPTIMUM, EnvSpec

SPEC = EnvSpec(
    id="a2gym/Placement-v0",
    kind="placement",
    entry_point="a2gym.envs.sets_envs:make_placement",  # picks the plain or the sets observation
    vector_entry_point="a2gym.envs.placement.env:PlacementVectorEnv",
    env_class="a2gym.envs.placement.env:PlacementEnv",
    reference="a2gym.envs.reward:plan_reference",
    target_adaptor="a2gym.envs.placement.policy:target_adaptor",
    seed_free=True,
    optimum=EPOCH_OPTIMUM,
)
