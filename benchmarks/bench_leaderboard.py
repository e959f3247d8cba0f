"""Leaderboard commands against the replay of the same records (issue 22: at most 3x ``validate``).

Run: ``python -m benchmarks.bench_leaderboard [--entry leaderboard/placement-general.jsonl]``. Each command
runs as its own process, as a user types it, in this checkout with an empty normaliser cache
(``A2GYM_CACHE_DIR`` set to a fresh temporary folder, as in a fresh clone), one after the other in one run:

* ``a2gym validate ENTRY`` (replay) and ``a2gym leaderboard score ENTRY``: one entry;
* ``a2gym validate leaderboard/*.jsonl`` (replay of every committed record) and
  ``a2gym leaderboard build --check`` (re-executes every entry, replays, recomputes the board).

Prints wall seconds and each command's ratio to its replay, with the load average beside the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str], cache: str) -> float:
    """Wall seconds of ``a2gym ARGS`` in a fresh process (exit status must be 0)."""
    exe = Path(sys.executable).with_name("a2gym")
    t0 = time.perf_counter()
    out = subprocess.run([str(exe), *args], cwd=ROOT, env={**os.environ, "A2GYM_CACHE_DIR": cache},
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"a2gym {' '.join(args)} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entry", default="leaderboard/placement-general.jsonl")
    args = ap.parse_args()
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "leaderboard").glob("*.jsonl"))
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        one = timed(["validate", args.entry], cache)
        rows += [(f"validate {args.entry}", one, 1.0)]
        t = timed(["leaderboard", "score", args.entry], cache)
        rows += [(f"leaderboard score {args.entry}", t, t / one)]
    with tempfile.TemporaryDirectory() as cache:
        allv = timed(["validate", *files], cache)
        rows += [(f"validate ({len(files)} committed files)", allv, 1.0)]
        t = timed(["leaderboard", "build", "--check"], cache)
        rows += [("leaderboard build --check", t, t / allv)]
    print(f"load average {os.getloadavg()[0]:.1f}; target: each command <= 3x its replay")
    print(f"{'command':60s} {'wall s':>8s} {'x replay':>9s}")
    for name, sec, ratio in rows:
        print(f"{name:60s} {sec:8.1f} {ratio:9.2f}")


if __name__ == "__main__":
    main()
