"""Every forgery class of issue 12 is refused with the file, the line and the reason.

A forger edits a results file so that it still *replays* (the outcome fields are recomputed from the
edited actions); re-execution (``a2gym validate --rerun``, which ``a2gym leaderboard build`` runs)
catches what replay cannot. Built on the tiny suite of ``test_leaderboard`` (two small scenarios).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2gym.cli import main
from a2gym.errors import RecordError
from a2gym.leaderboard import suite as suite_mod
from a2gym.leaderboard.episode import replay
from a2gym.leaderboard.record import read_records, write_records
from a2gym.leaderboard.validate import validate_files
from tests.test_leaderboard import TINY


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A leaderboard folder with the cheapest and random heuristics evaluated on the tiny suite."""
    d = tmp_path_factory.mktemp("lb")
    mp = pytest.MonkeyPatch()
    mp.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    try:
        for spec in ("cheapest", "random"):
            res = CliRunner().invoke(main, ["eval", "--policy", spec, "--out", str(d / f"{spec}.jsonl"),
                                            "--description", "a | b\n| 9 | fake | row |"])
            assert res.exit_code == 0, res.output
    finally:
        mp.undo()
    return d


def _replayed(rec):
    """The record with its outcome recomputed from its actions: what a careful forger submits."""
    rep = replay(rec.env_id, rec.scenario_uri, rec.env_kwargs, rec.seed, rec.actions)
    return dataclasses.replace(rec, cost=rep.cost, cost_breakdown=rep.cost_breakdown, return_=rep.return_,
                               violations=rep.violations)


def _forge(src: Path, dst: Path, header=None, change=None) -> Path:
    h, recs = read_records(src)
    recs = [_replayed(r) for r in change(recs)] if change else recs
    return write_records(dst, header or h, recs)


def _problems(path: Path, rerun: bool = True) -> list[str]:
    return validate_files([path], rerun=rerun)[1]


def test_the_honest_entries_rerun(entries: Path, tiny: None) -> None:
    assert _problems(entries / "random.jsonl") == []


def test_one_seeds_best_actions_copied_to_every_seed_are_caught_by_rerun(entries: Path, tmp_path: Path,
                                                                           tiny: None) -> None:
    def copy_best(recs):
        best = min(recs, key=lambda r: r.cost)
        return [dataclasses.replace(r, actions=best.actions) if r.scenario_uri == best.scenario_uri else r
                for r in recs]

    bad = _forge(entries / "random.jsonl", tmp_path / "random.jsonl", change=copy_best)
    assert _problems(bad, rerun=False) == []  # replay alone is fooled: Placement ignores the seed
    problems = _problems(bad)
    assert problems and all(p.startswith(f"{bad}:") and "re-run differs at step" in p for p in problems)


def test_a_single_differing_action_is_caught(tmp_path: Path) -> None:
    """Scheduling: one class served elsewhere (a valid action, outcome recomputed) -> replay passes, rerun
    fails."""
    import numpy as np

    from a2gym.leaderboard.episode import suite_env
    from a2gym.leaderboard.evaluate import evaluate_episode, make_header
    from a2gym.leaderboard.policy import resolve_policy

    env_id, uri = "a2gym/Scheduling-v0", TINY.entries[0].scenarios[0]
    policy = resolve_policy("cheapest")
    rec = evaluate_episode(env_id, {}, uri, 10_000, policy)
    env = suite_env(env_id, uri, {})
    _, info = env.reset(seed=rec.seed)
    for a in rec.actions[:2]:
        _, _, _, _, info = env.step(a)
    other = next(int(a) for a in np.flatnonzero(info["action_mask"]) if a != rec.actions[2])
    forged = _replayed(dataclasses.replace(rec, actions=[*rec.actions[:2], other, *rec.actions[3:]]))
    bad = write_records(tmp_path / "x.jsonl", make_header(policy, None, None, "", None), [forged])
    assert _problems(bad, rerun=False) == []
    assert _problems(bad) == [f"{bad}:2: re-run differs at step 2: recorded {other}, the policy chose "
                              f"{rec.actions[2]}"]


def test_another_policys_records_renamed_are_caught(entries: Path, tmp_path: Path, tiny: None) -> None:
    h, _ = read_records(entries / "cheapest.jsonl")
    bad = _forge(entries / "cheapest.jsonl", tmp_path / "x.jsonl",
                 header=dataclasses.replace(h, name="origin-local", policy="origin-local"))
    problems = _problems(bad)
    assert problems and all("re-run differs" in p for p in problems) and problems[0].startswith(f"{bad}:2:")


