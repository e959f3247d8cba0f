"""Suites are data: ``a2gym/data/suites/*.json`` read by one loader; a new suite is a new file (issue 22)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from a2gym.errors import RecordError
from a2gym.leaderboard import suite as suite_mod
from a2gym.leaderboard.episode import manifest
from a2gym.leaderboard.suite import SUITE_DIR, SUITES, load_suite_file

ROOT = Path(__file__).resolve().parent.parent


def test_every_suite_file_loads_and_names_only_pinned_scenarios() -> None:
    pins = manifest()
    files = sorted(SUITE_DIR.glob("*.json"))
    assert {p.stem for p in files} == set(SUITES) >= {"a2-test-v0", "a2-test-v1", "a2-val-v1"}
    for path in files:
        suite, doc = load_suite_file(path)
        for e in suite.entries:
            for uri in e.scenarios:
                assert uri.removeprefix("scenario://") in pins, (path.name, uri)
        played = {u.removeprefix("scenario://") for e in suite.entries for u in e.scenarios}
        assert set(doc["scenarios"]) == played


def test_a_new_suite_is_a_file(tmp_path: Path) -> None:
    doc = json.loads((SUITE_DIR / "a2-val-v1.json").read_text(encoding="utf-8"))
    doc.update(name="my-split", ranked=False, default_seeds=7, seed_base=20_000)
    doc["envs"] = [e for e in doc["envs"] if e["env_id"] == "a2gym/Placement-v0"]
    path = tmp_path / "my-split.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    suite, _ = load_suite_file(path)
    assert suite.name == "my-split" and suite.env_ids == ("a2gym/Placement-v0",)
    assert suite.seeds() == list(range(20_000, 20_007))


def _broken(tmp_path: Path, name: str, change) -> Path:  # noqa: ANN001
    doc = json.loads((SUITE_DIR / "a2-test-v1.json").read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(extra=1), "unknown keys"),
    (lambda d: d.update(format="zip"), "format must be"),
    (lambda d: d["envs"][0]["scenarios"].append("a2-test-v1/huge-9"), "names a scenario the file does not"),
    (lambda d: d.update(default_seeds=2), "default_seeds must be in"),
    (lambda d: d.update(seed_base=-1), "'seed_base' must be an integer"),
    (lambda d: d["envs"].append(dict(d["envs"][0])), "an env is listed twice"),
    (lambda d: d.update(optimum={"file": "x"}), "'optimum' must hold"),
    (lambda d: d.update(envs=[]), "'envs' must be a non-empty list"),
])
def test_a_malformed_suite_file_is_named_with_its_field(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(RecordError, match=message):
        load_suite_file(_broken(tmp_path, "a2-test-v1", change))


def test_a_suite_file_must_carry_its_own_name_and_parse(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="must match .* the file name"):
        load_suite_file(_broken(tmp_path, "other-name", lambda d: None))
    bad = tmp_path / "x.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RecordError, match="x.json cannot be read"):
        load_suite_file(bad)


def test_build_suite_pins_the_optimum_in_the_suite_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("build_suite", ROOT / "scripts" / "build_suite.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    suite_file = tmp_path / "a2-test-v1.json"
    suite_file.write_text((SUITE_DIR / "a2-test-v1.json").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(mod, "SUITE_FILE", suite_file)
    monkeypatch.setattr(mod, "SCENARIOS", tmp_path)
    text = '{"scenarios": {}}\n'
    assert len(mod.pin_optimum(text, check=True)) == 2 and not (tmp_path / suite_mod.OPTIMUM_FILE).exists()
    mod.pin_optimum(text, check=False)
    assert (tmp_path / suite_mod.OPTIMUM_FILE).read_text(encoding="utf-8") == text
    pinned = json.loads(suite_file.read_text(encoding="utf-8"))["optimum"]["sha256"]
    assert pinned == __import__("hashlib").sha256(text.encode()).hexdigest()
    assert mod.pin_optimum(text, check=True) == []
