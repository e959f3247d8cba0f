"""``a2gym scenario show|export``: inspect and export scenarios.

Every text that comes from a scenario (names, description, assumptions) is printed literally: rich
markup in it (``[/x]``) is escaped, and long text is wrapped here, in linear time, before rich sees it
(rich's own wrapping of one very long word is quadratic).  Scenario fields are bounded in length by
:mod:`a2gym.scenario.validation`, so nothing printed here is unbounded.
"""

from __future__ import annotations

import sys
import textwrap

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from a2gym import physics
from a2gym.cli._text import escape, printable
from a2gym.costmodel import CostModel, load_scenario
from a2gym.scenario import Scenario

# Above this many (class, region, model, data version, type) tuples, `show` does not build the cost model
# (its arrays would take gigabytes) and reports per-class feasibility only (a2gym.physics, O(R)).
SHOW_TUPLES_MAX = 20_000_000


@click.group("scenario")
def scenario_group() -> None:
    """Inspect and export scenarios (URIs: scenario://NAME, generator://synth-v0/SEED?..., or a file)."""


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 120, highlight=False)


def _plain(con: Console, text: str, indent: str = "") -> None:
    """Print ``text`` literally (no markup), wrapped to the console width by textwrap."""
    width = max(20, (con.width or 100) - len(indent))
    for para in text.splitlines() or [""]:
        para = printable(para)
        lines = textwrap.wrap(para, width, break_long_words=True, break_on_hyphens=False) or [""]
        for line in lines:
            con.print(indent + line, markup=False, highlight=False, soft_wrap=True)


@scenario_group.command("show")
@click.argument("uri")
@click.option("--assumptions/--no-assumptions", default=False, help="Also list every named assumption.")
def show(uri: str, assumptions: bool) -> None:
    """Sizes, regions, prices, latencies and feasibility statistics of a scenario."""
    s = load_scenario(uri, check_feasible=False)
    con = _console()
    con.print(f"[bold]{escape(s.name)}[/bold]  sha256 {s.sha256}")
    _plain(con, s.description)
    con.print(
        f"regions K={s.n_regions}  instance types H={s.n_instance_types}  models M={s.n_models}  "
        f"data versions D={s.n_data_versions}  classes R={s.n_classes}  facilities I={s.n_facilities}"
    )
    con.print(
        f"total load {s.class_rate.sum():.1f} req/s; epoch {s.epoch_hours:g} h; "
        f"target utilisation {s.target_utilisation:g}; queueing allowance {s.queueing_allowance_ms:g} ms"
    )
    con.print(_regions_table(s))
    con.print(_models_table(s))
    con.print(_feasibility_line(s), markup=False, soft_wrap=True)  # one line (scripts grep it)
    if assumptions:
        con.print("[bold]named assumptions[/bold]")
        for k, v in s.assumptions.items():
            _plain(con, f"{k}: {v}", indent="  ")


def _regions_table(s: Scenario) -> Table:
    t = Table(title="regions")
    t.add_column("region")
    for h in s.instance_types:
        t.add_column(escape(f"{h} $/h"), justify="right")
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
        t.add_row(escape(name), *prices, f"{eg.max() if eg.size else 0:.3f}", rtt, str(int(mine.sum())),
                  f"{s.class_rate[mine].sum():.1f}")
    return t


def _models_table(s: Scenario) -> Table:
    t = Table(title="models (accuracy at the best data version)")
    for c in ("model", "top-1 max", "top-1 min", "service ms (per type)", "deploy MB"):
        t.add_column(c, justify="right")
    for m, name in enumerate(s.models):
        svc = " / ".join(f"{x:.2f}" for x in s.service_time_ms[m].min(axis=0))
        t.add_row(escape(name), f"{s.accuracy[m].max():.3f}", f"{s.accuracy[m].min():.3f}", svc,
                  f"{s.model_bytes[m] / 1e6:.0f}")
    return t


def _feasibility_line(s: Scenario) -> str:
    tuples = s.n_classes * s.n_facilities * s.n_data_versions
    if tuples > SHOW_TUPLES_MAX:
        bad = np.flatnonzero(~physics.scenario_classes_feasible(s))
        head = (f"feasibility: {tuples:,} (class, region, model, data, type) tuples, too many to count here "
                f"(limit {SHOW_TUPLES_MAX:,}); infeasible classes: {len(bad)}")
    else:
        cm = CostModel.of(s)
        per_class = cm.feasible.reshape(s.n_classes, -1).sum(axis=1)
        fac_per_class = cm.fac_feasible.sum(axis=1)
        bad = cm.infeasible_classes()
        head = (
            f"feasibility: {cm.feasible.mean() * 100:.1f}% of (class, region, model, data, type) tuples; "
            f"per class {per_class.min()}..{per_class.max()} tuples, "
            f"{fac_per_class.min()}..{fac_per_class.max()} "
            f"facilities; infeasible classes: {len(bad)}"
        )
    return head + (f" ({', '.join(s.classes[r] for r in bad[:10])})" if len(bad) else "")


@scenario_group.command("export")
@click.argument("uri")
@click.argument("file", type=click.Path(dir_okay=False))
def export(uri: str, file: str) -> None:
    """Write the scenario to FILE (JSON, atomically); load_scenario(FILE) has the same sha256.

    FILE must be a new or regular file in an existing folder: a symbolic link or a device (/dev/full)
    is refused, never replaced."""
    from a2gym.fileio import check_output_path

    check_output_path(file, "scenario file")
    s = load_scenario(uri, check_feasible=False)
    path = s.save(file)
    click.echo(f"wrote {path} (sha256 {s.sha256})")


def register(main: click.Group) -> None:
    main.add_command(scenario_group)
