"""Paper headline on ``scenario://paper-default-v0``: A2-Greedy vs the §9 baselines, plus sweeps.

    python -m experiments.paper [--quick] [--out results/paper]

Writes to ``--out``:

* ``headline.csv`` / ``headline.md``: cost [$ per epoch] of A2-Greedy, A2-LPRound, the exact MILP and
  the LP lower bound, and of every baseline (no adaptation, model-only, data-only, local, per-request
  cheapest, random), with A2-Greedy's % saving against each.  Restricted baselines run the *same*
  solver on the restricted instance (greedy, and the MILP as a cross-check), so each saving isolates
  one adaptation dimension.
* ``sweep_<name>.csv`` and ``sweep_<name>.png`` for the latency-SLO scale, the accuracy-floor shift,
  the bandwidth-price scale and the load scale (each applied with ``Scenario.replace``).

The scenario is not tuned: the numbers are what the bundled data give.

The tracked files hold results only, never wall times (those go to stdout), and a file is rewritten
only when its content changes, so a re-run that reproduces the numbers leaves ``git status`` clean.
A baseline that is infeasible at a sweep point (e.g. no adaptation at tight SLOs: no single model and
data version serves every class) is written as ``infeasible``, not as a number.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import a2gym
from a2gym import InfeasibleError, SolverError
from a2gym.fileio import atomic_write_bytes
from a2gym.scenario import Scenario
from a2gym.solvers import RESTRICTIONS, solve

URI = "scenario://paper-default-v0"
BASELINES = [*RESTRICTIONS, "per-request-cheapest", "random"]
LABEL = {"no-adaptation": "no adaptation (NA)", "model-only": "model-only (MA)", "data-only": "data-only (DA)",
         "local": "local / nearest-DC (LOC)", "per-request-cheapest": "per-request cheapest (PRC)",
         "random": "random feasible"}


def run_baseline(s: Scenario, name: str, method: str = "greedy", **kw):
    """Solve baseline ``name`` (a restriction solved by ``method``, or PRC / random)."""
    if name in RESTRICTIONS:
        return solve(s, method, restrict=name, **kw)
    return solve(s, name, seed=0)


def headline(s: Scenario, out: Path, milp_limit: float) -> list[dict]:
    rows: list[dict] = []

    def add(name: str, sol, kind: str) -> None:
        c = sol.cost
        rows.append({"plan": name, "kind": kind, "method": sol.method, "status": sol.status,
                     "total": c.total, "compute": c.compute, "bandwidth": c.bandwidth, "deployment": c.deployment,
                     "per_1k_requests": c.per_1k_requests, "instances": int(c.instances.sum()),
                     "fixed": "; ".join(f"{k}={v}" for k, v in sol.info.get("restriction", {}).items())})
        print(f"  {name}: {sol.wall_time:.2f} s")

    g = solve(s, "greedy")
    add("A2-Greedy (reference)", g, "ours")
    add("A2-LPRound", solve(s, "lpround", seed=0), "ours")
    opt = None
    try:
        opt = solve(s, "milp", time_limit=milp_limit)
        add("A2-MILP (exact)", opt, "bound")
    except SolverError as e:
        print(f"MILP: {e}")
    t0 = time.perf_counter()
    lb = a2gym.lower_bound(s)
    rows.append({"plan": "LP lower bound", "kind": "bound", "method": "lp", "status": "bound", "total": lb})
    print(f"  LP lower bound: {time.perf_counter() - t0:.2f} s")
    for b in BASELINES:
        try:
            add(LABEL[b], run_baseline(s, b), "baseline")
        except InfeasibleError as e:
            print(f"{b}: infeasible: {e}")
    if opt is not None:
        for b in RESTRICTIONS:
            try:
                sol = solve(s, "milp", restrict=b, time_limit=milp_limit)
                add(LABEL[b] + " [MILP]", sol, "baseline-opt")
            except (InfeasibleError, SolverError) as e:
                print(f"{b} MILP: {e}")
    for r in rows:
        r["greedy_saving_pct"] = 100.0 * (1 - g.total / r["total"]) if r["total"] > 0 else float("nan")
        if opt is not None and r["kind"] == "baseline-opt":
            r["opt_saving_pct"] = 100.0 * (1 - opt.total / r["total"])
    _write_csv(out / "headline.csv", rows)
    return rows


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless the file already holds exactly it (a reproduced result)."""
    if path.exists() and path.read_bytes() == data:
        return
    atomic_write_bytes(path, data, "result file")


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else "infeasible" if v is INFEASIBLE else v)
                    for k, v in r.items()})
    _write_if_changed(path, buf.getvalue().encode("utf-8"))


