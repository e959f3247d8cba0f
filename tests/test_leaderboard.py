"""Leaderboard: results files, bounded input, replay, eval without lost records, scores and the table.

Forgeries and re-execution are in ``test_leaderboard_forgery.py``. Real envs run on small bundled
scenarios (``a2-test-v1/small-*``); a tiny copy of the suite (two small scenarios, Placement) keeps
the CLI tests fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from a2gym.cli import main
from a2gym.errors import RecordError
from a2gym.leaderboard import suite as suite_mod
from a2gym.leaderboard.entry import EntryHeader, check_name
from a2gym.leaderboard.record import EpisodeRecord, read_records, read_results, results_text, write_records
from a2gym.leaderboard.safeio import exclusive_lock, loads_strict, read_bounded_text
from a2gym.leaderboard.score import interval, normalised, performance_profile, score_row
from a2gym.leaderboard.suite import A2_TEST_V0, A2_TEST_V1, MIN_SEEDS, Suite, SuiteEntry
from a2gym.leaderboard.table import md_escape

SHA = "ab" * 32
PLACEMENT = "a2gym/Placement-v0"
SMALL = ("scenario://a2-test-v1/small-0", "scenario://a2-test-v1/small-1")
TINY = Suite("a2-test-v1", (SuiteEntry(PLACEMENT, dict(suite_mod.STRICT), SMALL),))


def _header(name: str = "p", **kw) -> EntryHeader:
    d = dict(name=name, policy="cheapest", policy_sha256=None, trained_on_test=False, description="d",
             suite="a2-test-v1", a2gym_version="0.1.0")
    d.update(kw)
    return EntryHeader(**d)


def _rec(uri: str = SMALL[0], seed: int = 10_000, cost: float = 10.0, wall: float = 0.5) -> EpisodeRecord:
    return EpisodeRecord(
        env_id=PLACEMENT,
        env_version=0,
        scenario_uri=uri,
        scenario_sha256=SHA,
        env_kwargs={},
        seed=seed,
        actions=[3, 1, [0, 1]],
        cost=cost,
        cost_breakdown={"compute": cost - 1.0, "bandwidth": 1.0},
        return_=-cost / 10.0,
        violations=0,
        wall_time_s=wall,
    )


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Suite:
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    return TINY


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


# ----------------------------------------------------------------------------------------- file format
def test_results_file_roundtrip_and_equality_ignores_wall_time(tmp_path: Path) -> None:
    recs = [_rec(seed=10_000 + j, cost=10.0 + j / 3) for j in range(3)]
    path = write_records(tmp_path / "r.jsonl", _header(), recs)
    header, back = read_records(path)
    assert header == _header() and back == recs
    assert [r.cost for r in back] == [r.cost for r in recs]  # floats round-trip exactly
    assert dataclasses.replace(recs[0], wall_time_s=99.0) == recs[0]
    assert json.loads(path.read_text().splitlines()[1])["return"] == recs[0].return_
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]  # atomic: no temp file left


def test_declarations_live_in_the_header_only() -> None:
    d = {**_rec().to_dict(), "trained_on_test": False}
    with pytest.raises(RecordError, match="unknown field.*trained_on_test"):
        EpisodeRecord.from_dict(d)
    d = _header().to_dict()
    del d["trained_on_test"]
    with pytest.raises(RecordError, match="missing field.*trained_on_test"):
        EntryHeader.from_dict(d)


@pytest.mark.parametrize("name", ["a\nb", "a|b", "", "x" * 65, "ünï", "reference", "optimum", "local-greedy",
                                  "forecast", "hindsight", "a b", "[link](http://x)"])
def test_bad_and_reserved_entry_names_are_refused(name: str) -> None:
    with pytest.raises(RecordError, match="must match|reserved"):
        check_name(name)
    with pytest.raises(RecordError):
        EntryHeader.from_dict(_header(name=name).to_dict())


def test_lines_that_do_not_parse_are_named_and_the_scan_goes_on(tmp_path: Path) -> None:
    text = results_text(_header(), [_rec(seed=10_000 + j) for j in range(3)])
    lines = text.splitlines()
    lines[2] = lines[2].replace('"seed": 10001', '"seed": "x"')
    p = tmp_path / "r.jsonl"
    p.write_text("\n".join([lines[0], "{not json", *lines[1:]])[:-20])
    res = read_results(p)
    msgs = [str(e) for e in res.errors]
    assert msgs[0].startswith(f"{p}:2: malformed JSON")
    assert msgs[1].startswith(f"{p}:4: field 'seed'")
    assert msgs[2].startswith(f"{p}:5: truncated line")
    assert [n for n, _ in res.records] == [3]


def test_repeated_keys_and_nan_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repeated key 'cost'"):
        loads_strict('{"cost": 1.0, "cost": 2.0}')
    with pytest.raises(ValueError, match="NaN"):
        loads_strict('{"cost": NaN}')
    line = _rec().to_json().replace('"cost": 10.0', '"cost": 10.0, "cost": 1.0')
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(_header().to_dict()) + "\n" + line + "\n")
    assert "repeated key 'cost'" in str(read_results(p).errors[0]) and str(
        read_results(p).errors[0]
    ).startswith(f"{p}:2:")


def test_size_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from a2gym.leaderboard import record

    p = tmp_path / "r.jsonl"
    write_records(p, _header(), [_rec()])
    monkeypatch.setattr(record, "MAX_LINE_CHARS", 100)
    assert "more than the limit" in str(read_results(p).errors[0])
    with pytest.raises(RecordError, match="more than the limit of 10"):
        read_bounded_text(p, max_bytes=10)
    huge = _header(policy="x" * 600).to_dict()
    with pytest.raises(RecordError, match="policy must be"):
        EntryHeader.from_dict(huge)
    with pytest.raises(RecordError, match="description"):
        EntryHeader.from_dict(_header(description="y" * 1001).to_dict())


def test_fifo_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.jsonl"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(RecordError, match="not a regular file"):
        read_results(fifo)
    with pytest.raises(RecordError, match="not a regular file"):
        read_results("/dev/zero")
    res = _cli("validate", str(fifo))
    assert res.exit_code == 1 and "not a regular file" in res.output
    assert time.monotonic() - t0 < 10


# ------------------------------------------------------------------------------------------------- suite
def test_suites() -> None:
    assert A2_TEST_V1.seeds() == [10_000 + j for j in range(MIN_SEEDS)]
    with pytest.raises(RecordError, match="too few"):
        A2_TEST_V1.seeds(MIN_SEEDS - 1)
    for entry in A2_TEST_V1.entries:
        assert len(entry.scenarios) >= 12
        assert {suite_mod.tier_of(u) for u in entry.scenarios} == {"small", "medium", "paper", "large"}
    val = suite_mod.A2_VAL_V1
    assert not val.ranked and not set(val.entries[0].scenarios) & set(A2_TEST_V1.entries[0].scenarios)
    assert A2_TEST_V0.name in suite_mod.SUITES  # kept replayable


def test_every_suite_scenario_loads_with_its_pinned_hash_and_one_agent_fits_an_env() -> None:
    from a2gym.leaderboard.episode import load_fresh, manifest, suite_env

    pins = manifest()
    for suite in suite_mod.SUITES.values():
        for entry in suite.entries:
            seen = set()
            for uri in entry.scenarios:
                assert load_fresh(uri).sha256 == pins[uri.removeprefix("scenario://")]
                env = suite_env(entry.env_id, uri, entry.env_kwargs)
                seen.add((repr(env.observation_space), repr(env.action_space)))
                env.close()
            assert len(seen) == 1, (suite.name, entry.env_id, seen)


def test_the_optimum_file_is_pinned() -> None:
    from a2gym.leaderboard.reserved import read_optimum

    opt = read_optimum()
    for uri in A2_TEST_V1.entries[0].scenarios:
        e = opt["scenarios"][uri]["epoch"]
        assert e["status"] in ("optimal", "feasible", "time_limit") and e["bound"] <= e["value"] + 1e-9


# ------------------------------------------------------------------------------------------------ scores
U = ("u0", "u1")


def test_reference_scores_one_and_a_hand_computed_score() -> None:
    rng = np.random.default_rng(1)
    seeds = list(range(5))
    ref = {(u, s): float(rng.uniform(5, 15)) for u in U for s in seeds}
    half = {(u, s): c / 2 if u == "u0" else c * 2 for (u, s), c in ref.items()}
    r = score_row("reference", "reserved", ref, ref, list(U), seeds)
    assert (r.score, r.ci, r.iqm, r.p_improve) == (1.0, (1.0, 1.0), 1.0, 0.5)
    h = score_row("h", "entry", half, ref, list(U), seeds, optimum=ref)
    assert h.score == pytest.approx(np.sqrt(2 * 0.5), rel=1e-12)  # geomean(2, 1/2) = 1
    assert h.p_improve == pytest.approx(0.5) and h.gap == pytest.approx(0.0, abs=1e-12)


def test_stratified_bootstrap_is_deterministic_and_covers_the_estimate() -> None:
    from a2gym.leaderboard.score import STATISTICS

    x = np.random.default_rng(2).uniform(0.6, 1.4, (3, 8))
    for f in STATISTICS.values():
        lo, hi = interval(x, f)
        assert interval(x, f) == (lo, hi) and lo <= float(f(*x)) <= hi and lo < hi


def test_missing_cost_gives_no_score_and_profile_counts_runs() -> None:
    ref = {("u0", 0): 1.0, ("u0", 1): 1.0}
    assert normalised({("u0", 0): 2.0, ("u0", 1): None}, ref, ["u0"], [0, 1]) is None
    assert score_row("x", "reserved", {("u0", 0): None, ("u0", 1): 1.0}, ref, ["u0"], [0, 1]).score is None
    assert list(performance_profile(np.array([[0.5, 1.5]]), np.array([0.0, 1.0, 2.0]))) == [1.0, 0.5, 0.0]


def test_markdown_escape_makes_text_inert() -> None:
    s = md_escape("a|b\n| 1 | evil |\n<img src=x> [l](u) `c`")
    assert "\n" not in s and "|" not in s.replace("\\|", "") and "<" not in s.replace("\\<", "")


# ----------------------------------------------------------------------- eval: no lost records, no raw errors
def test_eval_refuses_an_existing_file_appends_and_overwrites(tmp_path: Path, tiny: Suite) -> None:
    out = tmp_path / "e.jsonl"
    args = ("eval", "--policy", "cheapest", "--out", str(out))
    res = _cli(*args)
    assert res.exit_code == 0, res.output
    assert "cheapest" in res.output and "reference" in res.output  # ends by printing the score
    before = out.read_bytes()
    assert len(read_records(out)[1]) == 2 * MIN_SEEDS
    res = _cli(*args)
    assert res.exit_code == 2 and "exists; pass --append" in res.output and out.read_bytes() == before
    res = _cli(*args, "--append", "--seeds", "6")
    assert res.exit_code == 0 and "(2 new)" in res.output
    assert len(read_records(out)[1]) == 2 * 6
    res = _cli(*args, "--append", "--name", "other")
    assert res.exit_code == 2 and "differs" in res.output
    res = _cli(*args, "--overwrite")
    assert res.exit_code == 0 and len(read_records(out)[1]) == 2 * MIN_SEEDS


def test_a_second_concurrent_writer_is_refused(tmp_path: Path, tiny: Suite) -> None:
    from a2gym.leaderboard.evaluate import eval_to_file, evaluate_suite, make_header
    from a2gym.leaderboard.policy import resolve_policy

    out = tmp_path / "e.jsonl"
    with exclusive_lock(out):
        res = _cli("eval", "--policy", "cheapest", "--out", str(out))
    assert res.exit_code == 2 and "another writer holds" in res.output and not out.exists()
    policy = resolve_policy("cheapest")
    header = make_header(policy, None, None, "", tiny)
    results: dict[str, object] = {}

    def slow(p, skip):
        for rec in evaluate_suite(p, tiny, None, None, skip):
            time.sleep(0.05)
            yield rec

    def run(tag: str) -> None:
        try:
            results[tag] = eval_to_file(out, header, policy, slow)
        except RecordError as e:
            results[tag] = e

    threads = [threading.Thread(target=run, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [v for v in results.values() if isinstance(v, RecordError)]
    assert len(errors) == 1 and re.search("another writer|exists", str(errors[0]))
    assert len(read_records(out)[1]) == 2 * MIN_SEEDS  # the winner's records are all there


def test_a_raising_policy_keeps_the_completed_episodes(tmp_path: Path, tiny: Suite) -> None:
    out = tmp_path / "e.jsonl"
    res = _cli("eval", "--policy", "tests.lb_policies:raise_on_third_seed", "--name", "r",
               "--not-trained-on-test", "--out", str(out))
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "seed 10002" in res.output and "RuntimeError: boom" in res.output and "were written" in res.output
    assert [r.seed for r in read_records(out)[1]] == [10_000, 10_001]


@pytest.mark.parametrize(("spec", "message"), [
    ("os:getcwd", "no os.py in the repository"),
    ("tests.lb_policies:no_args", "takes 0 required argument"),
    ("nosuchmodule_xyz:f", "cannot import"),
    ("reference", "computes itself"),
    ("sb3:ppo:/nonexistent/m.zip", "does not exist"),
])
def test_bad_policy_specs_are_one_line_errors(tmp_path: Path, spec: str, message: str) -> None:
    res = _cli(
        "eval", "--policy", spec, "--name", "x", "--not-trained-on-test", "--out", str(tmp_path / "o.jsonl")
    )
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output


def test_unwritable_output_folder_fails_before_any_episode(tmp_path: Path, tiny: Suite,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from a2gym.leaderboard import safeio

    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    if os.access(d, os.W_OK):  # root writes anywhere: make creating the lock file fail as it would
        real_open = os.open

        def no_write(path, flags, *a):
            if str(path).startswith(str(d)) and flags & os.O_CREAT:
                raise PermissionError(13, "Permission denied")
            return real_open(path, flags, *a)

        monkeypatch.setattr(safeio.os, "open", no_write)
    try:
        t0 = time.monotonic()
        res = _cli("eval", "--policy", "cheapest", "--out", str(d / "e.jsonl"))
        assert res.exit_code == 2 and "cannot write in" in res.output and "Traceback" not in res.output
        assert time.monotonic() - t0 < 20
    finally:
        d.chmod(0o700)
        monkeypatch.undo()
    res = _cli("eval", "--policy", "cheapest", "--out", str(tmp_path / "missing" / "e.jsonl"))
    assert res.exit_code == 2 and "does not exist" in res.output


def test_policies_get_a_context_not_the_env(tmp_path: Path, tiny: Suite) -> None:
    res = _cli("eval", "--policy", "tests.lb_policies:peek_env", "--name", "peek", "--not-trained-on-test",
               "--out", str(tmp_path / "p.jsonl"))
    assert res.exit_code == 0, res.output


def test_score_prints_a_table_without_touching_the_leaderboard(tmp_path: Path, tiny: Suite) -> None:
    out = tmp_path / "e.jsonl"
    assert _cli("eval", "--policy", "random", "--out", str(out)).exit_code == 0
    root = Path(__file__).resolve().parent.parent
    before = {p: p.stat().st_mtime_ns for p in (root / "leaderboard").iterdir()}
    res = _cli("leaderboard", "score", str(out))
    assert res.exit_code == 0, res.output
    assert "random" in res.output and "reference" in res.output and "95% CI" in res.output
    assert {p: p.stat().st_mtime_ns for p in (root / "leaderboard").iterdir()} == before



def test_seed_free_envs_do_not_depend_on_the_seed() -> None:
    """The scorer computes Placement's and Scheduling's reserved rows once per scenario: check it is valid."""
    from a2gym.envs.registration import SPECS
    from a2gym.leaderboard.episode import replay
    from a2gym.leaderboard.evaluate import evaluate_episode
    from a2gym.leaderboard.policy import resolve_policy

    seed_free = [s.id for s in SPECS.values() if s.seed_free]
    assert seed_free == ["a2gym/Placement-v0", "a2gym/Scheduling-v0"]
    for env_id in seed_free:
        rec = evaluate_episode(env_id, {}, SMALL[1], 10_000, resolve_policy("random"))
        for seed in (10_001, 10_007):
            rep = replay(env_id, SMALL[1], {}, seed, rec.actions)
            assert (rep.cost, rep.return_, rep.violations) == (rec.cost, rec.return_, rec.violations)


# ------------------------------------------------------------------------------ GeoServeCapacity-v0
V1 = "a2gym/GeoServeCapacity-v0"


def test_the_capacity_env_is_in_the_suite_with_its_own_reference_rows() -> None:
    """The capacity env's reserved rows: the target-tracking reference, reactive, oracle and forecast (no
    paper rows: they deploy sets, it chooses counts); hindsight and its bound come from the pinned file, no
    optimum row. Target-tracking leaves at most a tenth of the reactive re-solve's unserved requests and
    hindsight is at least 10% cheaper than it (issue 21), on a suite day."""
    from a2gym.leaderboard.episode import suite_env
    from a2gym.leaderboard.reserved import hindsight_rows, optimum_row, policy_rows, read_optimum
    from a2gym.policies import reference_policy

    v1 = A2_TEST_V1.entry(V1)
    assert v1.env_kwargs["invalid_action"] == "raise" and v1.scenarios == A2_TEST_V1.entries[0].scenarios
    one = SuiteEntry(V1, v1.env_kwargs, (SMALL[0],))
    seeds = [10_000]
    rows = {r.name: r for r in policy_rows(one, seeds)}
    assert set(rows) == {"reference", "reactive", "oracle", "forecast"}
    key = (SMALL[0], 10_000)
    tracking, reactive, forecast = (rows[n].costs[key] for n in ("reference", "reactive", "forecast"))
    assert forecast < reactive  # the provisioning delay makes the reactive re-solve pay SLO penalties
    opt = read_optimum()
    assert optimum_row(one, seeds, opt) is None
    hind, bound = hindsight_rows(one, seeds, opt)
    assert hind.costs[key] <= min(forecast, reactive) * (1 + 1e-9)
    assert hind.costs[key] <= 0.9 * tracking
    assert bound.bound and bound.costs[key] <= hind.costs[key] * (1 + 1e-3)
    assert hindsight_rows(A2_TEST_V1.entries[0], seeds, opt) == []
    unserved = {}
    for mode in ("target-tracking", "reactive"):
        env = suite_env(V1, SMALL[0], v1.env_kwargs)
        obs, info = env.reset(seed=10_000)
        policy, done = reference_policy(env, mode), False
        while not done:
            obs, _, term, trunc, info = env.step(policy(obs, info))
            done = term or trunc
        unserved[mode] = info["unserved_requests_total"]
    assert unserved["target-tracking"] <= unserved["reactive"] / 10


def test_the_optimum_file_pins_a_hindsight_day_for_every_capacity_episode() -> None:
    from a2gym.leaderboard.reserved import read_optimum

    opt = read_optimum()
    for uri in A2_TEST_V1.entry(V1).scenarios:
        days = opt["scenarios"][uri]["geoserve_v1_hindsight"]
        assert set(days) == {str(s) for s in A2_TEST_V1.seeds()}, uri
        for day in days.values():
            assert day["status"] in ("optimal", "feasible") and 0.0 <= day["gap"] < 1.0
            assert day["bound"] <= day["cost"] * (1 + 1e-3)  # over the MILP's restriction; MIP tolerances


def test_the_pinned_reserved_rows_are_what_the_code_computes() -> None:
    """The scorer reads a2-test-v1's reserved rows from a pinned file (computed once by
    scripts/build_suite.py --reserved); recomputing them on a sample (the first small scenario, the first
    seed, every env and row) gives the same costs, so a change to an env or a reference that moves them fails
    here until the file is rebuilt."""
    import math

    from a2gym.leaderboard.reserved import pinned_policy_rows, policy_rows, read_pinned_reserved

    doc = read_pinned_reserved("a2-test-v1")
    assert doc is not None and doc["seeds"] == A2_TEST_V1.seeds()
    for entry in A2_TEST_V1.entries:
        one = SuiteEntry(entry.env_id, entry.env_kwargs, entry.scenarios[:1])
        pinned = {r.name: r for r in pinned_policy_rows("a2-test-v1", one, [10_000])}
        fresh = {r.name: r for r in policy_rows(one, [10_000])}
        assert set(pinned) == set(fresh), entry.env_id
        for name, row in fresh.items():
            for key, cost in row.costs.items():
                old = pinned[name].costs[key]
                assert (old is None and cost is None) or math.isclose(old, cost, rel_tol=1e-9), (
                    f"{entry.env_id} {name} {key}: pinned {old}, computed {cost}: rerun "
                    "scripts/build_suite.py --no-optimum --reserved")
            assert pinned[name].violations == row.violations, (entry.env_id, name)


def test_the_episode_modules_old_names_still_work_with_a_deprecation_warning() -> None:
    from a2gym.leaderboard import episode

    with pytest.warns(DeprecationWarning, match="make_env is now suite_env"):
        assert episode.make_env is episode.suite_env
    with pytest.warns(DeprecationWarning, match="ScenarioPool is now ScenarioCache"):
        assert episode.ScenarioPool is episode.ScenarioCache
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        episode.nothing  # noqa: B018
