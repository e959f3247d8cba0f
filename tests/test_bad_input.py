"""Bad input to the library and the CLI: one clear line, exit 2, nothing hangs, nothing half written.

Each test here fails on the code before issue 13 (a hang, a raw traceback, a replaced device node,
``NaN`` in JSON, a silently accepted file or argument).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import a2gym
from a2gym.cli import main
from a2gym.errors import FileError, ScenarioError, SolverError
from a2gym.scenario import Scenario
from a2gym.scenario.validation import MAX_DESCRIPTION_CHARS

SMALL = "scenario://a2-test-v0/placement-1"
ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real console script in a subprocess, killed after ``timeout`` s (a hang fails the test)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "a2gym.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return lines[0]


def _small(tmp_path: Path, **changes) -> Path:
    s = a2gym.load_scenario(SMALL)
    path = tmp_path / "s.json"
    (s.replace(**changes) if changes else s).save(path)
    return path


# ------------------------------------------------------------------------------------------ scenario files
def test_a_fifo_or_dev_zero_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        proc = _cli("scenario", "show", target, timeout=60)
        assert proc.returncode == 2 and "not a regular file" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    from a2gym.scenario import types

    path = _small(tmp_path)
    monkeypatch.setattr(types, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ScenarioError, match="more than the limit"):
        Scenario.load(path)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"format": "a2gym-scenario", "format_version": 1, "content": '
                                  + '{"a": ' * 50_000 + "1" + "}" * 50_001])
def test_deeply_nested_json_is_one_line(tmp_path, text):
    p = tmp_path / "deep.json"
    p.write_text(text)
    assert "nested too deeply" in _one_line_error(CliRunner().invoke(main, ["scenario", "show", str(p)]))


@pytest.mark.parametrize("uri", ["", "   "])
def test_an_empty_uri_is_one_line(uri):
    assert "empty" in _one_line_error(CliRunner().invoke(main, ["scenario", "show", uri]))


def test_a_file_without_sha256_is_refused_unless_asked(tmp_path):
    path = _small(tmp_path)
    doc = json.loads(path.read_text())
    del doc["sha256"]
    path.write_text(json.dumps(doc))
    assert "'sha256' is missing" in _one_line_error(CliRunner().invoke(main, ["scenario", "show", str(path)]))
    s = Scenario.load(path, require_sha256=False)
    assert s.sha256 == a2gym.load_scenario(SMALL).sha256


@pytest.mark.parametrize("field, value", [("description", "x" * (MAX_DESCRIPTION_CHARS + 1)),
                                          ("name", "n" * 201)])
def test_text_fields_are_bounded(field, value):
    with pytest.raises(ScenarioError, match=f"{field} is .* characters long"):
        a2gym.load_scenario(SMALL).replace(**{field: value})


def test_show_prints_markup_and_long_words_literally_and_fast(tmp_path):
    word = "w" * MAX_DESCRIPTION_CHARS  # one long word: quadratic in rich's wrapping (16 KB took 3 s)
    s = a2gym.load_scenario(SMALL)
    path = _small(tmp_path, name="evil[/x]name[bold]", description=word,
                  regions=tuple(f"{r}[/b]" for r in s.regions), deployment_home_region="")
    proc = _cli("scenario", "show", str(path), "--assumptions", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "evil[/x]name[bold]" in proc.stdout and "[/b]" in proc.stdout
    assert proc.stdout.count("w") >= MAX_DESCRIPTION_CHARS
    res = CliRunner().invoke(main, ["solve", str(path)])
    assert res.exit_code == 0, res.output
    assert "evil[/x]name[bold]" in res.output


# --------------------------------------------------------------------------------------------- outputs
def test_export_refuses_a_device_and_a_symlink(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    for target, why in (("/dev/full", "not a regular file"), (str(link), "symbolic link"),
                        (str(tmp_path / "nodir" / "x.json"), "does not exist")):
        assert why in _one_line_error(CliRunner().invoke(main, ["scenario", "export", SMALL, target]))
    assert os.path.exists("/dev/full") and not Path("/dev/full").is_file()
    assert link.is_symlink() and real.read_text() == "keep me"


def test_save_is_atomic_and_refuses_non_regular_targets(tmp_path):
    s = a2gym.load_scenario(SMALL)
    with pytest.raises(FileError, match="not a regular file"):
        s.save(tmp_path)  # a directory
    out = s.save(tmp_path / "ok.json")
    assert Scenario.load(out).sha256 == s.sha256
    assert [p.name for p in tmp_path.iterdir()] == ["ok.json"]  # no temp file left behind


@pytest.mark.parametrize("plot, why", [("nodir/map.png", "does not exist"), ("map.txt", "must end in .png")])
def test_plot_path_is_checked_before_solving(tmp_path, plot, why):
    res = CliRunner().invoke(main, ["solve", SMALL, "--plot", str(tmp_path / plot)])
    assert why in _one_line_error(res)
    assert list(tmp_path.iterdir()) == []


def test_plot_is_written(tmp_path):
    res = CliRunner().invoke(main, ["solve", SMALL, "--plot", str(tmp_path / "map.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_solve_json_is_valid_json_when_all_rates_are_zero(tmp_path):
    s = a2gym.load_scenario(SMALL)
    path = _small(tmp_path, class_rate=np.zeros(s.n_classes))
    res = CliRunner().invoke(main, ["solve", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert "NaN" not in res.output
    d = json.loads(res.output)
    assert d["per_1k_requests"] is None and "no requests" in d["per_1k_requests_note"]
    res = CliRunner().invoke(main, ["solve", str(path)])
    assert res.exit_code == 0 and "nan" not in res.output.lower(), res.output


@pytest.mark.parametrize("kicks", [-1, 1.5, True, "3"])
def test_bad_kicks_are_refused(kicks):
    with pytest.raises(SolverError, match="kicks"):
        a2gym.solve(SMALL, "greedy", kicks=kicks)


# ------------------------------------------------------------------------------------------------ imports
def test_cli_fails_loudly_when_a_command_module_breaks(tmp_path):
    """A command module that raises on import must break the CLI, not vanish from it."""
    code = ("import sys, types, importlib.abc\n"
            "class Boom(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'a2gym.cli.solve_cmd':\n"
            "            raise ImportError('broken on purpose')\n"
            "sys.meta_path.insert(0, Boom())\n"
            "import a2gym.cli\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode != 0 and "broken on purpose" in proc.stderr


def test_importing_viz_leaves_matplotlib_backend_alone():
    code = (
        "import matplotlib; matplotlib.use('svg'); import a2gym.viz, a2gym.cli; "
        "import matplotlib as m; print(m.get_backend()); import sys; print('matplotlib.pyplot' in "
        "sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["svg", "False"]


# -- issue 18: numbers that do not fit, sizes past their caps, control characters -------------------------

@pytest.mark.parametrize("cmd", [["scenario", "show"], ["solve"]])
def test_a_number_that_does_not_fit_a_float_is_one_line(tmp_path, cmd):
    s = a2gym.load_scenario(SMALL).to_dict()
    s["epoch_hours"] = 10**400
    with pytest.raises(ScenarioError, match="does not fit a float"):
        Scenario.from_dict(s)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"format": "a2gym-scenario", "format_version": 1, "content": s}))
    line = _one_line_error(CliRunner().invoke(main, [*cmd, str(path)]))
    assert "epoch_hours" in line and "does not fit a float" in line


def test_a_rate_that_would_overflow_the_solvers_is_refused_with_its_cap():
    s = a2gym.load_scenario(SMALL).to_dict()
    s["class_rate"] = [1e300] + list(s["class_rate"])[1:]
    with pytest.raises(ScenarioError, match=r"class_rate holds 1e\+300, beyond the cap of 1e\+06"):
        Scenario.from_dict(s)


def test_sizes_past_their_caps_fail_fast_naming_the_cap():
    import time

    import gymnasium as gym

    from a2gym.envs.source import MAX_ENV_CLASSES

    t0 = time.monotonic()
    with pytest.raises(ScenarioError, match=f"cap of {MAX_ENV_CLASSES}"):
        gym.make("a2gym/Placement-v0", scenario=f"generator://synth-v0/1?classes={10 * MAX_ENV_CLASSES}")
    with pytest.raises(ValueError, match="cap of 1024"):
        gym.make("a2gym/GeoServeCapacity-v0", max_instances=10**9)
    assert time.monotonic() - t0 < 30
    res = CliRunner().invoke(main, ["eval", "--policy", "cheapest", "--seeds", str(10**12), "--out",
                                    "never.jsonl"])
    assert "at most 1000" in _one_line_error(res)


def test_control_characters_in_names_are_printed_escaped(tmp_path):
    path = _small(tmp_path, name="evil\x1b[31mRED\x00\u202e", description="d\x1b[2J")
    for cmd in (["scenario", "show"], ["solve"]):
        res = CliRunner().invoke(main, [*cmd, str(path)])
        assert res.exit_code == 0, res.output
        assert "\x1b" not in res.output and "\x00" not in res.output and "\u202e" not in res.output
        assert "evil\\x1b[31mRED\\x00\\u202e" in res.output.replace("\\\\", "\\")
