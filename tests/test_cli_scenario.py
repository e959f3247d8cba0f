"""`a2gym scenario show|export` through the real console script and click's runner."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

import a2gym
from a2gym.cli import main


def test_export_round_trips_with_same_sha(tmp_path):
    out = tmp_path / "default.json"
    res = CliRunner().invoke(main, ["scenario", "export", "scenario://paper-default-v0", str(out)])
    assert res.exit_code == 0, res.output
    s = a2gym.load_scenario("scenario://paper-default-v0")
    assert a2gym.load_scenario(str(out)).sha256 == s.sha256
    assert json.loads(out.read_text())["sha256"] == s.sha256


def test_show_prints_sizes_and_feasibility():
    res = CliRunner().invoke(
        main, ["scenario", "show", "generator://synth-v0/3?classes=20&regions=5", "--assumptions"]
    )
    assert res.exit_code == 0, res.output
    assert "classes R=20" in res.output
    assert "infeasible classes: 0" in res.output


def test_bad_uri_is_one_clear_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "a2gym.cli", "scenario", "show", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr
    assert "Traceback" not in proc.stderr
    res = CliRunner().invoke(main, ["scenario", "show", "scenario://no-such-thing"])
    assert res.exit_code == 2
    assert "unknown scenario 'scenario://no-such-thing'" in res.output
