"""Cost-model build time and ``evaluate`` time versus scenario size (prints a table).

Run: ``python -m benchmarks.bench_costmodel [--repeats N]``. Targets (issue 2): build on the default
scenario < 50 ms; 2,000 classes x 20 regions < 2 s; ``evaluate`` on the default < 1 ms.
Each figure is the median of N repeats, all sizes measured in one run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from a2gym import load_scenario
from a2gym.costmodel import CostModel

SIZES = [
    ("scenario://paper-default-v0", "default"),
    ("generator://synth-v0/1?classes=500&regions=12&models=8&datas=15&types=2", "500 classes x 12 regions"),
    ("generator://synth-v0/2?classes=2000&regions=20&models=8&datas=15&types=2", "2,000 classes x 20 regions"),
]


def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    table = Table(title=f"cost model (median of {args.repeats})")
    for col in ("scenario", "R x K x M x D x H", "feasible tuples", "build ms", "evaluate ms", "assignment_cost ms"):
        table.add_column(col, justify="right")
    for uri, label in SIZES:
        s = load_scenario(uri, check_feasible=False)
        build = _median_s(lambda s=s: CostModel(s), args.repeats)
        cm = CostModel.of(s)
        fac = np.argmin(cm.C, axis=1)
        plan = cm.materialise(fac)
        ev = _median_s(lambda cm=cm, plan=plan: cm.evaluate(plan), max(args.repeats, 50))
        fast = _median_s(lambda cm=cm, fac=fac: cm.assignment_cost(fac), max(args.repeats, 50))
        R, K, M, D, H = cm.shape
        table.add_row(label, f"{R}x{K}x{M}x{D}x{H}", f"{int(cm.feasible.sum()):,}", f"{build * 1e3:.1f}",
                      f"{ev * 1e3:.3f}", f"{fast * 1e3:.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
