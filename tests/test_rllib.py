"""``python -m agents.rllib`` (RLlib PPO, new API stack, action masking) on a real local Ray.

RLlib is the optional extra ``a2gym[rllib]``; its ``ray[rllib]`` pins an older gymnasium than the dev
stack, so CI runs this file in a second venv made the way RLlib users install (``.ci/run``), with
``A2GYM_REQUIRE_RLLIB=1``: there a missing RLlib fails the tests instead of skipping them. In the dev venv,
without RLlib, only the test of the error that names the extra runs.

Every run uses 2 env runners and 2 iterations of 256 env steps: enough to see each iteration sample steps,
the a2gym scalars, a checkpoint and evaluation records that replay.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import rllib

ROOT = Path(__file__).resolve().parent.parent
ENVS = ["a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServe-v0"]
SMALL = ["--hyperparams", "train_batch_size_per_learner=256", "minibatch_size=128", "num_epochs=1"]
REQUIRED = os.environ.get("A2GYM_REQUIRE_RLLIB", "") == "1"

needs_rllib = pytest.mark.skipif(not rllib.rllib_available() and not REQUIRED,
                                 reason='RLlib is not installed (pip install "a2gym[rllib]")')


def test_rllib_importable_where_required() -> None:
    """In CI's RLlib venv (A2GYM_REQUIRE_RLLIB=1) RLlib must import: the tests below must not skip there."""
    if REQUIRED:
        assert rllib.rllib_available()


@pytest.mark.skipif(rllib.rllib_available(), reason="RLlib is installed")
def test_without_rllib_the_error_names_the_extra(capsys: pytest.CaptureFixture[str]) -> None:
    assert rllib.main(["--env", ENVS[0], "--iterations", "1"]) == 2
    assert 'pip install "a2gym[rllib]"' in capsys.readouterr().err


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray with one CPU per env runner plus one; agents.rllib finds it initialised and uses it."""
    ray = pytest.importorskip("ray")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


def _tb_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _run(tmp_path: Path, *argv: str) -> Path:
    args = rllib.build_parser().parse_args(["--log-dir", str(tmp_path), *argv])
    return rllib.run(args, log=lambda line: print(line, file=sys.stderr))


@needs_rllib
@pytest.mark.parametrize("env_id", ENVS)
def test_masked_ppo_trains_two_iterations_with_two_env_runners(env_id: str, ray_local: Any,
                                                               tmp_path: Path) -> None:
    from a2gym.leaderboard.record import read_records
    from a2gym.leaderboard.validate import replay_problems

    run_dir = _run(tmp_path, "--env", env_id, "--iterations", "2", "--num-env-runners", "2",
                   "--eval-episodes", "1", "--checkpoint-freq", "1", *SMALL)
    scalars = _tb_scalars(run_dir)
    sampled = [v for _, v in scalars["rllib/num_env_steps_sampled"]]
    assert len(sampled) == 2 and 0 < sampled[0] < sampled[1], sampled
    assert all(v > 0 for _, v in scalars["a2gym/steps_per_second"])
    for tag in ("a2gym/score", "a2gym/episode_cost", "a2gym/cost_compute", "a2gym/reference_cost"):
        assert tag in scalars, sorted(scalars)
    assert all(v > 0 for _, v in scalars["a2gym/score"])
    assert (run_dir / "checkpoints" / "iter_000001").is_dir()
    assert (run_dir / "checkpoint" / rllib.MODULE_IN_CHECKPOINT).is_dir()
    assert "eval/score" in scalars
    _, records = read_records(run_dir / "eval.jsonl")
    assert len(records) == 1 and records[0].env_id == env_id and records[0].env_kwargs["action_mask_in_obs"]
    assert replay_problems(records[0]) == []


@needs_rllib
def test_geoserve_trains_with_default_kwargs_and_rllibs_default_module(ray_local: Any,
                                                                       tmp_path: Path) -> None:
    """'a2gym:a2gym/GeoServe-v0' as is: MultiDiscrete actions, every one a legal input."""
    run_dir = _run(tmp_path, "--env", "a2gym/GeoServe-v0", "--iterations", "2", "--num-env-runners", "2",
                   "--no-action-masking", "--eval-episodes", "0", *SMALL)
    sampled = [v for _, v in _tb_scalars(run_dir)["rllib/num_env_steps_sampled"]]
    assert len(sampled) == 2 and 0 < sampled[0] < sampled[1], sampled


@needs_rllib
@pytest.mark.parametrize("restart", [False, True])
def test_failing_env_runners_fail_the_run(restart: bool, ray_local: Any, tmp_path: Path) -> None:
    """Env runners that crash (a masked action in strict mode) fail the run, restarted by RLlib or not."""
    argv = ["--env", "a2gym/Scheduling-v0", "--iterations", "2", "--num-env-runners", "1",
            "--no-action-masking", "--env-kwargs", "invalid_action=raise", "--eval-episodes", "0", *SMALL]
    with pytest.raises(rllib.RLlibRunError, match="iteration 1"):
        _run(tmp_path, *argv, *(["--restart-failed-env-runners"] if restart else []))


@needs_rllib
@pytest.mark.parametrize(("argv", "message"), [
    (["--env", "a2gym/Placement-v0", "--iterations", "0"], "--iterations must be >= 1"),
    (["--env", "a2gym/Placement-v0", "--num-env-runners", "-1"], "--num-env-runners must be >= 0"),
    (["--env", "a2gym/Placemnt-v0"], "did you mean 'a2gym/Placement-v0'"),
    (["--env", "a2gym/Placement-v0", "--hyperparams", "learning_rate=1e-3"],
     "unknown RLlib PPO hyperparameter"),
    (["--env", "a2gym/Placement-v0", "--env-kwargs", "no_such_kwarg=1"], "--env-kwargs"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert rllib.main([*argv, "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "rllib_ppo").exists()  # nothing written for a rejected command line
