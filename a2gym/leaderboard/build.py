"""``a2gym leaderboard build``: validate the committed records, score them, write the table and chart."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from a2gym.errors import RecordError
from a2gym.leaderboard.bounds import bounds_for, cache_text, read_cache
from a2gym.leaderboard.record import EpisodeRecord
from a2gym.leaderboard.score import score_all
from a2gym.leaderboard.suite import MIN_SEEDS, Suite, get_suite
from a2gym.leaderboard.table import atomic_write_bytes, render_chart, render_markdown
from a2gym.leaderboard.validate import validate_files

BOUNDS_FILE = "lower_bounds.json"
CHART_FILE = "leaderboard.png"


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What a build produced: the table text, the chart bytes, the bound cache text, and staleness."""

    markdown: str
    chart: bytes
    bounds: str
    stale: list[str]


def build(record_dir: str | os.PathLike[str] = "leaderboard", out: str | os.PathLike[str] = "LEADERBOARD.md",
          suite_name: str = "a2-test-v0", check: bool = False, chart: bool = True,
          progress: Callable[[int], None] | None = None) -> BuildResult:
    """Validate ``record_dir/*.jsonl``, score, and write ``out``, the chart and the bound cache.

    With ``check`` nothing is written; ``stale`` lists the files whose content would change (only the
    table and the bound cache are compared: the PNG depends on the installed fonts and matplotlib).
    Raises RecordError listing every problem if a record does not validate.
    """
    d = Path(record_dir)
    files = record_files(d)
    records, problems = validate_files(files, progress=progress)
    if problems:
        raise RecordError(f"{len(problems)} problem(s) in the records:\n" + "\n".join(problems))
    res = render(d, out, records, suite_name, chart)
    if not check:
        from a2gym.fileio import atomic_write_text

        atomic_write_text(Path(out), res.markdown)
        atomic_write_text(d / BOUNDS_FILE, res.bounds)
        if chart:
            atomic_write_bytes(d / CHART_FILE, res.chart)
    return res


def record_files(record_dir: Path) -> list[Path]:
    """The results files of a leaderboard folder, sorted; RecordError if there are none."""
    files = sorted(Path(record_dir).glob("*.jsonl"))
    if not files:
        raise RecordError(f"no records (*.jsonl) in {record_dir}")
    return files


def render(record_dir: str | os.PathLike[str], out: str | os.PathLike[str], records: list[EpisodeRecord],
           suite_name: str = "a2-test-v0", chart: bool = True) -> BuildResult:
    """Score already validated ``records`` and render the table (and, with ``chart``, the PNG); writes nothing.

    Missing lower bounds are computed (and returned in ``bounds``); ``stale`` compares with the files.
    """
    d, out_p = Path(record_dir), Path(out)
    suite = get_suite(suite_name)
    problems = suite_problems(records, suite)
    if problems:
        raise RecordError(f"{len(problems)} problem(s) in the records:\n" + "\n".join(problems))
    bounds_path = d / BOUNDS_FILE
    lower_bounds, cache = bounds_for(records, read_cache(bounds_path))
    rank = {e: j for j, e in enumerate(suite.env_ids)}
    scores = score_all(records, lower_bounds)
    scores = {e: scores[e] for e in sorted(scores, key=lambda e: (rank.get(e, len(rank)), e))}
    rel = _relative_to(out_p.parent)
    md = render_markdown(scores, suite, rel(d), rel(d / CHART_FILE), [rel(f) for f in record_files(d)])
    bounds_txt = cache_text(cache)
    stale = [str(p) for p, text in ((out_p, md), (bounds_path, bounds_txt))
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    return BuildResult(md, render_chart(scores) if chart else b"", bounds_txt, stale)


def suite_problems(records: list[EpisodeRecord], suite: Suite) -> list[str]:
    """Why ``records`` cannot be ranked on ``suite``: a record outside the suite, or an entry whose seeds on
    a scenario are not the suite's ``seed_base … seed_base + n - 1`` (n >= MIN_SEEDS, the same n on every
    scenario of the env), which would let an entrant keep only its lucky seeds."""
    out = [f"{r.policy} on {r.env_id} {r.scenario_uri} seed {r.seed}: not a record of suite {suite.name} "
           f"(suite = {r.suite!r})" for r in records if r.suite != suite.name]
    seeds: dict[tuple[str, str], dict[str, set[int]]] = {}
    for r in records:
        seeds.setdefault((r.policy, r.env_id), {}).setdefault(r.scenario_uri, set()).add(r.seed)
    for (policy, env_id), per_uri in sorted(seeds.items()):
        counts = {len(s) for s in per_uri.values()}
        for uri, got in sorted(per_uri.items()):
            if len(counts) > 1 or len(got) < MIN_SEEDS or got != set(suite.seeds(len(got))):
                out.append(f"{policy} on {env_id} {uri}: seeds {sorted(got)} are not the suite's first n seeds "
                           f"{suite.seed_base}, {suite.seed_base + 1}, … (the same n >= {MIN_SEEDS} on every "
                           "scenario)")
    return out


def _relative_to(base: Path) -> Callable[[Path], str]:
    """Path -> POSIX path relative to ``base`` (so the table never holds a machine's absolute paths)."""
    return lambda p: os.path.relpath(p, base).replace(os.sep, "/")
