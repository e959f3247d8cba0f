"""The :class:`~a2gym.envs.spec.EnvSpec` of ``a2gym/Scheduling-v0``."""

from a2gym.envs.spec import EPOCH_OPTIMUM, EnvSpec

SPEC = EnvSpec(
    id="a2gym/Scheduling-v0",
    kind="scheduling",
    entry_point="a2gym.envs.sets_envs:make_scheduling",  # picks the plain or the sets observation
    vector_entry_point="a2gym.envs.scheduling.env:SchedulingVectorEnv",
    env_class="a2gym.envs.scheduling.env:SchedulingEnv",
    reference="a2gym.envs.reward:plan_reference",
    target_adaptor="a2gym.envs.scheduling.policy:target_adaptor",
    seed_free=True,
    optimum=EPOCH_OPTIMUM,
)
