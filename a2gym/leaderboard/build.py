"""``a2gym leaderboard build`` and ``a2gym leaderboard score``: score entries against rows computed here.

``build`` re-executes and replays every ``<dir>/*.jsonl`` entry (:func:`~a2gym.leaderboard.validate.
validate_entries` with ``rerun``), computes the reserved rows itself (:mod:`a2gym.leaderboard.reserved`),
scores everything (:mod:`a2gym.leaderboard.score`) and writes ``LEADERBOARD.md`` and
``<dir>/leaderboard.png``. With ``check`` it writes nothing and reports which of the two is stale (the
chart by the digest of its plotted numbers, stored in the PNG). ``score_files`` does the same for any
results files and returns the table as text, touching nothing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from a2gym.errors import RecordError
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.record import EpisodeRecord
from a2gym.leaderboard.reserved import (
    HINDSIGHT,
    HINDSIGHT_BOUND,
    OPTIMUM,
    REFERENCE,
    ROW_NOTES,
    hindsight_rows,
    optimum_row,
    pinned_policy_rows,
    read_optimum,
)
from a2gym.leaderboard.score import RowScore, rank, score_row
from a2gym.leaderboard.suite import MIN_SEEDS, OPTIMUM_FILE, RANKED_SUITE, Suite, SuiteEntry, get_suite
from a2gym.leaderboard.table import (
    atomic_write_bytes,
    chart_digest,
    md_escape,
    png_digest,
    render_chart,
    render_markdown,
)
from a2gym.leaderboard.validate import validate_entries

CHART_FILE = "leaderboard.png"
Entries = dict[str, tuple[EntryHeader, list[EpisodeRecord]]]
Progress = Callable[[int], None] | None


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What a build produced: the table text, the chart bytes, and the stale files (with ``check``)."""

    markdown: str
    chart: bytes
    stale: list[str]


def record_files(record_dir: Path) -> list[Path]:
    """The results files of a leaderboard folder, sorted; RecordError if there are none."""
    files = sorted(Path(record_dir).glob("*.jsonl"))
    if not files:
        raise RecordError(f"no results files (*.jsonl) in {record_dir}")
    return files


def _validated(files: list[Path] | list[str], progress: Progress, rerun: bool) -> Entries:
    v = validate_entries(files, progress=progress, rerun=rerun)
    if v.problems:
        raise RecordError(f"{len(v.problems)} problem(s):\n" + "\n".join(v.problems))
    return v.entries


def suite_problems(entries: Entries, suite: Suite) -> list[str]:
    """Why entries cannot be ranked on ``suite``: another suite, a missing scenario of an entered env, or
    seeds that are not the suite's ``seed_base … seed_base + n - 1`` (n >= MIN_SEEDS, the same n on every
    scenario), which would let an entrant keep only its lucky seeds."""
    out = []
    for path, (h, recs) in entries.items():
        if h.suite != suite.name:
            out.append(f"{path}:1: entry {h.name!r} is for suite {h.suite!r}, not {suite.name}")
            continue
        for env_id in sorted({r.env_id for r in recs}):
            per_uri: dict[str, set[int]] = {u: set() for u in suite.entry(env_id).scenarios}
            for r in recs:
                if r.env_id == env_id:
                    per_uri.setdefault(r.scenario_uri, set()).add(r.seed)
            counts = {len(s) for s in per_uri.values()}
            n = max(counts)
            if len(counts) > 1 or n < MIN_SEEDS or any(s != set(suite.seeds(n)) for s in per_uri.values()):
                out.append(f"{path}: {h.name} on {env_id}: every scenario needs the suite's first n seeds "
                           f"{suite.seed_base}, {suite.seed_base + 1}, … (the same n >= {MIN_SEEDS})")
    return out


def _entry_row(h: EntryHeader, recs: list[EpisodeRecord], entry: SuiteEntry | None, uris: list[str],
               seeds: list[int], reference: dict, optimum: dict | None) -> RowScore:
    costs = {(r.scenario_uri, r.seed): r.cost for r in recs}
    viol = {(r.scenario_uri, r.seed): r.violations for r in recs}
    return score_row(h.name, "entry", costs, reference, uris, seeds, optimum, viol,
                     float(np.mean([r.wall_time_s for r in recs])), "yes" if h.trained_on_test else "no")


def score_env(entry: SuiteEntry, entries: list[tuple[EntryHeader, list[EpisodeRecord]]], seeds: list[int],
              optimum: dict | None, paper_rows: bool = True, progress: Progress = None,
              suite_name: str = "") -> list[RowScore]:
    """Every row of one env, best first: the entries' and the reserved rows (on ``seeds``, which must include
    every entry's seeds; read from the suite's pinned reserved-rows file when it has them, else computed)."""
    uris = list(entry.scenarios)
    rows = pinned_policy_rows(suite_name, entry, seeds, paper_rows, progress)
    ref = next(r for r in rows if r.name == REFERENCE).costs
    opt = optimum_row(entry, seeds, optimum) if optimum is not None else None
    # the reserved rows' policy time is not shown: measured now, it would make the table machine-dependent
    out = [score_row(r.name, "reserved", r.costs, ref, uris, seeds, opt.costs if opt else None, r.violations)
           for r in rows]
    if opt is not None:
        out.append(score_row(OPTIMUM, "reserved", opt.costs, ref, uris, seeds, opt.costs))
    for hind in hindsight_rows(entry, seeds, optimum) if optimum is not None else ():
        out.append(score_row(hind.name, "reserved", hind.costs, ref, uris, seeds, None))
    for h, recs in entries:
        env_seeds = sorted({r.seed for r in recs})
        out.append(_entry_row(h, recs, entry, uris, env_seeds, ref, opt.costs if opt else None))
    return rank(out)


