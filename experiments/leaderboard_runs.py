"""Regenerate the committed leaderboard entries (the built-in heuristics) and the table.

Run from the repository root::

    python experiments/leaderboard_runs.py                  # every built-in heuristic, then the build
    python experiments/leaderboard_runs.py origin-local     # only these entries (then the build)

Each built-in heuristic (:data:`a2gym.heuristics.HEURISTICS`: ``origin-local``, ``cheapest``,
``random``) is evaluated on the whole ranked suite (``a2-test-v1``) with the suite's default seeds and
written to ``leaderboard/<name>.jsonl`` (replacing the file); then ``a2gym leaderboard build``
re-executes every entry, computes the reserved rows (reference, oracle, the paper's restricted
baselines, optimum) and writes ``LEADERBOARD.md`` and ``leaderboard/leaderboard.png``. The heuristics are
deterministic given the seed, so rerunning reproduces the records (wall times aside, which the table
shows as recorded; commit the records and the table together).

Trained agents enter with ``a2gym eval --policy sb3:RUN_DIR --name NAME --trained-on-test|--not-... `` and
their checkpoint committed beside the entry (the header pins its SHA-256).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "leaderboard"


def main(argv: list[str] | None = None) -> int:
    from a2gym.heuristics import HEURISTICS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("entries", nargs="*", help=f"heuristics to (re)run (default: {', '.join(HEURISTICS)})")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per scenario (suite default)")
    ap.add_argument("--no-build", action="store_true", help="only write the records")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from a2gym.leaderboard.build import build
    from a2gym.leaderboard.evaluate import eval_to_file, evaluate_suite, make_header
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.suite import RANKED_SUITE, get_suite

    suite = get_suite(RANKED_SUITE)
    descriptions = {
        "origin-local": "each class at the cheapest facility of its origin region (else the nearest region by "
                        "RTT); not the paper's `local` baseline, which is the reserved row local-greedy",
        "cheapest": "each class at its per-request cheapest facility, opening costs ignored",
        "random": "uniform over the valid actions, seeded by the episode's seed",
    }
    for spec in args.entries or list(HEURISTICS):
        policy = resolve_policy(spec)
        header = make_header(policy, None, None, descriptions.get(spec, ""), suite)
        t0 = time.perf_counter()
        with tqdm(total=len(suite.episodes(args.seeds)), desc=spec, unit="episode", disable=None) as bar:
            res = eval_to_file(OUT / f"{spec}.jsonl", header, policy,
                               lambda p, skip: evaluate_suite(p, suite, args.seeds, None, skip), "overwrite",
                               on_record=lambda r: bar.update(1))
        print(f"{spec}: {len(res.records)} records -> {res.path.relative_to(ROOT)} "
              f"({time.perf_counter() - t0:.0f} s)")
    if not args.no_build:
        t0 = time.perf_counter()
        build(OUT, ROOT / "LEADERBOARD.md")
        print(f"wrote LEADERBOARD.md and leaderboard/leaderboard.png ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
