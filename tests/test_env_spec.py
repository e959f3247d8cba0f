"""The env specs: every env is one spec, and a spec registered from outside the library (a fifth env,
:mod:`tests.tiny_env`) gets the whole generic env harness, the reference policy, the heuristics and the
leaderboard's reserved rows without any other change."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import a2gym
from a2gym.envs.registration import PACKAGES, SPECS, register_spec, spec_of, spec_of_env, unregister_spec
from a2gym.envs.spec import EnvSpec, load_object
from tests import tiny_env
from tests.env_checks import SMALL, check_no_smoke

ROOT = Path(__file__).resolve().parents[1]


def test_every_env_package_exports_the_spec_of_a_registered_id():
    for name in PACKAGES:
        spec = __import__(f"a2gym.envs.{name}", fromlist=["SPEC"]).SPEC
        assert SPECS[spec.id] is spec and spec.id in gym.registry
        cls = load_object(spec.env_class)
        assert f"{cls.__module__}:{cls.__qualname__}" == spec.env_class
        assert callable(load_object(spec.entry_point)) and callable(load_object(spec.reference))
        assert spec.target_adaptor is None or callable(load_object(spec.target_adaptor))
        for mode in spec.reference_modes:
            env = gym.make(spec.id, scenario=SMALL, **spec.short_kwargs)
            check_no_smoke(env, policy=a2gym.policies.reference_policy(env, mode))


def test_old_import_paths_still_work():
    from a2gym.envs.geoserve import GeoServeEnv
    from a2gym.envs.geoserve_v1 import GeoServeCapacityEnv, GeoServeV1Env
    from a2gym.envs.placement import PlacementEnv, open_next
    from a2gym.envs.scheduling import SchedulingEnv, SchedulingTables

    V1Tables = importlib.import_module("a2gym.envs.geoserve_v1.dynamics").V1Tables  # a module's old name
    TargetTracker = importlib.import_module("a2gym.envs.geoserve_v1.reference").TargetTracker
    assert GeoServeCapacityEnv is GeoServeV1Env and V1Tables.__module__.endswith("geoserve_capacity.dynamics")
    assert TargetTracker and GeoServeEnv and PlacementEnv and open_next and SchedulingEnv and SchedulingTables
    assert a2gym.envs.ENVS["a2gym/Placement-v0"][1] == "a2gym.envs.placement.env:PlacementVectorEnv"


def test_spec_lookups_and_refusals():
    assert spec_of("a2gym/GeoServe-v1").id == "a2gym/GeoServeCapacity-v0"  # a retired id: its successor's
    with pytest.raises(ValueError, match="not an a2gym env"):
        spec_of("a2gym/Nope-v0")
    assert spec_of_env(object()) is None
    with pytest.raises(ValueError, match="reserved_modes"):
        EnvSpec("x/Y-v0", "placement", "m:f", "m:C", "m:r", reserved_modes=("oracle",))
    with pytest.raises(ValueError, match="another spec"):
        register_spec(EnvSpec("a2gym/Placement-v0", "placement", "m:f", "m:C", "m:r"))


def test_a_registered_extra_spec_gets_reference_heuristics_and_reserved_rows():
    from a2gym.heuristics import context_of, make_heuristic
    from a2gym.leaderboard.reserved import _makers, seed_free

    register_spec(tiny_env.SPEC)
    try:
        env = gym.make(tiny_env.SPEC.id, scenario=SMALL)
        assert spec_of_env(env) is tiny_env.SPEC
        ret = check_no_smoke(env, policy=a2gym.policies.reference_policy(env))
        assert ret == pytest.approx(-1.0, abs=1e-9)
        check_no_smoke(env, seed=1, policy=make_heuristic("origin-local", context_of(env, 1)))
        assert list(_makers(tiny_env.SPEC.id)) == list(_makers("a2gym/Placement-v0"))
        assert seed_free(tiny_env.SPEC.id)
    finally:
        unregister_spec(tiny_env.SPEC.id)
    assert tiny_env.SPEC.id not in SPECS and tiny_env.SPEC.id not in gym.registry


def test_the_generic_env_harness_runs_on_an_extra_spec():
    """``tests/test_envs.py`` in a fresh process with the tiny env registered: every generic test of it
    passes, and there are as many as for GeoServeCapacity-v0 (which, like it, no test names by id)."""
    env = {**os.environ, tiny_env.ENV_VAR: "1", "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_envs.py"]
    out = subprocess.run([*args, "-k", "TinyPlacement"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]
    ran = int(out.stdout.strip().splitlines()[-1].split()[0])
    plain = subprocess.run([*args, "--collect-only", "-k", "GeoServeCapacity"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert f"{ran}/" in plain.stdout.strip().splitlines()[-1] and ran >= 20
