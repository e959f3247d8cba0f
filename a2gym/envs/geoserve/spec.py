"""The :class:`~a2gym.envs.spec.EnvSpec` of ``a2gym/GeoServe-v0``."""

from a2gym.envs.spec import SLOT_BOUNDS, EnvSpec

SPEC = EnvSpec(
    id="a2gym/GeoServe-v0",
    kind="geoserve",
    entry_point="a2gym.envs.geoserve.env:GeoServeEnv",
    env_class="a2gym.envs.geoserve.env:GeoServeEnv",
    reference="a2gym.envs.geoserve.policy:reference_policy",
    reference_modes=("myopic", "oracle"),  # a2gym.envs.geoserve.policy.MODES
    reserved_modes=("oracle",),
    target_adaptor="a2gym.envs.geoserve.policy:target_adaptor",
    optimum=SLOT_BOUNDS,
    short_kwargs={"n_slots": 6, "slot_minutes": 60.0},
    violations=True,
)
