"""``a2gym scenario show|export``: inspect and export scenarios."""

from __future__ import annotations

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from a2gym.costmodel import CostModel, load_scenario


@click.group("scenario")
def scenario_group() -> None:
    """Inspect and export scenarios (URIs: scenario://NAME, generator://synth-v0/SEED?..., or a file)."""


@scenario_group.command("show")
@click.argument("uri")
@click.option("--assumptions/--no-assumptions", default=False, help="Also list every named assumption.")
def show(uri: str, assumptions: bool) -> None:
    """Sizes, regions, prices, latencies and feasibility statistics of a scenario."""
    s = load_scenario(uri, check_feasible=False)
    cm = CostModel.of(s)
    con = Console()
    con.print(f"[bold]{s.name}[/bold]  sha256 {s.sha256}")
    con.print(s.description)
    con.print(
        f"regions K={s.n_regions}  instance types H={s.n_instance_types}  models M={s.n_models}  "
        f"data versions D={s.n_data_versions}  classes R={s.n_classes}  facilities I={s.n_facilities}"
    )
    con.print(f"total load {s.class_rate.sum():.1f} req/s; epoch {s.epoch_hours:g} h; "
              f"target utilisation {s.target_utilisation:g}; queueing allowance {s.queueing_allowance_ms:g} ms")
    t = Table(title="regions")
    t.add_column("region")
    for h in s.instance_types:
        t.add_column(f"{h} $/h", justify="right")
    t.add_column("egress $/GB", justify="right")
    t.add_column("RTT to others ms (min/median/max)", justify="right")
    t.add_column("classes", justify="right")
    t.add_column("load req/s", justify="right")
    for k, name in enumerate(s.regions):
        prices = [("-" if np.isnan(p) else f"{p:.3f}") for p in s.price_per_hour[k]]
        others = np.delete(s.rtt_ms[k], k)
        eg = np.delete(s.egress_per_gb[k], k)
        mine = s.class_origin == k
        rtt = f"{others.min():.0f}/{np.median(others):.0f}/{others.max():.0f}" if others.size else "-"
        t.add_row(name, *prices, f"{eg.max() if eg.size else 0:.3f}", rtt, str(int(mine.sum())),
                  f"{s.class_rate[mine].sum():.1f}")
    con.print(t)
    t = Table(title="models (accuracy at the best data version)")
    for c in ("model", "top-1 max", "top-1 min", "service ms (per type)", "deploy MB"):
        t.add_column(c, justify="right")
    for m, name in enumerate(s.models):
        svc = " / ".join(f"{x:.2f}" for x in s.service_time_ms[m].min(axis=0))
        t.add_row(name, f"{s.accuracy[m].max():.3f}", f"{s.accuracy[m].min():.3f}", svc, f"{s.model_bytes[m] / 1e6:.0f}")
    con.print(t)
    per_class = cm.feasible.reshape(s.n_classes, -1).sum(axis=1)
    fac_per_class = cm.fac_feasible.sum(axis=1)
    bad = cm.infeasible_classes()
    con.print(
        f"feasibility: {cm.feasible.mean() * 100:.1f}% of (class, region, model, data, type) tuples; "
        f"per class {per_class.min()}..{per_class.max()} tuples, {fac_per_class.min()}..{fac_per_class.max()} "
        f"facilities; infeasible classes: {len(bad)}"
        + (f" ({', '.join(s.classes[r] for r in bad[:10])})" if len(bad) else "")
    )
    if assumptions:
        t = Table(title="named assumptions")
        t.add_column("name")
        t.add_column("value and source")
        for k, v in s.assumptions.items():
            t.add_row(k, v)
        con.print(t)


@scenario_group.command("export")
@click.argument("uri")
@click.argument("file", type=click.Path(dir_okay=False))
def export(uri: str, file: str) -> None:
    """Write the scenario to FILE (JSON); load_scenario(FILE) has the same sha256."""
    s = load_scenario(uri, check_feasible=False)
    path = s.save(file)
    click.echo(f"wrote {path} (sha256 {s.sha256})")


def register(main: click.Group) -> None:
    main.add_command(scenario_group)
