"""``a2gym solve URI --method M``: solve a scenario, print the cost breakdown and the plan (or JSON)."""

from __future__ import annotations

import json
import sys

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from a2gym.cli._text import escape
from a2gym.costmodel import load_scenario
from a2gym.solvers import METHODS, RESTRICTIONS, solve


@click.command("solve")
@click.argument("uri")
@click.option("--method", "-m", type=click.Choice([*METHODS, "prc"]), default="greedy", show_default=True,
              help="Solver (greedy is the reference A2-Greedy).")
@click.option("--restrict", "-r", type=click.Choice(RESTRICTIONS), default=None,
              help="Solve a restricted instance (paper baselines, formulation §9).")
@click.option("--time-limit", type=float, default=None, help="Seconds (MILP and LP stop there).")
@click.option("--seed", type=int, default=None, help="Seed of lpround / random.")
@click.option("--backend", type=click.Choice(["highs", "cbc"]), default=None, help="MILP backend.")
@click.option("--bound/--no-bound", default=False, help="Also compute the LP lower bound (heuristics).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write a map of the plan to this PNG file (its folder must exist).")
def solve_cmd(uri: str, method: str, restrict: str | None, time_limit: float | None, seed: int | None,
              backend: str | None, bound: bool, as_json: bool, plot: str | None) -> None:
    """Solve scenario URI (scenario://NAME, generator://synth-v0/SEED?..., or a file) and report the cost
    [$ per epoch] split into compute, bandwidth and deployment."""
    opts: dict = {}
    if backend is not None:
        if method != "milp":
            raise click.UsageError("--backend applies to --method milp only")
        opts["backend"] = backend
    if bound and method != "milp":
        opts["bound"] = True
    if plot:
        from a2gym.viz import check_plot_path, save_plan_png

        check_plot_path(plot)  # before solving: a bad path fails in a second, not after the solve
    scn = load_scenario(uri)
    sol = solve(scn, method, time_limit=time_limit, seed=seed, restrict=restrict, **opts)
    if plot:
        save_plan_png(scn, sol.plan, plot, title=f"{scn.name}: {sol.method}"
                      + (f" ({sol.restrict})" if sol.restrict else "") + f", ${sol.total:,.3f} per epoch")
    if as_json:
        d = sol.to_dict()
        d["scenario"] = uri
        if d["per_1k_requests"] is None:
            d["per_1k_requests_note"] = "null: the scenario has no requests (every class rate is 0)"
        click.echo(json.dumps(d, allow_nan=False))
        return
    _print(scn, sol)
    if plot:
        Console().print(f"map written to {plot}")


def _print(s, sol) -> None:
    con = Console(width=None if sys.stdout.isatty() else 140)
    c = sol.cost
    head = f"[bold]{escape(s.name)}[/bold]  method {sol.method}" + (
        f"  restrict {sol.restrict}" if sol.restrict else ""
    )
    con.print(head + f"  status {sol.status}  {sol.wall_time:.3f} s  sha256 {s.sha256[:16]}")
    if sol.info.get("restriction"):
        con.print("restriction: " + ", ".join(f"{k} = {v}" for k, v in sol.info["restriction"].items()),
                  markup=False)
    t = Table(title="cost per epoch")
    t.add_column("part")
    t.add_column("$", justify="right")
    t.add_column("share", justify="right")
    for name, v in (("compute", c.compute), ("bandwidth", c.bandwidth), ("deployment", c.deployment)):
        t.add_row(name, f"{v:,.4f}", f"{100 * v / c.total:.1f}%" if c.total > 0 else "-")
    t.add_row("[bold]total[/bold]", f"[bold]{c.total:,.4f}[/bold]", "")
    t.add_row("per 1k requests", f"{c.per_1k_requests:,.5f}" if c.requests > 0 else "- (no requests)", "")
    if sol.lower_bound is not None:
        t.add_row("lower bound", f"{sol.lower_bound:,.4f}", f"gap {100 * (sol.gap or 0):.2f}%")
    con.print(t)
    p = sol.plan
    t = Table(title="deployments (model version · region · instance type)")
    for col in (
        "region",
        "model",
        "type",
        "instances",
        "load (busy inst.)",
        "classes",
        "req/s",
        "data versions",
    ):
        t.add_column(
            col, justify="right" if col in ("instances", "load (busy inst.)", "classes", "req/s") else "left"
        )
    for i in p.open_facilities:
        k, m, h = (int(v) for v in s.facility_parts(int(i)))
        parts = p.facility == i
        rate = float((s.class_rate[p.cls[parts]] * p.fraction[parts]).sum())
        datas = sorted({s.data_versions[d] for d in p.data[parts]})
        t.add_row(
            escape(s.regions[k]),
            escape(s.models[m]),
            escape(s.instance_types[h]),
            str(int(p.instances[i])),
            f"{c.load[i]:.3f}" if c.load is not None else "-",
            str(int(parts.sum())),
            f"{rate:.2f}",
            escape(", ".join(datas[:4]) + (f" +{len(datas) - 4}" if len(datas) > 4 else "")),
        )
    con.print(t)
    t = Table(title="data versions chosen (share of requests)")
    t.add_column("data version")
    t.add_column("classes", justify="right")
    t.add_column("req/s", justify="right")
    w = s.class_rate[p.cls] * p.fraction
    for d in np.unique(p.data):
        sel = p.data == d
        t.add_row(escape(s.data_versions[d]), str(len(np.unique(p.cls[sel]))), f"{w[sel].sum():.2f}")
    con.print(t)
    split = len(p.cls) - len(np.unique(p.cls))
    at_origin = float(w[s.class_origin[p.cls] == (p.facility // s.n_instance_types) // s.n_models].sum())
    local = f"{100 * at_origin / w.sum():.0f}% of requests" if w.sum() > 0 else "no requests (all rates 0)"
    con.print(f"{s.n_classes} classes, {split} split across facilities; {local} served "
              f"in their origin region; mean accuracy {np.nanmean(c.class_accuracy):.3f}")


def register(main: click.Group) -> None:
    main.add_command(solve_cmd)
