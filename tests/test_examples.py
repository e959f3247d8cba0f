"""The files in examples/ work as the README's walkthrough uses them (issue 22: newcomer friction)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_leaderboard_template_evaluates_and_validates(tmp_path: Path) -> None:
    """``a2gym eval`` of the template on the validation split writes records that ``validate --rerun``
    accepts, and the template scores above the built-in baselines (a template worth copying)."""
    out = tmp_path / "val.jsonl"
    cli = [str(Path(sys.executable).parent / "a2gym")]
    run = subprocess.run([*cli, "eval", "--policy", "examples/leaderboard_policy.py:make", "--suite",
                          "a2-val-v1", "--env", "a2gym/Placement-v0", "--name", "my-policy",
                          "--not-trained-on-test", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["policy"] == "examples/leaderboard_policy.py:make" and len(lines) == 21
    assert "my-policy" in run.stdout
    rows = [ln.split() for ln in run.stdout.splitlines() if ln.strip().startswith("my-policy ")]
    score = float(rows[0][1])
    assert 0.5 < score < 1.0
    check = subprocess.run([*cli, "validate", "--rerun", str(out)], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