INFEASIBLE = object()  # a baseline's restriction leaves some class without an option at this sweep point


def _scaled(s: Scenario, what: str, x: float) -> Scenario:
    if what == "slo_scale":
        return s.replace(class_latency_slo_ms=s.class_latency_slo_ms * x)
    if what == "accuracy_shift":
        return s.replace(class_accuracy_floor=np.clip(s.class_accuracy_floor + x, 0.0, 1.0))
    if what == "bandwidth_price_scale":
        return s.replace(egress_per_gb=s.egress_per_gb * x)
    if what == "load_scale":
        return s.replace(class_rate=s.class_rate * x)
    raise ValueError(what)


SWEEPS: dict[str, tuple[list[float], list[float], str]] = {
    "slo_scale": ([0.6, 0.8, 1.0, 1.25, 1.5, 2.0], [0.8, 1.0, 1.5], "latency SLO x"),
    "accuracy_shift": ([-0.06, -0.03, 0.0, 0.01, 0.02], [-0.03, 0.0, 0.01], "accuracy floor + (top-1)"),
    "bandwidth_price_scale": ([0.5, 1.0, 2.0, 5.0, 10.0, 20.0], [1.0, 5.0, 20.0], "transfer price x"),
    "load_scale": ([0.25, 0.5, 1.0, 2.0, 4.0, 8.0], [0.5, 1.0, 4.0], "request rate x"),
}


def sweep(s: Scenario, what: str, xs: list[float], out: Path, xlabel: str,
          log: Callable[[str], None]) -> list[dict]:
    rows = []
    for x in xs:
        row: dict = {what: x}
        try:
            sx = _scaled(s, what, x)
            a2gym.load_scenario(sx)
        except InfeasibleError as e:
            log(f"  {what}={x}: infeasible ({len(e.classes)} classes)")
            rows.append(row)
            continue
        g = solve(sx, "greedy")
        row["greedy"] = g.total
        row["lower_bound"] = a2gym.lower_bound(sx)
        for b in BASELINES:
            try:
                row[b] = run_baseline(sx, b).total
                row[f"saving_vs_{b}_pct"] = 100.0 * (1 - g.total / row[b])
            except InfeasibleError:
                row[b] = INFEASIBLE
        rows.append(row)
        log(f"  {what}={x}: greedy ${g.total:.3f} ({g.wall_time:.2f} s), LB ${row['lower_bound']:.3f}, saving vs "
            + ", ".join(f"{b} {row[f'saving_vs_{b}_pct']:.0f}%" if row[b] is not INFEASIBLE
                        else f"{b} infeasible (no single choice serves every class)" for b in BASELINES[:4]))
    _write_csv(out / f"sweep_{what}.csv", rows)
    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)
    a1, a2 = fig.subplots(1, 2)
    xv = [r[what] for r in rows]

    def num(v: object) -> float:
        return np.nan if v is INFEASIBLE or v is None else float(v)

    for key, style in [("greedy", "k-o"), ("lower_bound", "k:"), *[(b, "--") for b in BASELINES[:5]]]:
        a1.plot(xv, [num(r.get(key)) for r in rows], style, label=LABEL.get(key, key), ms=4)
    a1.set_xlabel(xlabel)
    a1.set_ylabel("$ per epoch")
    a1.set_yscale("log")
    a1.legend(fontsize=7)
    for b in BASELINES[:5]:
        a2.plot(xv, [r.get(f"saving_vs_{b}_pct", np.nan) for r in rows], "-o", ms=4, label=LABEL[b])
    a2.axhspan(30, 50, color="#cfe8cf", alpha=0.5, label="paper's 30–50%")
    a2.set_xlabel(xlabel)
    a2.set_ylabel("A2-Greedy saving vs baseline [%]")
    a2.legend(fontsize=7)
    fig.suptitle(f"paper-default-v0: sweep over {xlabel}")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    _write_if_changed(out / f"sweep_{what}.png", png.getvalue())
    return rows


