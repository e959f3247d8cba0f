"""What the masked-action handling (``invalid_action``) costs: env steps/s before and after, side by side.

    python -m benchmarks.bench_invalid_overhead --before REV [--after REV] [--rounds 5] [--seconds 3]
                                                [--out FILE]

``REV`` is a git revision from before the change (e.g. the parent of the commit that added
``a2gym/envs/invalid.py``); ``--after`` defaults to this checkout's files.  Each tree is exported with
``git archive`` into a temporary folder, and each
round times the same rows once in a subprocess of each tree, alternating which goes first, so both
versions see the same machine load.  Rows (paper-default-v0, replayed random *valid* actions, as
``bench_envs``): Placement-v0, Placement-v0 with ``invalid_action="raise"`` (after only), and the native
vector envs (N = 64).  Steps are counted per CPU second of the benchmark process (``time.process_time``),
which other processes' load on a shared machine disturbs far less than wall time.  The table gives the
median and range over the rounds, after/before of the medians, of the best rounds (the least disturbed
by other load) and the median over rounds of each round's after/before (a round runs both trees back to
back, so this pairs measurements taken under the same load).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = {
    "Placement-v0": "bench_single('a2gym/Placement-v0', S, C, scenario=U)",
    "Placement-v0 invalid_action='raise'":
        "bench_single('a2gym/Placement-v0', S, C, scenario=U, invalid_action='raise')",
    "Placement-v0 native vector (N=64, per env-step)":
        "bench_vector('a2gym/Placement-v0', 64, S, C, scenario=U)",
    "Scheduling-v0 native vector (N=64, per env-step)":
        "bench_vector('a2gym/Scheduling-v0', 64, S, C, scenario=U)",
}
AFTER_ONLY = {"Placement-v0 invalid_action='raise'"}
_PROBE = """
import json, sys, time
sys.path.insert(0, {bench!r})
from bench_envs import bench_single, bench_vector
S, U, C = {seconds!r}, 'scenario://paper-default-v0', time.process_time
print(json.dumps({{name: eval(expr) for name, expr in {rows!r}.items()}}))
"""


def run_tree(tree: Path, bench: Path, seconds: float, rows: dict[str, str]) -> dict[str, float]:
    """Steps/s of ``rows`` with ``tree`` first on the path, timed by the ``bench_envs`` copied to
    ``bench``."""
    code = _PROBE.format(bench=str(bench), seconds=seconds, rows=rows)
    env = {"PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                         env=env, cwd=tree, check=False)
    if out.returncode != 0:
        sys.exit(f"benchmark in {tree} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="git revision before the change")
    p.add_argument("--after", default=None, help="git revision after it (default: this checkout's files)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per row and round")
    p.add_argument("--out", default=None, help="also write the table here")
    args = p.parse_args()
    if args.rounds < 1 or not args.seconds > 0:
        sys.exit("--rounds must be >= 1 and --seconds > 0")
    revs = {}
    for label, name in (("before", args.before), ("after", args.after)):
        if name is None:
            continue
        rev = subprocess.run(["git", "rev-parse", "--short", name], capture_output=True, text=True, cwd=ROOT)
        if rev.returncode != 0:
            sys.exit(f"unknown git revision {name!r}")
        revs[label] = rev.stdout.strip()
    before_rows = {k: v for k, v in ROWS.items() if k not in AFTER_ONLY}
    got: dict[str, dict[str, list[float]]] = {"before": {k: [] for k in ROWS}, "after": {k: [] for k in ROWS}}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"after": ROOT}
        bench = Path(tmp) / "bench"  # this checkout's timing code, copied: later edits cannot reach the run
        bench.mkdir()
        shutil.copy(ROOT / "benchmarks" / "bench_envs.py", bench / "bench_envs.py")
        for label, rev in revs.items():
            trees[label] = Path(tmp) / label
            trees[label].mkdir()
            archive = subprocess.run(["git", "archive", rev], capture_output=True, cwd=ROOT, check=True)
            subprocess.run(["tar", "-x", "-C", str(trees[label])], input=archive.stdout, check=True)
        for k in range(args.rounds):
            order = [("before", trees["before"], before_rows), ("after", trees["after"], ROWS)]
            for label, tree, rows in (order if k % 2 == 0 else order[::-1]):
                for name, v in run_tree(tree, bench, args.seconds, rows).items():
                    got[label][name].append(v)
            print(f"round {k + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    after = revs.get("after", "this checkout")
    lines = [f"masked-action handling: env steps per CPU second on paper-default-v0, "
             f"before = {revs['before']}, after = {after}; median (min-max) of {args.rounds} alternating "
             f"rounds, {args.seconds:g} s per row",
             "", f"{'row':<52} {'before':>22} {'after':>22} {'after/before':>13} {'best/best':>10} "
             f"{'paired':>7}", "-" * 131]

    def cell(v: list[float]) -> str:
        return f"{statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})" if v else "-"

    for name in ROWS:
        b, a = got["before"][name], got["after"][name]
        ref = b or got["before"]["Placement-v0"]  # the raise row compares with Placement-v0 before
        ratio, best = statistics.median(a) / statistics.median(ref), max(a) / max(ref)
        paired = statistics.median(x / y for x, y in zip(a, ref, strict=True))
        lines.append(f"{name:<52} {cell(b):>22} {cell(a):>22} {ratio:>13.3f} {best:>10.3f} {paired:>7.3f}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
