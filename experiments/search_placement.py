"""Tune the search entry on scenarios the test suite never uses (issue 19, part 3).

    python experiments/search_placement.py                 # every config below on val + fresh scenarios
    python experiments/search_placement.py --configs k64-T1-R2

The published Placement generalist (``results/agents/runs/placement-general``) plays each scenario through
:func:`agents.search.best_of_k` under each search configuration (k sampled episodes per round, temperature,
rounds, and the per-instance bias's learning rate ``adapt``, 0 = prefix rounds). Scenarios: ``a2-val-v1``'s
four (one per tier) and ``--fresh`` generated ones per tier from seeds 7001.. (the test suites use
1101-1403 and the validation suite 2101-2401), at the test suite's tier sizes (8, 24, 54, 120 classes; the
paper default's facility set). The score of a scenario is reference cost (A2-Greedy, the env's
``info["reference_cost"]``) / the search's cost; the table is the geometric mean per tier and overall, with
the mean wall time per episode (one torch thread). Writes ``results/agents/search_placement.{csv,md}``. The
optimum is never computed here.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TIERS = {"small": 8, "medium": 24, "paper": 54, "large": 120}
FRESH_URI = "generator://synth-v0/{seed}?classes={n}&regions=9&models=8&datas=15&types=2"
CONFIGS = {  # name -> (k, temperature, rounds, adapt)
    "deterministic": (1, 1.0, 1, 0.0),
    "k64-T1-R1": (64, 1.0, 1, 0.0),
    "k64-T1-R2": (64, 1.0, 2, 0.0),
    "k32-T1-R4": (32, 1.0, 4, 0.0),
    "k32-T0.7-R4": (32, 0.7, 4, 0.0),
    "k16-T1-R8": (16, 1.0, 8, 0.0),
    "k32-T1-R4-eas1": (32, 1.0, 4, 1.0),
    "k32-T1-R4-eas5": (32, 1.0, 4, 5.0),
    "k16-T1-R8-eas5": (16, 1.0, 8, 5.0),
}
ENV_ID = "a2gym/Placement-v0"


def scenarios(n_fresh: int) -> list[tuple[str, str]]:
    """(tier, URI) of the validation suite's Placement scenarios and ``n_fresh`` generated ones per tier."""
    from a2gym.leaderboard.suite import get_suite, tier_of

    out = [(tier_of(uri), uri) for uri in get_suite("a2-val-v1").entry(ENV_ID).scenarios]
    for t, (tier, n) in enumerate(TIERS.items()):
        out += [(tier, FRESH_URI.format(seed=7001 + 100 * t + j, n=n)) for j in range(n_fresh)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--fresh", type=int, default=2, help="generated scenarios per tier (default 2)")
    ap.add_argument("--seed", type=int, default=10000, help="the episode seed (the sampler's RNG seed)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "agents" / "search_placement")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import gymnasium as gym
    import torch

    import a2gym  # noqa: F401  (registers the envs)
    from a2gym.leaderboard.suite import STRICT
    from a2gym.scenario.uri import read_scenario
    from agents.generalist_entry import pinned_model
    from agents.search import best_of_k

    torch.set_num_threads(1)
    model = pinned_model("placement-general")
    rows = []
    for tier, uri in scenarios(args.fresh):
        sc = read_scenario(uri)
        _, info = gym.make(ENV_ID, scenario=sc, **STRICT).reset(seed=args.seed)
        ref = float(info["reference_cost"])
        for name in args.configs:
            k, temp, rounds, adapt = CONFIGS[name]
            t0 = time.perf_counter()
            res = best_of_k(model, ENV_ID, sc, dict(STRICT), args.seed, k, temp, rounds, adapt)
            rows.append({"tier": tier, "scenario": uri, "config": name, "score": ref / res.cost,
                         "wall_s": time.perf_counter() - t0})
            print(f"{tier:6s} {uri:75s} {name:12s} {ref / res.cost:.4f} {rows[-1]['wall_s']:.1f}s",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["# Search configurations of the Placement search entry (issue 19, part 3)", "",
             f"Command: `python experiments/search_placement.py --fresh {args.fresh}` (load average "
             f"{os.getloadavg()[0]:.1f}); score = A2-Greedy cost / search cost, geometric mean over "
             "scenarios (a2-val-v1 and fresh generated ones, never the test suite); time = mean wall "
             "seconds per episode, one torch thread.", "",
             "| config | " + " | ".join(TIERS) + " | all | time / episode |",
             "|---|" + "---:|" * (len(TIERS) + 2)]
    for name in args.configs:
        mine = [r for r in rows if r["config"] == name]
        gm = [np.exp(np.mean([np.log(r["score"]) for r in mine if r["tier"] == t])) for t in TIERS]
        allg = np.exp(np.mean([np.log(r["score"]) for r in mine]))
        lines.append(f"| {name} | " + " | ".join(f"{g:.4f}" for g in gm)
                     + f" | {allg:.4f} | {np.mean([r['wall_s'] for r in mine]):.2f} s |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
