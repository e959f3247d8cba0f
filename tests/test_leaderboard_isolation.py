"""Entry code is untrusted: it runs in a worker process, never in the scorer (issue 18).

One test per class of attack (the hostile policies are in ``tests/lb_attacks.py``): a policy that exits
its process, raises SystemExit, patches the scorer's modules, walks the stack for the env, sleeps,
prints into the protocol or answers garbage cannot change a score or a check's exit code; a code entry
pins every repository file it loads; scores come from the scorer's replay, not the recorded cost;
reserved names are refused in any case or Unicode form; times are >= 0; specs stay in the repository.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2gym.cli import main
from a2gym.errors import RecordError
from a2gym.leaderboard import suite as suite_mod
from a2gym.leaderboard import worker as worker_mod
from a2gym.leaderboard.entry import check_name
from a2gym.leaderboard.episode import replay
from a2gym.leaderboard.record import EpisodeRecord, read_records, write_records
from a2gym.leaderboard.validate import validate_entries, validate_files
from tests.test_leaderboard import TINY


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)


def _eval(out: Path, spec: str, *extra: str):
    return CliRunner().invoke(main, ["eval", "--policy", spec, "--name", "x", "--not-trained-on-test",
                                     "--seeds", "5", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An honest code entry on the tiny suite, playing through a helper module (its closure)."""
    out = tmp_path_factory.mktemp("iso") / "helper.jsonl"
    mp = pytest.MonkeyPatch()
    mp.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    try:
        res = _eval(out, "tests.lb_attacks:uses_helper")
        assert res.exit_code == 0, res.output
    finally:
        mp.undo()
    return out


def _as_policy(src: Path, dst: Path, spec: str) -> Path:
    """``src``'s records under a header naming ``spec`` (with its real module hash and files digest)."""
    import hashlib

    h, recs = read_records(src)
    module = Path(__file__).with_name("lb_attacks.py")
    h = dataclasses.replace(h, policy=spec, policy_sha256=hashlib.sha256(module.read_bytes()).hexdigest())
    return write_records(dst, h, recs)


def test_the_scorer_never_imports_entry_code(honest: Path, tiny: None) -> None:
    assert "tests.lb_attacks" not in sys.modules and "tests.lb_helper" not in sys.modules
    assert validate_files([honest], rerun=True)[1] == []
    assert "tests.lb_attacks" not in sys.modules and "tests.lb_helper" not in sys.modules


def test_the_entry_pins_every_repository_file_it_loads(honest: Path, tiny: None, tmp_path: Path) -> None:
    from a2gym.leaderboard.closure import contexts, policy_closure
    from a2gym.leaderboard.policy import resolve_policy

    h, recs = read_records(honest)
    policy = resolve_policy(h.policy)
    try:
        c = policy_closure(policy, contexts([(r.env_id, r.env_kwargs, r.scenario_uri, r.seed) for r in recs]))
    finally:
        policy.close()
    assert c is not None and {"tests/lb_attacks.py", "tests/lb_helper.py"} <= c.files
    assert not any(f.startswith("a2gym/") for f in c.files) and h.policy_files_sha256 == c.digest
    # a changed file it imports (here: a digest that no longer matches) fails the re-run
    bad = write_records(tmp_path / "b.jsonl", dataclasses.replace(h, policy_files_sha256="0" * 64), recs)
    problems = validate_files([bad], rerun=True)[1]
    assert len(problems) == 1 and "a file it loads has changed" in problems[0], problems
    # an entry that pins no files cannot be re-executed (it can still be replayed)
    old = write_records(tmp_path / "o.jsonl", dataclasses.replace(h, policy_files_sha256=None), recs)
    assert validate_files([old])[1] == []
    problems = validate_files([old], rerun=True)[1]
    assert len(problems) == 1 and "a2gym leaderboard pin" in problems[0]


@pytest.mark.parametrize(("spec", "message"), [
    ("tests.lb_attacks:exits", "the worker exited (code 0)"),
    ("tests.lb_attacks:system_exit", "SystemExit: 7"),
    ("tests.lb_attacks:bad_action", "is not an integer"),
])
def test_a_policy_that_exits_or_breaks_the_protocol_fails_its_entry_in_one_line(
        honest: Path, tiny: None, tmp_path: Path, spec: str, message: str) -> None:
    res = _eval(tmp_path / "e.jsonl", spec)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output
    # and as a committed entry: validate --rerun exits 1 naming the file, it is not ended by the policy
    forged = _as_policy(honest, tmp_path / "f.jsonl", spec)
    res = CliRunner().invoke(main, ["validate", "--rerun", str(forged)])
    assert res.exit_code == 1 and f"{forged}:2: re-run failed" in res.output and message in res.output, \
        res.output