def score_entries(entries: Entries, suite: Suite, paper_rows: bool = True, progress: Progress = None
                  ) -> dict[str, list[RowScore]]:
    """env id -> rows (entries and reserved), for every env of ``suite`` that some entry entered."""
    optimum = read_optimum() if suite.name == "a2-test-v1" else None
    out = {}
    for entry in suite.entries:
        mine = [(h, [r for r in recs if r.env_id == entry.env_id]) for h, recs in entries.values()]
        mine = [(h, recs) for h, recs in mine if recs]
        n = max([suite.default_seeds] + [len({r.seed for r in recs}) for _, recs in mine])
        if mine or paper_rows:
            out[entry.env_id] = score_env(entry, mine, suite.seeds(n), optimum, paper_rows, progress,
                                          suite.name)
    return out


def build(record_dir: str | os.PathLike[str] = "leaderboard", out: str | os.PathLike[str] = "LEADERBOARD.md",
          suite_name: str = RANKED_SUITE, check: bool = False, chart: bool = True,
          progress: Progress = None) -> BuildResult:
    """Re-execute and validate ``record_dir/*.jsonl``, score, and write ``out`` and the chart (see module)."""
    d, out_p = Path(record_dir), Path(out)
    suite = get_suite(suite_name)
    files = record_files(d)
    entries = _validated(files, progress, rerun=True)
    problems = suite_problems(entries, suite)
    if problems:
        raise RecordError(f"{len(problems)} problem(s):\n" + "\n".join(problems))
    scores = score_entries(entries, suite, progress=progress)
    rel = _relative_to(out_p.parent)
    notes = {k: v for k, v in ROW_NOTES.items() if any(r.name == k for rows in scores.values() for r in rows)}
    for name in (OPTIMUM, HINDSIGHT, HINDSIGHT_BOUND):
        if name in notes:
            notes[name] += f" (from `a2gym/data/scenarios/{OPTIMUM_FILE}`, pinned by SHA-256)"
    md = render_markdown(scores, suite, rel(d), rel(d / CHART_FILE), [rel(f) for f in files], notes,
                         {h.name: h.description for h, _ in entries.values()})
    digest = chart_digest(scores)
    stale = []
    if not out_p.exists() or out_p.read_text(encoding="utf-8") != md:
        stale.append(str(out_p))
    if chart and png_digest(d / CHART_FILE) != digest:
        stale.append(str(d / CHART_FILE))
    png = render_chart(scores) if chart and (not check) else b""
    if not check:
        from a2gym.fileio import atomic_write_text

        atomic_write_text(out_p, md)
        if chart:
            atomic_write_bytes(d / CHART_FILE, png)
    return BuildResult(md, png, stale)


def score_files(files: list[str], rerun: bool = False, progress: Progress = None) -> str:
    """The score table of any results files (replayed; with ``rerun`` re-executed), as text; writes nothing.

    Each file is scored on its suite (or, for a free run, on the scenarios and seeds it has) against the
    reference computed here; the paper's rows are left out for speed.
    """
    entries = _validated(files, progress, rerun)
    lines = []
    for path, (h, recs) in entries.items():
        suite = get_suite(h.suite) if h.suite else None
        lines.append(f"{path}: {md_escape(h.name)} (policy {h.policy}, trained on test: "
                     f"{'yes' if h.trained_on_test else 'no'}, suite {h.suite or 'none'})")
        for env_id in sorted({r.env_id for r in recs}):
            env_recs = [r for r in recs if r.env_id == env_id]
            uris = sorted({r.scenario_uri for r in env_recs})
            entry = suite.entry(env_id) if suite and env_id in suite.env_ids else SuiteEntry(
                env_id, env_recs[0].env_kwargs, tuple(uris))
            entry = SuiteEntry(entry.env_id, entry.env_kwargs, tuple(u for u in entry.scenarios if u in uris))
            optimum = read_optimum() if suite is not None and suite.name == "a2-test-v1" else None
            seeds = sorted({r.seed for r in env_recs})
            pinned = suite.name if suite and env_id in suite.env_ids else ""  # its rows may be pinned
            rows = score_env(entry, [(h, env_recs)], seeds, optimum, paper_rows=False, progress=progress,
                             suite_name=pinned)
            lines += _text_rows(env_id, rows, list(entry.scenarios))
    return "\n".join(lines)


def _text_rows(env_id: str, rows: list[RowScore], uris: list[str]) -> list[str]:
    def f(x: float | None, pct: bool = False) -> str:
        return "n/a" if x is None else (f"{100 * x:.1f}%" if pct else f"{x:.3f}")

    out = [f"  {env_id}", f"    {'row':<24} {'score':>7} {'95% CI':>17} {'IQM':>7} {'P(>ref)':>7} "
           f"{'gap opt':>8} {'viol':>6}"]
    for r in rows:
        ci = "n/a" if r.ci is None else f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]"
        out.append(f"    {r.name[:24]:<24} {f(r.score):>7} {ci:>17} {f(r.iqm):>7} {f(r.p_improve):>7} "
                   f"{f(r.gap, True):>8} {f(r.violation_rate, True):>6}")
    out.append("    mean cost per scenario [$]: " + ", ".join(
        f"{u.rsplit('/', 1)[-1]}=" + ", ".join(f"{r.name}:{f(r.mean_cost.get(u))}" for r in rows
                                                if r.kind == "entry" or r.name == REFERENCE) for u in uris))
    return out


def _relative_to(base: Path) -> Callable[[Path], str]:
    """Path -> POSIX path relative to ``base`` (so the table never holds a machine's absolute paths)."""
    return lambda p: os.path.relpath(p, base).replace(os.sep, "/")
