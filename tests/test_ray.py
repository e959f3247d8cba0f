"""The Ray path of the leaderboard (``a2gym eval --ray``, ``a2gym validate --ray``) on a real local Ray.

Ray is the optional extra ``a2gym[ray]`` (installed by ``dev``, so CI runs these); without it the tests
that need a cluster skip and the one that checks the error naming the extra still runs. Episodes run
on Placement, the quickest env of ``a2-test-v0``, with the suite's minimum of 5 seeds.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from a2gym.cli import main
from a2gym.errors import RecordError
from a2gym.leaderboard.record import read_records
from a2gym.leaderboard.suite import A2_TEST_V0, MIN_SEEDS, SuiteEntry

ENV = "a2gym/Placement-v0"
EVAL = ["--suite", "a2-test-v0", "--seeds", str(MIN_SEEDS), "--env", ENV]


def first_unmasked(ctx: Any) -> Any:
    """A MODULE:OBJECT factory (``tests.test_ray:first_unmasked``): the first action the mask allows."""
    return lambda obs, info: int(np.flatnonzero(info["action_mask"])[0])


def bad_action(obs: Any, info: dict[str, Any]) -> Any:
    """A policy object (``tests.test_ray:bad_action``) whose action cannot be recorded."""
    return "not an action"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray of 2 CPUs for the module; the --ray commands find it initialised and leave it running."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def outputs(ray_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``{seq,ray}-{reference,random}.jsonl``: each policy evaluated sequentially and with --ray."""
    d = tmp_path_factory.mktemp("ray")
    for spec in ("origin-local", "random"):
        for mode, extra in (("seq", []), ("ray", ["--ray"])):
            res = _invoke("eval", "--policy", spec, *EVAL, *extra, "--out", str(d / f"{mode}-{spec}.jsonl"))
            assert res.exit_code == 0, res.output
    return d


def _without_wall_time(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines()[1:]:
        d = json.loads(line)
        assert isinstance(d.pop("wall_time_s"), float)
        out.append(d)
    return out


@pytest.mark.parametrize("spec", ["origin-local", "random"])
def test_ray_eval_equals_sequential(outputs: Path, spec: str) -> None:
    seq, par = outputs / f"seq-{spec}.jsonl", outputs / f"ray-{spec}.jsonl"
    assert read_records(par) == read_records(seq)
    assert len(read_records(par)[1]) == len(A2_TEST_V0.entry(ENV).scenarios) * MIN_SEEDS
    assert _without_wall_time(par) == _without_wall_time(seq)  # same lines, same key order, but wall time


def test_validate_ray_accepts_the_records(outputs: Path) -> None:
    files = [str(outputs / f"ray-{spec}.jsonl") for spec in ("origin-local", "random")]
    res = _invoke("validate", "--ray", *files)
    assert res.exit_code == 0, res.output
    assert "30 record(s) in 2 file(s) replay exactly" in res.output


def test_validate_ray_rejects_a_tampered_record_like_sequential(outputs: Path, tmp_path: Path) -> None:
    from a2gym.leaderboard.distributed import validate_files_ray
    from a2gym.leaderboard.validate import validate_files

    lines = (outputs / "ray-random.jsonl").read_text().splitlines()
    d = json.loads(lines[2])
    d["cost"] = 12.5
    lines[2] = json.dumps(d)  # line 3: the second record
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    res = _invoke("validate", "--ray", str(bad))
    assert res.exit_code == 1
    assert f"{bad}:3: cost 12.5 != replayed" in res.output
    assert validate_files_ray([str(bad)]) == validate_files([bad])


def test_module_object_policy_is_resolved_in_the_workers(ray_cluster: Any) -> None:
    from a2gym.leaderboard.distributed import evaluate_suite_ray
    from a2gym.leaderboard.evaluate import evaluate_suite

    entry = A2_TEST_V0.entry(ENV)
    suite = dataclasses.replace(A2_TEST_V0, entries=(SuiteEntry(ENV, entry.env_kwargs, entry.scenarios[1:2]),))
    from a2gym.leaderboard.policy import resolve_policy

    spec = "tests.test_ray:first_unmasked"
    assert list(evaluate_suite_ray(spec, suite)) == list(evaluate_suite(resolve_policy(spec), suite))
    with pytest.raises(RecordError, match="is not an integer"):
        list(evaluate_suite_ray("tests.test_ray:bad_action", suite))


def test_ray_options_need_ray() -> None:
    res = _invoke("eval", "--policy", "random", *EVAL, "--ray-address", "auto", "--out", "x.jsonl")
    assert res.exit_code == 2 and "--ray-address and --ray-num-cpus need --ray" in res.output


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    res = _invoke("validate", "--ray", str(tmp_path / "x.jsonl"))
    assert res.exit_code == 2
    assert 'pip install "a2gym[ray]"' in res.output