def test_a_policy_that_patches_the_scorer_changes_nothing(honest: Path, tiny: None, tmp_path: Path) -> None:
    import a2gym.leaderboard.build as build
    import a2gym.leaderboard.rerun as rerun

    score_env, first_difference = build.score_env, rerun.first_difference
    out = tmp_path / "p.jsonl"
    res = _eval(out, "tests.lb_attacks:patch_scorer")
    assert res.exit_code == 0, res.output
    assert build.score_env is score_env and rerun.first_difference is first_difference
    h, recs = read_records(out)

    def forge(r: EpisodeRecord) -> EpisodeRecord:  # the last step changed, outcome replayed: replay passes
        acts = [*r.actions[:-2], r.actions[-1]]
        rep = replay(r.env_id, r.scenario_uri, r.env_kwargs, r.seed, acts)
        return dataclasses.replace(r, actions=acts, cost=rep.cost, cost_breakdown=rep.cost_breakdown,
                                   return_=rep.return_, violations=rep.violations)

    try:
        forged = write_records(tmp_path / "f.jsonl", h, [forge(recs[0]), *recs[1:]])
    except RecordError:
        pytest.skip("this scenario has no shorter valid episode")
    if validate_files([forged])[1]:
        pytest.skip("the shortened episode does not replay")
    res = CliRunner().invoke(main, ["validate", "--rerun", str(forged)])
    assert res.exit_code == 1 and "re-run" in res.output, res.output


def test_a_policy_cannot_reach_the_env_through_stack_frames(tiny: None, tmp_path: Path) -> None:
    res = _eval(tmp_path / "w.jsonl", "tests.lb_attacks:walk_frames")
    assert res.exit_code == 0, res.output


def test_printing_into_stdout_does_not_break_the_protocol(tiny: None, tmp_path: Path) -> None:
    res = _eval(tmp_path / "p.jsonl", "tests.lb_attacks:prints")
    assert res.exit_code == 0, res.output


def test_a_policy_that_sleeps_is_stopped_at_its_time_limit(tiny: None, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_mod, "STEP_TIMEOUT_S", 2.0)
    t0 = time.monotonic()
    res = _eval(tmp_path / "s.jsonl", "tests.lb_attacks:sleeps")
    assert res.exit_code == 2 and "no answer within its time limit" in res.output, res.output
    assert time.monotonic() - t0 < 60


def test_a_spec_outside_the_repository_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "mine.py"
    f.write_text("def policy(obs, info):\n    return 0\n")
    res = _eval(tmp_path / "o.jsonl", f"{f}:policy")
    assert res.exit_code == 2 and "outside the repository" in res.output, res.output


@pytest.mark.parametrize("name", ["Reference", "REFERENCE", "Optimum", "ＲＥＦＥＲＥＮＣＥ", "oracle",
                                  "Local-Greedy"])
def test_reserved_names_are_refused_in_any_case_and_unicode_form(name: str) -> None:
    with pytest.raises(RecordError, match="reserved|must match"):
        check_name(name)


def test_negative_wall_time_is_refused(honest: Path, tmp_path: Path) -> None:
    h, recs = read_records(honest)
    negative = dataclasses.replace(recs[0], wall_time_s=-500.0)
    bad = write_records(tmp_path / "n.jsonl", h, [negative, *recs[1:]])
    problems = validate_files([bad])[1]
    assert len(problems) == 1 and "wall_time_s" in problems[0] and ">= 0" in problems[0], problems


def test_scores_use_the_scorers_costs_not_the_recorded_ones(honest: Path, tiny: None, tmp_path: Path) -> None:
    h, recs = read_records(honest)
    shaved = [dataclasses.replace(r, cost=r.cost * (1 - 9e-7)) for r in recs]  # within replay's tolerance
    f = write_records(tmp_path / "s.jsonl", h, shaved)
    v = validate_entries([f], rerun=True)
    assert v.problems == []
    assert [r.cost for r in v.entries[str(f)][1]] == [r.cost for r in recs]


def test_the_worker_has_a_memory_limit(tiny: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_mod, "MEMORY_LIMIT_BYTES", 2 * 2**30)
    res = _eval(tmp_path / "m.jsonl", "tests.lb_attacks:hog_memory")
    assert res.exit_code == 2 and "MemoryError" in res.output and "Traceback" not in res.output, res.output


def test_the_worker_runs_outside_the_repository(tiny: None, tmp_path: Path) -> None:
    res = _eval(tmp_path / "w.jsonl", "tests.lb_attacks:where_am_i")
    assert res.exit_code == 0, res.output
