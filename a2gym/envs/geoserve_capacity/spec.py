"""The :class:`~a2gym.envs.spec.EnvSpec` of ``a2gym/GeoServeCapacity-v0``.

Its actions are instance counts, not a deployment set, so it has no target-to-action adaptor (the target
heuristics and the paper's restricted baselines do not play it), and no optimum row (a per-slot bound would
assume every request served, which this env does not require); the suite's optimum file holds its
hindsight days instead.
"""

from a2gym.envs.spec import EnvSpec

SPEC = EnvSpec(
    id="a2gym/GeoServeCapacity-v0",
    kind="geoserve",
    entry_point="a2gym.envs.geoserve_capacity.env:GeoServeCapacityEnv",
    env_class="a2gym.envs.geoserve_capacity.env:GeoServeCapacityEnv",
    reference="a2gym.envs.geoserve_capacity.policy:make_policy",
    reference_modes=("target-tracking", "reactive", "forecast", "oracle", "hindsight"),  # policy.MODES
    reserved_modes=("oracle", "reactive", "forecast"),
    hindsight=True,
    short_kwargs={"n_slots": 6, "slot_minutes": 60.0},
    violations=True,
)