def write_markdown(s: Scenario, rows: list[dict], sweeps: dict[str, list[dict]], out: Path) -> None:
    g = next(r for r in rows if r["plan"].startswith("A2-Greedy"))
    lines = [f"# A² headline on `{URI}`", "",
             f"Scenario `{s.name}` (sha256 `{s.sha256[:16]}…`): {s.n_regions} regions, {s.n_models} model versions, "
             f"{s.n_data_versions} data versions, {s.n_instance_types} instance types, {s.n_classes} request classes, "
             f"{s.class_rate.sum():.0f} req/s; costs in $ per {s.epoch_hours:g} h epoch.", "",
             "| plan | total $ | compute $ | bandwidth $ | deployment $ | A2-Greedy saving | status |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        sav = "" if r["plan"].startswith("A2-Greedy") else f"{r['greedy_saving_pct']:.1f}%"
        c, b, d = (f"{r[k]:.4f}" if isinstance(r.get(k), float) else "" for k in ("compute", "bandwidth", "deployment"))
        name = r["plan"] + (f" ({r['fixed']})" if r.get("fixed") else "")
        lines.append(f"| {name} | {r['total']:.4f} | {c} | {b} | {d} | {sav} | {r.get('status', '')} |")
    lines += ["", "Savings of A2-Greedy against the four adaptation baselines across the sweeps "
              "(min–max over the sweep points where both are feasible):", "",
              "| sweep | " + " | ".join(LABEL[b] for b in BASELINES[:5]) + " |",
              "|---|" + "---:|" * 5]
    for what, rs in sweeps.items():
        cells = []
        for b in BASELINES[:5]:
            v = [r[f"saving_vs_{b}_pct"] for r in rs if f"saving_vs_{b}_pct" in r]
            cells.append(f"{min(v):.0f}–{max(v):.0f}%" if v else "n/a")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    lb = next((r for r in rows if r["plan"] == "LP lower bound"), None)
    opt = next((r for r in rows if r["plan"].startswith("A2-MILP")), None)
    lines += ["", f"A2-Greedy costs ${g['total']:.4f}"
              + (f", {g['total'] / opt['total']:.4f}× the MILP optimum" if opt else "")
              + (f" and {g['total'] / lb['total']:.3f}× the LP lower bound" if lb else "") + ".",
              "Wall times are printed by the run, not kept here (they change on every run).", ""]
    _write_if_changed(out / "headline.md", "\n".join(lines).encode("utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description="A² paper headline and sweeps on paper-default-v0")
    ap.add_argument("--quick", action="store_true", help="three points per sweep")
    ap.add_argument("--out", default="results/paper")
    ap.add_argument("--milp-time-limit", type=float, default=120.0)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    s = a2gym.load_scenario(URI)
    rows = headline(s, out, a.milp_time_limit)
    for r in rows:
        print(f"{r['plan']:<45} ${r['total']:>9.4f}  saving {r.get('greedy_saving_pct', float('nan')):6.1f}%")
    sweeps = {}
    for what, (full, quick, xlabel) in SWEEPS.items():
        print(f"sweep {what}")
        sweeps[what] = sweep(s, what, quick if a.quick else full, out, xlabel, print)
    write_markdown(s, rows, sweeps, out)
    print(f"wrote {out}/headline.md, headline.csv, sweep_*.csv/png in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
