"""Leaderboard: records, replay-validation, scores and the generated table.

The pure parts (record format, scores, table) run on hand-made records; replay, eval and validate
run the real envs on the bundled ``a2-test-v0`` scenarios.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from a2gym.errors import RecordError
from a2gym.leaderboard.record import EpisodeRecord, iter_records, read_records, write_records
from a2gym.leaderboard.score import BOOTSTRAP_RESAMPLES, score_all, score_entry
from a2gym.leaderboard.suite import A2_TEST_V0, MIN_SEEDS
from a2gym.leaderboard.table import render_chart, render_markdown

SHA = "ab" * 32


def _rec(policy: str = "reference", uri: str = "scenario://a2-test-v0/placement-0", seed: int = 10_000,
         cost: float = 10.0, env_id: str = "a2gym/Placement-v0", violations: int = 0, wall: float = 0.5
         ) -> EpisodeRecord:
    return EpisodeRecord(
        suite="a2-test-v0", env_id=env_id, env_version=0, a2gym_version="0.1.0", scenario_uri=uri,
        scenario_sha256=SHA, env_kwargs={}, seed=seed, policy=policy, trained_on_test=False, actions=[3, 1, [0, 1]],
        cost=cost, cost_breakdown={"compute": cost - 1.0, "bandwidth": 1.0}, return_=-cost / 10.0,
        violations=violations, wall_time_s=wall)


# ----------------------------------------------------------------------------------------- record format
def test_record_roundtrip_and_equality_ignores_wall_time(tmp_path: Path) -> None:
    recs = [_rec(seed=10_000 + j, cost=10.0 + j / 3) for j in range(3)]
    path = write_records(tmp_path / "r.jsonl", recs)
    back = read_records(path)
    assert back == recs
    assert [r.cost for r in back] == [r.cost for r in recs]  # floats round-trip exactly
    assert dataclasses.replace(recs[0], wall_time_s=99.0) == recs[0]
    assert dataclasses.replace(recs[0], cost=10.000001) != recs[0]
    assert json.loads(path.read_text().splitlines()[0])["return"] == recs[0].return_


def test_write_is_atomic_no_temp_left(tmp_path: Path) -> None:
    write_records(tmp_path / "r.jsonl", [_rec()])
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]
    with pytest.raises(RecordError, match="not JSON-able"):
        write_records(tmp_path / "r.jsonl", [_rec(cost=float("nan"))])
    assert read_records(tmp_path / "r.jsonl") == [_rec()]  # the failed write left the old file whole


def test_truncated_and_malformed_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = write_records(tmp_path / "r.jsonl", [_rec(seed=10_000 + j) for j in range(3)])
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # cut into the last line
    errors = [str(r) for _, r in iter_records(path) if not isinstance(r, EpisodeRecord)]
    assert errors == [f"{path}:3: truncated line (no final newline): " + repr(text.splitlines()[2][:60])]
    lines = text.splitlines()
    lines[1] = lines[1].replace('"seed": 10001', '"seed": "x"')
    path.write_text("\n".join(lines[:1] + ["{not json"] + lines[1:]) + "\n")
    msgs = [str(r) for _, r in iter_records(path) if not isinstance(r, EpisodeRecord)]
    assert msgs[0].startswith(f"{path}:2: malformed JSON")
    assert msgs[1].startswith(f"{path}:3: field 'seed'")
    with pytest.raises(RecordError, match=r"r.jsonl:2: malformed"):
        read_records(path)


def test_record_rejects_missing_and_unknown_fields() -> None:
    d = _rec().to_dict()
    del d["seed"]
    with pytest.raises(RecordError, match="missing field.*seed"):
        EpisodeRecord.from_dict(d)
    d = {**_rec().to_dict(), "bonus": 1}
    with pytest.raises(RecordError, match="unknown field.*bonus"):
        EpisodeRecord.from_dict(d)
    d = {**_rec().to_dict(), "actions": [1, [0, 2]]}
    with pytest.raises(RecordError, match="actions"):
        EpisodeRecord.from_dict(d)


def test_suite_definition() -> None:
    assert A2_TEST_V0.seeds() == [10_000 + j for j in range(MIN_SEEDS)]
    with pytest.raises(RecordError, match="too few"):
        A2_TEST_V0.seeds(MIN_SEEDS - 1)
    assert set(A2_TEST_V0.env_ids) == {"a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServe-v0"}
    assert all(len(e.scenarios) >= 2 for e in A2_TEST_V0.entries)
    eps = A2_TEST_V0.episodes(6)
    assert len(eps) == 6 * sum(len(e.scenarios) for e in A2_TEST_V0.entries)
    assert len(set((e.env_id, u, s) for e, u, s in eps)) == len(eps)


# ------------------------------------------------------------------------------------------------ scores
def _table(costs: dict[str, dict[str, list[float]]], env_id: str = "a2gym/Placement-v0") -> list[EpisodeRecord]:
    return [_rec(policy=p, uri=u, seed=10_000 + j, cost=c, env_id=env_id)
            for p, per in costs.items() for u, cs in per.items() for j, c in enumerate(cs)]


U0, U1 = "scenario://a2-test-v0/placement-0", "scenario://a2-test-v0/placement-1"


def test_reference_scores_exactly_one_and_hand_computed_geomean() -> None:
    rng = np.random.default_rng(1)
    ref = {U0: list(rng.uniform(5, 15, 5)), U1: list(rng.uniform(50, 150, 5))}
    # policy: half the cost on U0 (ratio 2), twice the cost on U1 (ratio 1/2) -> geometric mean 1
    pol = {U0: [c / 2 for c in ref[U0]], U1: [c * 2 for c in ref[U1]]}
    worse = {U0: [c * 1.25 for c in ref[U0]], U1: [c * 1.25 for c in ref[U1]]}
    scores = score_all(_table({"reference": ref, "mixed": pol, "worse": worse}))["a2gym/Placement-v0"]
    by = {s.policy: s for s in scores}
    assert by["reference"].score == 1.0 and (by["reference"].ci_low, by["reference"].ci_high) == (1.0, 1.0)
    assert by["mixed"].score == pytest.approx(1.0, rel=1e-12)
    assert by["worse"].score == pytest.approx(0.8, rel=1e-12)
    assert by["worse"].ci_low == pytest.approx(0.8) and by["worse"].ci_high == pytest.approx(0.8)
    assert [s.policy for s in scores][-1] == "worse"


def test_bootstrap_interval_is_deterministic_and_covers_the_score() -> None:
    rng = np.random.default_rng(2)
    ref = {U0: list(rng.uniform(5, 15, 8)), U1: list(rng.uniform(50, 150, 8))}
    pol = {u: list(np.array(c) * rng.uniform(0.7, 1.3, 8)) for u, c in ref.items()}
    recs = _table({"reference": ref, "p": pol})
    mine, ref_recs = [r for r in recs if r.policy == "p"], [r for r in recs if r.policy == "reference"]
    a = score_entry(mine, ref_recs)
    b = score_entry(list(reversed(mine)), list(reversed(ref_recs)))
    assert a == b
    assert a.ci_low < a.score < a.ci_high
    assert BOOTSTRAP_RESAMPLES >= 1000


def test_score_needs_every_reference_scenario_and_seed() -> None:
    ref = {U0: [10.0] * 5, U1: [10.0] * 5}
    recs = _table({"reference": ref, "p": {U0: [9.0] * 5}})
    with pytest.raises(RecordError, match="scenarios missing"):
        score_all(recs)
    recs = _table({"reference": {U0: [10.0] * 5}}) + [_rec("p", U0, seed=20_000, cost=3.0)]
    with pytest.raises(RecordError, match="no reference record"):
        score_all(recs)


def test_lower_bound_gap_and_violation_rate() -> None:
    recs = _table({"reference": {U0: [10.0] * 5, U1: [20.0] * 5}})
    recs[0] = dataclasses.replace(recs[0], violations=2)
    lbs = {("a2gym/Placement-v0", u, 10_000 + j): lb for u, lb in ((U0, 8.0), (U1, 10.0)) for j in range(5)}
    (s,) = score_all(recs, lbs)["a2gym/Placement-v0"]
    assert s.lb_gap == pytest.approx(np.sqrt(10 / 8 * 20 / 10) - 1)
    assert s.violation_rate == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------------- table
def test_table_is_a_pure_function_of_the_records() -> None:
    rng = np.random.default_rng(3)
    ref = {U0: list(rng.uniform(5, 15, 5)), U1: list(rng.uniform(50, 150, 5))}
    recs = _table({"reference": ref, "p": {u: [c * 0.9 for c in cs] for u, cs in ref.items()}})
    md1 = render_markdown(score_all(recs), A2_TEST_V0, "leaderboard", "leaderboard/leaderboard.png", ["x.jsonl"])
    shuffled = [dataclasses.replace(r, wall_time_s=r.wall_time_s) for r in reversed(recs)]
    md2 = render_markdown(score_all(shuffled), A2_TEST_V0, "leaderboard", "leaderboard/leaderboard.png",
                          ["x.jsonl"])
    assert md1 == md2
    assert "| 1 | p | 1.111 |" in md1 and "| 2 | reference | 1.000 | [1.000, 1.000] |" in md1
    assert render_chart(score_all(recs)) == render_chart(score_all(shuffled))
    assert render_chart(score_all(recs))[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------- replay, validate, eval (real envs)
SMALL = {"a2gym/Placement-v0": "scenario://a2-test-v0/placement-1",
         "a2gym/Scheduling-v0": "scenario://a2-test-v0/scheduling-1",
         "a2gym/GeoServe-v0": "scenario://a2-test-v0/geoserve-1"}


def random_masked(env, seed: int):
    """Uniform among the unmasked actions; MultiBinary: each bit that may be 1 is 1 with probability 1/2
    (GeoServe's mask holds a (may be 0, may be 1) pair per facility)."""
    rng = np.random.default_rng(seed)
    base = env.unwrapped
    discrete = isinstance(env.action_space, gym.spaces.Discrete)

    def policy(obs, info):
        mask = np.asarray(base.action_masks(), dtype=bool)
        if discrete:
            return int(rng.choice(np.flatnonzero(mask)))
        may_be_one = mask.reshape(-1, 2)[:, 1]
        return ((rng.random(may_be_one.shape) < 0.5) & may_be_one).astype(np.int8)

    return policy


def _episode(env_id: str, seed: int, uri: str | None = None, policy=random_masked) -> EpisodeRecord:
    from a2gym.leaderboard.evaluate import evaluate_episode

    entry = A2_TEST_V0.entry(env_id)
    return evaluate_episode(A2_TEST_V0, env_id, dict(entry.env_kwargs), uri or SMALL[env_id], seed, policy,
                            "random-masked", None)


@pytest.mark.parametrize("env_id", sorted(SMALL))
def test_fuzz_record_replays_to_identical_cost(env_id: str) -> None:
    from a2gym.leaderboard.episode import replay

    for seed in range(10_000, 10_004):
        rec = _episode(env_id, seed)
        back = EpisodeRecord.from_dict(json.loads(rec.to_json()))
        rep = replay(back.env_id, back.scenario_uri, back.env_kwargs, back.seed, back.actions)
        assert rep.cost == rec.cost and rep.return_ == rec.return_
        assert rep.cost_breakdown == rec.cost_breakdown and rep.violations == rec.violations
        assert rec.cost == pytest.approx(sum(rec.cost_breakdown.values()), rel=1e-9)


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    recs = [_episode(env_id, seed) for env_id in ("a2gym/Placement-v0", "a2gym/GeoServe-v0")
            for seed in (10_000, 10_001)]
    return write_records(tmp_path_factory.mktemp("valid") / "x.jsonl", recs)


def _tamper(src: Path, dst: Path, line: int, change) -> Path:
    lines = src.read_text().splitlines()
    d = json.loads(lines[line - 1])
    change(d)
    lines[line - 1] = json.dumps(d)
    dst.write_text("\n".join(lines) + "\n")
    return dst


def test_valid_file_validates(valid_file: Path) -> None:
    from a2gym.leaderboard.validate import validate_files

    good, problems = validate_files([valid_file])
    assert problems == [] and len(good) == 4


def _flip_first_action(d: dict) -> None:
    a = d["actions"][0]
    d["actions"][0] = [1 - b for b in a] if isinstance(a, list) else a + 1


def _lower_seed(d: dict) -> None:
    d["seed"] -= 1  # line 2 is Placement seed 10001 (replays the same for any seed); line 1 is seed 10000


@pytest.mark.parametrize(("line", "change", "message"), [
    (2, _flip_first_action, "rejected on replay|!= replayed"),
    (1, lambda d: d.update(cost=d["cost"] * 1.001), r"cost \S+ != replayed"),
    (2, _lower_seed, "duplicate of"),
    (2, lambda d: d.update(scenario_sha256="0" * 64), "scenario_sha256 000000000000… != manifest"),
    (1, lambda d: d.update(env_version=1), "env_version 1 != version 0"),
    (4, lambda d: d.update(a2gym_version="latest"), "a2gym_version 'latest' is not a version number"),
    (4, lambda d: d["cost_breakdown"].update(compute=d["cost_breakdown"]["compute"] + 1.0),
     r"cost_breakdown\['compute'\]"),
    (1, lambda d: d.update(violations=d["violations"] + 1), "violations"),
])
def test_tampered_record_is_rejected_with_its_line(valid_file: Path, tmp_path: Path, line, change, message) -> None:
    from a2gym.leaderboard.validate import validate_files

    bad = _tamper(valid_file, tmp_path / "x.jsonl", line, change)
    good, problems = validate_files([bad])
    assert problems, "tampered record was accepted"
    assert all(p.startswith(f"{bad}:{line}: ") for p in problems), problems
    assert any(__import__("re").search(message, p) for p in problems), problems
    assert len(good) == 3


def test_changed_seed_of_a_seed_dependent_env_fails_replay(valid_file: Path, tmp_path: Path) -> None:
    from a2gym.leaderboard.validate import validate_files

    lines = valid_file.read_text().splitlines()
    bad = _tamper(valid_file, tmp_path / "x.jsonl", 4, lambda d: d.update(seed=10_004))
    problems = validate_files([bad])[1]
    assert problems and all(p.startswith(f"{bad}:4: ") for p in problems)
    assert any("replayed" in p or "rejected" in p for p in problems), problems
    assert json.loads(lines[3])["env_id"] == "a2gym/GeoServe-v0"


def test_truncated_file_is_reported(valid_file: Path, tmp_path: Path) -> None:
    from a2gym.leaderboard.validate import validate_files

    text = valid_file.read_text()
    bad = tmp_path / "x.jsonl"
    bad.write_text(text[: len(text) - 25])
    good, problems = validate_files([bad])
    assert problems == [problems[0]] and problems[0].startswith(f"{bad}:4: truncated line")
    assert len(good) == 3


def test_changed_bundled_scenario_file_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import a2gym.scenario.uri as uri_mod
    from a2gym.errors import ScenarioError
    from a2gym.scenario import Scenario

    src = uri_mod._scenario_dir()
    dst = tmp_path / "scenarios"
    shutil.copytree(src, dst)
    name = "a2-test-v0/placement-1"
    scn = Scenario.load(dst / f"{name}.json")
    price = np.array(scn.price_per_hour)
    price[0, 0] = price[0, 0] * 0.5 if np.isfinite(price[0, 0]) else 1.0
    scn.replace(price_per_hour=price).save(dst / f"{name}.json")  # self-consistent file, new content
    monkeypatch.setattr(uri_mod, "_scenario_dir", lambda: dst)
    uri_mod._manifest.cache_clear()
    uri_mod._load_cached.cache_clear()
    try:
        with pytest.raises(ScenarioError, match="the manifest pins"):
            uri_mod.read_scenario(f"scenario://{name}")
        from a2gym.leaderboard.episode import load_fresh

        with pytest.raises(RecordError, match="!= manifest"):
            load_fresh(f"scenario://{name}")
    finally:
        uri_mod._manifest.cache_clear()
        uri_mod._load_cached.cache_clear()


def test_every_suite_scenario_loads_with_its_pinned_hash() -> None:
    from a2gym.leaderboard.episode import load_fresh, manifest

    pins = manifest()
    for entry in A2_TEST_V0.entries:
        for uri in entry.scenarios:
            assert load_fresh(uri).sha256 == pins[uri.removeprefix("scenario://")]


def test_policy_that_changes_the_scenario_is_caught() -> None:
    def cheat(env, seed):
        scn = env.unwrapped.scenario
        object.__setattr__(scn, "class_latency_slo_ms", scn.class_latency_slo_ms * 10)
        return random_masked(env, seed)

    with pytest.raises(RecordError, match="changed scenario"):
        _episode("a2gym/Placement-v0", 10_000, policy=cheat)


# --------------------------------------------------------------------- CLI: eval -> validate -> build
ENVS_FAST = ("--env", "a2gym/Placement-v0", "--env", "a2gym/Scheduling-v0")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A leaderboard folder with the reference and random evaluated by the CLI on Placement and Scheduling."""
    from click.testing import CliRunner

    from a2gym.cli import main

    d = tmp_path_factory.mktemp("board") / "lb"
    for spec in ("reference", "random"):
        res = CliRunner().invoke(main, ["eval", "--policy", spec, "--seeds", "5", *ENVS_FAST,
                                        "--out", str(d / f"{spec}.jsonl")])
        assert res.exit_code == 0, res.output
    return d


def test_eval_output_is_accepted_by_validate(evaluated: Path) -> None:
    from click.testing import CliRunner

    from a2gym.cli import main

    files = sorted(str(p) for p in evaluated.glob("*.jsonl"))
    res = CliRunner().invoke(main, ["validate", *files])
    assert res.exit_code == 0, res.output
    assert "60 record(s) in 2 file(s) replay exactly" in res.output
    recs = read_records(evaluated / "random.jsonl")
    assert len(recs) == 2 * 3 * 5 and {r.trained_on_test for r in recs} == {False}
    assert len({r.seed for r in recs}) == 5


def test_validate_cli_names_file_and_line(evaluated: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from a2gym.cli import main

    bad = _tamper(evaluated / "random.jsonl", tmp_path / "x.jsonl", 3, lambda d: d.update(cost=12.5))
    res = CliRunner().invoke(main, ["validate", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:3: cost 12.5 != replayed" in res.output


def test_table_is_regenerated_byte_for_byte(evaluated: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from a2gym.cli import main
    from a2gym.leaderboard.build import build

    d = tmp_path / "lb"
    shutil.copytree(evaluated, d)
    committed_bounds = Path(__file__).resolve().parent.parent / "leaderboard" / "lower_bounds.json"
    if committed_bounds.exists():  # saves the LP solves; the build keeps only the entries these records use
        shutil.copy(committed_bounds, d / "lower_bounds.json")
    out = tmp_path / "LEADERBOARD.md"
    first = build(d, out)
    md, png, bounds = out.read_bytes(), (d / "leaderboard.png").read_bytes(), (d / "lower_bounds.json").read_text()
    assert first.stale[0] == str(out)  # no table existed before
    again = build(d, out, check=True)
    assert again.stale == [] and again.chart == png and out.read_bytes() == md
    assert "| 1 | reference | 1.000 | [1.000, 1.000] |" in md.decode()
    out.write_text(md.decode().replace("| reference |", "| ref |"))
    res = CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out), "--check"])
    assert res.exit_code == 1 and "stale" in res.output
    res = CliRunner().invoke(main, ["leaderboard", "build", "--dir", str(d), "--out", str(out)])
    assert res.exit_code == 0 and out.read_bytes() == md and (d / "lower_bounds.json").read_text() == bounds


def test_reference_scores_exactly_one_on_its_own_suite(evaluated: Path) -> None:
    """A fresh run of the reference, scored against the committed reference records: exactly 1.0."""
    committed = Path(__file__).resolve().parent.parent / "leaderboard" / "reference.jsonl"
    assert committed.exists(), "the reference's records must be committed (experiments/leaderboard_runs.py)"
    reference = read_records(committed)
    fresh = read_records(evaluated / "reference.jsonl")
    fresh += [_episode("a2gym/GeoServe-v0", seed, uri, policy=_reference) for uri in
              A2_TEST_V0.entry("a2gym/GeoServe-v0").scenarios[1:] for seed in A2_TEST_V0.seeds()]
    for env_id in ("a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServe-v0"):
        mine = [dataclasses.replace(r, policy="fresh") for r in fresh if r.env_id == env_id]
        ref = [r for r in reference if r.env_id == env_id and r.scenario_uri in {m.scenario_uri for m in mine}]
        s = score_entry(mine, ref)
        assert (s.score, s.ci_low, s.ci_high) == (1.0, 1.0, 1.0), env_id


def _reference(env, seed):
    from a2gym.policies import reference_policy

    return reference_policy(env)


def test_committed_leaderboard_matches_committed_records() -> None:
    """LEADERBOARD.md is what the committed records render to (replay is CI's `a2gym validate` step)."""
    from a2gym.leaderboard.build import record_files, render

    root = Path(__file__).resolve().parent.parent
    assert (root / "LEADERBOARD.md").exists(), "LEADERBOARD.md must be committed (a2gym leaderboard build)"
    records = [r for f in record_files(root / "leaderboard") for r in read_records(f)]
    res = render(root / "leaderboard", root / "LEADERBOARD.md", records, chart=False)
    assert res.stale == []


def test_one_agent_fits_every_scenario_of_an_env() -> None:
    """Observation and action spaces are the same on all of an env's test scenarios (with the suite kwargs)."""
    from a2gym.leaderboard.episode import make_env

    for entry in A2_TEST_V0.entries:
        spaces = set()
        for uri in entry.scenarios:
            env = make_env(entry.env_id, uri, entry.env_kwargs)
            spaces.add((repr(env.observation_space), repr(env.action_space)))
            env.close()
        assert len(spaces) == 1, (entry.env_id, spaces)


def test_sb3_maskable_model_is_evaluated_with_masks(tmp_path: Path) -> None:
    """``sb3:PATH`` reads the algorithm from the zip (MaskablePPO) and acts only through valid actions."""
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import MaskablePPO

    from a2gym.leaderboard.episode import make_env
    from a2gym.leaderboard.evaluate import evaluate_episode, resolve_policy

    env = make_env("a2gym/Placement-v0", SMALL["a2gym/Placement-v0"], {})
    MaskablePPO("MlpPolicy", env, n_steps=16, batch_size=16, seed=0, device="cpu").save(tmp_path / "m.zip")
    name, factory, builtin = resolve_policy(f"sb3:{tmp_path / 'm.zip'}")
    assert not builtin
    rec = evaluate_episode(A2_TEST_V0, "a2gym/Placement-v0", {}, SMALL["a2gym/Placement-v0"], 10_000, factory,
                           "untrained", False)
    assert rec.actions[-1] == env.action_space.n - 1  # ended with STOP, every action valid on replay


def test_sb3_model_with_other_spaces_is_refused_by_name(tmp_path: Path) -> None:
    """A model trained with other env kwargs (GeoServe's max_classes) gets a RecordError naming both spaces."""
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import MaskablePPO

    from a2gym.leaderboard.evaluate import evaluate_episode, resolve_policy

    uri = SMALL["a2gym/Placement-v0"]
    other = gym.make("a2gym/Placement-v0",
                     scenario="generator://synth-v0/3?classes=6&regions=2&models=2&datas=2&types=1")
    MaskablePPO("MlpPolicy", other, n_steps=16, batch_size=16, seed=0, device="cpu").save(tmp_path / "m.zip")
    _, factory, _ = resolve_policy(f"sb3:{tmp_path / 'm.zip'}")
    with pytest.raises(RecordError, match="was trained with observation_space"):
        evaluate_episode(A2_TEST_V0, "a2gym/Placement-v0", {}, uri, 10_000, factory, "mismatch", False)


def test_build_refuses_cherry_picked_seeds_and_free_records() -> None:
    """Only complete suite entries are ranked: seeds seed_base … seed_base + n - 1 (n >= MIN_SEEDS) on every
    scenario, and suite records only (a free record may use other env kwargs, e.g. no SLO penalty)."""
    from a2gym.leaderboard.build import suite_problems

    uris = A2_TEST_V0.entry("a2gym/Placement-v0").scenarios
    full = [_rec("p", u, s) for u in uris for s in A2_TEST_V0.seeds()]
    assert suite_problems(full, A2_TEST_V0) == []
    lucky = [r for r in full if not (r.scenario_uri == uris[0] and r.seed == 10_003)]  # dropped a bad seed
    assert any("seeds [10000, 10001, 10002, 10004]" in p for p in suite_problems(lucky, A2_TEST_V0))
    few = [r for r in full if r.seed < 10_000 + MIN_SEEDS - 1]
    assert suite_problems(few, A2_TEST_V0)
    free = [dataclasses.replace(full[0], suite=None), *full[1:]]
    assert any("not a record of suite" in p for p in suite_problems(free, A2_TEST_V0))


def test_sb3_model_that_cannot_be_loaded_is_a_record_error(tmp_path: Path) -> None:
    from a2gym.leaderboard.evaluate import resolve_policy

    with pytest.raises(RecordError, match="cannot be loaded"):
        resolve_policy(f"sb3:ppo:{tmp_path / 'missing.zip'}")  # was a bare FileNotFoundError traceback
