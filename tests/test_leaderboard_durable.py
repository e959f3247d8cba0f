"""``a2gym eval`` loses no finished episode: kill -9, SIGTERM, a folder that stops being writable, a full
disk (issue 18). Each finished episode is appended and fsync-ed as it ends; ``--append`` resumes; the
lock is released on signals and a stale one is taken over."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2gym.cli import main
from a2gym.leaderboard import evaluate as evaluate_mod
from a2gym.leaderboard import suite as suite_mod
from a2gym.leaderboard.record import read_records, read_results
from tests.test_leaderboard import TINY

ROOT = Path(__file__).resolve().parents[1]
RUN_TINY = ("import sys; from a2gym.leaderboard import suite as s; from tests.test_leaderboard import TINY; "
            "s.SUITES['a2-test-v1'] = TINY; from a2gym.cli import main; sys.argv[0] = 'a2gym'; main()")
SPEC = "tests.lb_attacks:slow_third"


def _start(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", RUN_TINY, "eval", "--policy", SPEC, "--name", "slow",
                             "--not-trained-on-test", "--out", str(out), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_records(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if out.exists() and len(read_results(out).records) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("eval did not finish episodes in time")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_eval_keeps_every_finished_episode_and_append_resumes(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "e.jsonl"
    lock = tmp_path / ".e.jsonl.lock"
    proc = _start(out)
    _wait_for_records(out, 2, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    h, recs = read_records(out)  # every line whole
    assert [r.seed for r in recs] == [10_000, 10_001]
    if sig == signal.SIGTERM:
        assert proc.returncode == 2 and "interrupted by SIGTERM" in err and "--append" in err, err
        assert not lock.exists()
    else:
        assert lock.exists()  # left behind by kill -9: taken over below
    proc = _start(out, "--append")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    h2, recs2 = read_records(out)
    assert h2 == h and recs2[:2] == recs and len(recs2) == 2 * 5 and not lock.exists()


def test_a_line_cut_short_by_a_kill_is_dropped_on_append(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    out = tmp_path / "c.jsonl"
    args = ["eval", "--policy", "cheapest", "--seeds", "5", "--out", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    text = out.read_text()
    whole = read_records(out)
    lines = text.splitlines(keepends=True)
    out.write_text("".join(lines[:4]) + lines[4][:50])  # header, 3 records, half a line
    res = CliRunner().invoke(main, [*args, "--append"])
    assert res.exit_code == 0, res.output
    assert read_records(out) == whole  # (equality ignores the measured wall times)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_write_that_fails_puts_the_finished_episodes_in_a_named_fallback_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    monkeypatch.setitem(suite_mod.SUITES, "a2-test-v1", TINY)
    monkeypatch.setenv("A2GYM_FALLBACK_DIR", str(tmp_path / "fb"))
    (tmp_path / "fb").mkdir()
    out = tmp_path / "d.jsonl"
    real_add = evaluate_mod._Appender.add

    def add(self, rec):  # the disk fills up (or the folder turns read-only) at the 4th episode
        if len(self.done) == 3:
            self.done.append(rec)
            return self._fail(OSError(err, os.strerror(err)))
        return real_add(self, rec)

    monkeypatch.setattr(evaluate_mod._Appender, "add", add)
    res = CliRunner().invoke(main, ["eval", "--policy", "cheapest", "--seeds", "5", "--out", str(out)])
    assert res.exit_code == 2 and os.strerror(err) in res.output and "--append" in res.output, res.output
    fb = evaluate_mod.fallback_path(out)
    assert str(fb) in res.output and len(read_records(fb)[1]) == 4
    assert len(read_records(out)[1]) == 3  # what was written before stays
    assert not (tmp_path / ".d.jsonl.lock").exists()
