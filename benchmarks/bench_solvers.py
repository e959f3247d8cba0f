"""Solver benchmark: gap to the MILP optimum, greedy time vs size, MILP time/status with CBC and HiGHS.

    python -m benchmarks.bench_solvers [--quick] [--out benchmarks/results/solvers.txt]

(a) gap of A2-Greedy and A2-LPRound to the exact A2-MILP optimum on generated small scenarios
    (splittable plans vs the splittable MILP, and unsplit greedy vs the unsplittable MILP);
(b) A2-Greedy wall time vs size, with the gap to the LP lower bound where the LP fits;
(c) MILP wall time and status vs size, CBC and HiGHS side by side.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np

import a2gym
from a2gym import SolverError
from a2gym.solvers import solve
from a2gym.solvers.milp import highs_available

SMALL = "generator://synth-v0/{seed}?classes=12&regions=4&models=3&datas=3&types=1"
MEDIUM = "generator://synth-v0/{seed}?classes=20&regions=5&models=4&datas=4&types=2"


def _stats(x: list[float]) -> str:
    a = np.asarray(x)
    return f"mean {a.mean():.4f}  median {np.median(a):.4f}  worst {a.max():.4f}"


def gap_table(out: io.StringIO, n_small: int, n_medium: int) -> None:
    rows: dict[str, list[float]] = {k: [] for k in ("greedy", "greedy_unsplit", "lpround", "prc")}
    times: dict[str, list[float]] = {k: [] for k in ("greedy", "lpround", "milp", "milp_int")}
    uris = [SMALL.format(seed=s) for s in range(n_small)] + [MEDIUM.format(seed=s) for s in range(n_medium)]
    for uri in uris:
        s = a2gym.load_scenario(uri)
        opt = solve(s, "milp")
        opt_int = solve(s, "milp", integral=True)
        assert opt.status == opt_int.status == "optimal", uri
        g = solve(s, "greedy")
        gu = solve(s, "greedy", split=False)
        lp = solve(s, "lpround", seed=0)
        prc = solve(s, "per-request-cheapest")
        rows["greedy"].append(g.total / opt.total)
        rows["greedy_unsplit"].append(gu.total / opt_int.total)
        rows["lpround"].append(lp.total / opt.total)
        rows["prc"].append(prc.total / opt.total)
        for k, sol in (("greedy", g), ("lpround", lp), ("milp", opt), ("milp_int", opt_int)):
            times[k].append(sol.wall_time)
    print(
        f"(a) cost / MILP optimum on {len(uris)} generated scenarios "
        f"({n_small} x {SMALL.format(seed='<seed>')}, {n_medium} x {MEDIUM.format(seed='<seed>')})",
        file=out,
    )
    print(f"  A2-Greedy (split polish)  vs split MILP  : {_stats(rows['greedy'])}", file=out)
    print(f"  A2-Greedy (unsplit)       vs unsplit MILP: {_stats(rows['greedy_unsplit'])}", file=out)
    print(f"  A2-LPRound (seed 0)       vs split MILP  : {_stats(rows['lpround'])}", file=out)
    print(f"  per-request cheapest      vs split MILP  : {_stats(rows['prc'])}", file=out)
    g = np.asarray(rows["greedy"])
    print(f"  greedy exactly optimal (≤1e-6) on {int((g <= 1 + 1e-6).sum())}/{len(g)}; "
          f"within 2%: {int((g <= 1.02).sum())}; within 10%: {int((g <= 1.10).sum())}", file=out)
    for k, v in times.items():
        print(f"  time {k:<9}: mean {np.mean(v):.3f} s, max {np.max(v):.3f} s", file=out)


def size_table(out: io.StringIO, quick: bool) -> None:
    cases = [("scenario://paper-default-v0", True),
             ("generator://synth-v0/1?classes=500&regions=20", True),
             ("generator://synth-v0/1?classes=2000&regions=20", not quick)]
    print("\n(b) A2-Greedy time vs size (gap to the LP lower bound where it fits)", file=out)
    print(
        f"  {'scenario':<50} {'R':>5} {'I':>5} {'greedy s':>9} {'cost $':>10} {'LB $':>10} {'LB s':>7} "
        f"{'cost/LB':>8}",
        file=out,
    )
    for uri, with_lb in cases:
        s = a2gym.load_scenario(uri)
        sol = solve(s, "greedy")
        lb_s = lb = None
        if with_lb:
            t0 = time.perf_counter()
            try:
                lb = a2gym.lower_bound(s, time_limit=300)
            except SolverError:
                lb = None
            lb_s = time.perf_counter() - t0
        lbt = f"{lb:>10.3f} {lb_s:>7.1f} {sol.total / lb:>8.4f}" if lb else f"{'-':>10} {'-':>7} {'-':>8}"
        print(
            f"  {uri:<50} {s.n_classes:>5} {s.n_facilities:>5} "
            f"{sol.wall_time:>9.3f} {sol.total:>10.3f} {lbt}",
            file=out,
        )


def milp_table(out: io.StringIO, quick: bool, time_limit: float) -> None:
    sizes = [(12, 4), (30, 6), (60, 9)] + ([] if quick else [(120, 9), (250, 12)])
    backends = ["cbc"] + (["highs"] if highs_available() else [])
    print(
        f"\n(c) A2-MILP time and status vs size (time limit {time_limit:g} s; cost of A2-Greedy for "
        f"reference)",
        file=out,
    )
    head = f"  {'classes x regions':<18} {'vars':>7}" + "".join(
        f" {b + ' s':>9} {b + ' status':>16}" for b in backends
    )
    print(head + f" {'MILP $':>10} {'greedy $':>10}", file=out)
    for R, K in sizes:
        s = a2gym.load_scenario(f"generator://synth-v0/7?classes={R}&regions={K}")
        cells, nvars, best = [], "-", np.inf
        for b in backends:
            t0 = time.perf_counter()
            try:
                sol = solve(s, "milp", time_limit=time_limit, backend=b)
                st = sol.status + (f" {100 * sol.gap:.1f}%" if sol.gap else "")
                nvars = str(sol.info["n_vars"])
                best = min(best, sol.total)
            except SolverError as e:
                st = "no solution" if "within" in str(e) else "error"
            cells.append(f" {time.perf_counter() - t0:>9.2f} {st:>16}")
        g = solve(s, "greedy").total
        print(f"  {f'{R} x {K}':<18} {nvars:>7}" + "".join(cells) + f" {best:>10.3f} {g:>10.3f}", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer scenarios and sizes")
    ap.add_argument("--out", default="benchmarks/results/solvers.txt")
    ap.add_argument("--time-limit", type=float, default=60.0, help="MILP time limit in (c) [s]")
    a = ap.parse_args()
    out = io.StringIO()
    t0 = time.perf_counter()
    gap_table(out, 10 if a.quick else 50, 3 if a.quick else 15)
    print(out.getvalue(), end="", flush=True)
    n = len(out.getvalue())
    size_table(out, a.quick)
    print(out.getvalue()[n:], end="", flush=True)
    n = len(out.getvalue())
    milp_table(out, a.quick, a.time_limit)
    print(out.getvalue()[n:], end="", flush=True)
    print(f"\ntotal benchmark time {time.perf_counter() - t0:.0f} s on this machine", file=out)
    print(out.getvalue().splitlines()[-1])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