def test_reserved_names_cannot_be_submitted(entries: Path, tmp_path: Path) -> None:
    lines = (entries / "cheapest.jsonl").read_text().splitlines()
    d = json.loads(lines[0])
    d["name"] = "reference"
    bad = tmp_path / "reference.jsonl"
    bad.write_text("\n".join([json.dumps(d), *lines[1:]]) + "\n")
    problems = _problems(bad, rerun=False)
    assert problems[0].startswith(f"{bad}:1:") and "reserved" in problems[0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("policy_sha256", "0" * 64, "the header pins"),
    ("a2gym_version", "latest", "is not a version number"),
    ("name", "a\n| 1 | fake |", "must match"),
    ("policy", "x" * 600, "policy must be"),
])
def test_edited_declarations_are_refused(
    entries: Path, tmp_path: Path, tiny: None, field, value, message
) -> None:
    lines = (entries / "cheapest.jsonl").read_text().splitlines()
    d = json.loads(lines[0])
    d[field] = value
    bad = tmp_path / "x.jsonl"
    bad.write_text("\n".join([json.dumps(d), *lines[1:]]) + "\n")
    problems = _problems(bad)
    assert problems and any(message in p for p in problems), problems
    assert problems[0].split(":")[0] == str(bad) and problems[0].split(":")[1] in ("1", "2")


def test_repeated_keys_are_refused_with_the_line(entries: Path, tmp_path: Path) -> None:
    lines = (entries / "cheapest.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace('"cost": ', '"cost": 0.001, "cost": ', 1)
    bad = tmp_path / "x.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    assert any(p.startswith(f"{bad}:4:") and "repeated key 'cost'" in p for p in _problems(bad, rerun=False))


def test_tampered_outcome_is_refused_by_replay(entries: Path, tmp_path: Path) -> None:
    lines = (entries / "cheapest.jsonl").read_text().splitlines()
    d = json.loads(lines[2])
    d["cost"] *= 0.5
    lines[2] = json.dumps(d)
    bad = tmp_path / "x.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["validate", str(bad)])
    assert res.exit_code == 1 and f"{bad}:3: cost" in res.output


def test_build_ranks_the_entries_and_check_catches_a_stale_table_or_chart(entries: Path, tmp_path: Path,
                                                                         tiny: None) -> None:
    d = tmp_path / "lb"
    shutil.copytree(entries, d)
    out = tmp_path / "LEADERBOARD.md"
    res = CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = out.read_text()
    assert "| *reference* | 1.000 | [1.000, 1.000]" in md and "*optimum*" in md and "*local-greedy*" in md
    assert "| 9 | fake |" not in md and "a \\| b" in md  # the description was escaped
    assert CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out),
                                     "--check"]).exit_code == 0
    png = (d / "leaderboard.png").read_bytes()
    shutil.copy(
        Path(__file__).resolve().parent.parent / "leaderboard" / "leaderboard.png", d / "leaderboard.png"
    )
    res = CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out), "--check"])
    assert res.exit_code == 1 and "leaderboard.png" in res.output
    (d / "leaderboard.png").write_bytes(png)
    out.write_text(md.replace("1.000", "2.000", 1))
    res = CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out), "--check"])
    assert res.exit_code == 1 and "LEADERBOARD.md" in res.output


def test_build_refuses_cherry_picked_seeds(entries: Path, tmp_path: Path, tiny: None) -> None:
    from a2gym.leaderboard.build import suite_problems

    h, recs = read_records(entries / "random.jsonl")
    lucky = [r for r in recs if not (r.scenario_uri == recs[0].scenario_uri and r.seed == 10_003)]
    path = str(tmp_path / "x.jsonl")
    assert suite_problems({path: (h, recs)}, TINY) == []
    assert any("first n seeds" in p for p in suite_problems({path: (h, lucky)}, TINY))
    other = dataclasses.replace(h, suite="a2-test-v0")
    assert any(p.startswith(f"{path}:1:") for p in suite_problems({path: (other, recs)}, TINY))


def test_a_scaled_or_nan_optimum_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from a2gym.leaderboard import episode, reserved
    from a2gym.leaderboard.suite import OPTIMUM_FILE

    src = episode.scenario_dir()
    dst = tmp_path / "scenarios"
    shutil.copytree(src, dst)
    monkeypatch.setattr(reserved, "scenario_dir", lambda: dst)
    assert reserved.read_optimum()["scenarios"]
    text = (dst / OPTIMUM_FILE).read_text()
    for forged in (text.replace('"value": ', '"value": 0.5 * ', 0).replace('"value": 1', '"value": 9', 1),
                   text.replace('"value": 1', '"value": NaN', 1)):
        (dst / OPTIMUM_FILE).write_text(forged)
        with pytest.raises(RecordError, match="was changed"):
            reserved.read_optimum()
