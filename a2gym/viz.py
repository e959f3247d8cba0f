"""Map-style drawings of a plan (matplotlib figures drawn on an Agg canvas, never a window).

Importing this module changes no global matplotlib state (no ``matplotlib.use``, no pyplot): figures
are plain ``matplotlib.figure.Figure`` objects rendered by an explicit ``FigureCanvasAgg``, so a user's
interactive backend is left alone.

* :func:`draw_plan` returns a ``matplotlib.figure.Figure``: regions at their longitude/latitude,
  request traffic as lines origin → serving region (width ∝ req/s), deployed model versions as
  markers sized by instance count with ``model×n (type)`` labels.
* :func:`plan_to_rgb` renders the same picture to a ``uint8 [H, W, 3]`` array (env ``rgb_array``).
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from a2gym.fileio import atomic_write_bytes, check_output_path
from a2gym.plan import Plan
from a2gym.scenario import Scenario

PLOT_SUFFIXES = (".png",)


def draw_plan(scenario: Scenario, plan: Plan, ax: Any = None, title: str | None = None,
              figsize: tuple[float, float] = (10.0, 5.5), dpi: int = 100) -> Figure:
    """Draw ``plan`` on a lon/lat map of ``scenario``'s regions and return the figure."""
    s = scenario
    if ax is None:
        fig = Figure(figsize=figsize, dpi=dpi)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    lon, lat = np.asarray(s.region_lon, float), np.asarray(s.region_lat, float)
    ax.set_facecolor("#eef3f8")
    ax.grid(True, color="white", lw=0.8)
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    # traffic: origin -> serving region, width ∝ req/s
    k_of = (np.asarray(plan.facility) // s.n_instance_types) // s.n_models
    o_of = s.class_origin[plan.cls]
    flow = np.zeros((s.n_regions, s.n_regions))
    np.add.at(flow, (o_of, k_of), s.class_rate[plan.cls] * plan.fraction)
    peak = flow.max() if flow.size and flow.max() > 0 else 1.0
    for o, k in zip(*np.nonzero(flow), strict=True):
        if o == k:
            continue
        ax.annotate("", xy=(lon[k], lat[k]), xytext=(lon[o], lat[o]),
                    arrowprops=dict(arrowstyle="-|>", color="#d9822b", alpha=0.7,
                                    lw=0.5 + 4.0 * flow[o, k] / peak, shrinkA=4, shrinkB=6,
                                    connectionstyle="arc3,rad=0.15"))
    local = np.diag(flow)
    demand = np.bincount(s.class_origin, weights=s.class_rate, minlength=s.n_regions)
    ax.scatter(lon, lat, s=20 + 200 * demand / max(demand.max(), 1e-12), c="#4a6fa5", alpha=0.35,
               zorder=2, label="demand (req/s)")
    ax.scatter(lon, lat, s=12, c="#1f3b60", zorder=3)
    for k, name in enumerate(s.regions):
        ax.annotate(name, (lon[k], lat[k]), xytext=(0, -11), textcoords="offset points", ha="center",
                    fontsize=7, color="#1f3b60")
    # deployed versions
    n = np.asarray(plan.instances)
    used = np.flatnonzero(n > 0)
    hosts = np.unique(np.asarray(s.facility_parts(used)[0], dtype=int))
    # A host with another host close to its east labels its deployments on its left, so stacks don't collide.
    left = {int(k) for k in hosts if any(0 < lon[j] - lon[k] < 50 and abs(lat[j] - lat[k]) < 12 for j in hosts)}
    per_region: dict[int, int] = {}
    for i in used:
        k, m, h = (int(v) for v in s.facility_parts(int(i)))
        row = per_region.get(k, 0)
        per_region[k] = row + 1
        gpu = bool(s.instance_is_gpu[h])
        ax.scatter([lon[k]], [lat[k]], s=40 + 30 * n[i], marker="s" if gpu else "o",
                   facecolors="none", edgecolors="#2e7d32" if gpu else "#8e24aa", lw=1.5, zorder=4)
        ax.annotate(f"{s.models[m]}×{n[i]} ({s.instance_types[h]})", (lon[k], lat[k]),
                    xytext=(-6 if k in left else 6, 4 + 9 * row), textcoords="offset points", fontsize=7,
                    zorder=5, ha="right" if k in left else "left", color="#2e7d32" if gpu else "#8e24aa")
    pad = 12.0
    ax.set_xlim(lon.min() - pad - 45, lon.max() + pad + 25)
    ax.set_ylim(lat.min() - pad, lat.max() + pad)
    served_local = local.sum() / max(flow.sum(), 1e-12)
    ax.set_title(title or f"{s.name}: {len(used)} deployments, {int(n.sum())} instances, "
                 f"{100 * served_local:.0f}% of requests served in their origin region", fontsize=9)
    return fig


def plan_to_rgb(scenario: Scenario, plan: Plan, width: int = 800, height: int = 450,
                title: str | None = None) -> np.ndarray:
    """The :func:`draw_plan` picture as ``uint8 [height, width, 3]``."""
    dpi = 100
    fig = draw_plan(scenario, plan, title=title, figsize=(width / dpi, height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def check_plot_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`~a2gym.errors.FileError` unless a PNG may be written to ``path`` (its folder exists,
    it ends in ``.png``, it is not a symlink or a non-regular file); call it before the work to plot."""
    check_output_path(path, "plot", PLOT_SUFFIXES)


def save_plan_png(scenario: Scenario, plan: Plan, path: str | os.PathLike[str], title: str | None = None) -> None:
    """Write the :func:`draw_plan` picture to ``path`` (PNG, atomically: a temp file renamed into place)."""
    check_plot_path(path)
    fig = draw_plan(scenario, plan, title=title)
    FigureCanvasAgg(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    atomic_write_bytes(path, buf.getvalue(), "plot")
