"""Tune the target-tracking autoscaler of ``a2gym/GeoServeCapacity-v0`` on the validation split only.

    python experiments/capacity_tune_tracking.py                 # writes results/capacity/tracking_tuning.*

Grid: target utilisation u (of ρ) × scale-in stabilisation window [s]. Every (u, window) plays the same days:
the 4 scenarios of ``a2-val-v1`` (one per size tier) × 5 seeds (10000-10004, the suite's seed rule), with the
suite's env kwargs. Rule: the cheapest mean day cost among the settings that leave at most a tenth of the
reactive re-solve's unserved requests (summed over the days); the reactive re-solve is the grid point
u = 1, window = 0 (same sizing rule), checked against the env's own reactive policy on the first day.
The test suite (``a2-test-v1``) is never read. The placement and the load per slot depend only on the
observed demand, not on the policy, so they are computed once per day and every setting replays them
through the env's own fleet dynamics (billing, delay, routing within ready capacity).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "capacity"
UTILISATIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
WINDOWS_S = (0.0, 900.0, 1800.0, 3600.0, 7200.0)
ENV_ID = "a2gym/GeoServeCapacity-v0"


def day_loads(env) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(open [slots, I] bool, load x [slots, I] busy instances) of the re-solve on each slot's observed
    demand (row t = slot t-1's realised demand, what the policy sees before deciding slot t)."""
    from a2gym.envs.geoserve_capacity.reference import greedy_open, open_load

    base = env.unwrapped
    opens, loads = [], []
    for t in range(base.n_slots):
        rates = base.rates[t]
        is_open = greedy_open(base.scenario, base.slot_hours, rates)
        opens.append(is_open)
        loads.append(open_load(base.tables, is_open, rates)[2])
    return np.array(opens), np.array(loads)


def play(env, opens: np.ndarray, loads: np.ndarray, u: float, window_s: float) -> dict[str, float]:  # noqa: ANN001
    """Replay one day with the tracker's rule at (u, window) through the env's fleet dynamics."""
    base = env.unwrapped
    window = int(math.ceil(window_s / base.slot_s - 1e-9))
    from a2gym.envs.geoserve_capacity.reference import tracked_counts

    desired = np.stack([tracked_counts(base.tables, o, x, u) for o, x in zip(opens, loads, strict=True)])
    fleet = base.new_fleet()
    totals = dict.fromkeys(
        ("total", "compute", "bandwidth", "deployment", "penalty", "unserved_requests"), 0.0
    )
    for t in range(base.n_slots):
        counts = np.minimum(desired[max(0, t - window) : t + 1].max(axis=0), base.max_instances)
        costs = fleet.step(counts, base.rates[t + 1], base.penalty_per_request)
        for k in totals:
            totals[k] += costs[k]
    totals["served_requests"] = float(base.rates[1:].sum() * base.slot_s) - totals["unserved_requests"]
    return totals


def check_reactive_equivalence(env, seed: int) -> None:  # noqa: ANN001
    """The grid point (1, 0) is the env's reactive reference: same day cost on one day."""
    from a2gym.policies import reference_policy

    opens, loads = day_loads(env)
    mine = play(env, opens, loads, 1.0, 0.0)["total"]
    pol = reference_policy(env, "reactive")
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(pol(obs, info))
        done = term or trunc
    if not math.isclose(mine, info["cost"], rel_tol=1e-9):
        sys.exit(f"grid point (1, 0) costs {mine} but the reactive reference {info['cost']}: rule mismatch")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    import gymnasium as gym

    import a2gym  # noqa: F401
    from a2gym.leaderboard.episode import load_fresh
    from a2gym.leaderboard.suite import get_suite

    suite = get_suite("a2-val-v1")
    entry = suite.entry(ENV_ID)
    seeds = suite.seeds(args.seeds)
    t0 = time.perf_counter()
    sums: dict[tuple[float, float], dict[str, float]] = {}
    first = True
    for uri in entry.scenarios:
        env = gym.make(ENV_ID, scenario=load_fresh(uri), **dict(entry.env_kwargs))
        for seed in seeds:
            env.reset(seed=seed)
            if first:
                check_reactive_equivalence(env, seed)
                env.reset(seed=seed)
                first = False
            opens, loads = day_loads(env)
            for u, w in itertools.product(UTILISATIONS, WINDOWS_S):
                got = play(env, opens, loads, u, w)
                acc = sums.setdefault((u, w), dict.fromkeys(got, 0.0))
                for k, v in got.items():
                    acc[k] += v
            print(f"{uri} seed {seed}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        env.close()
    n_days = len(entry.scenarios) * len(seeds)
    reactive = sums[(1.0, 0.0)]
    cap = reactive["unserved_requests"] / 10
    ok = {k: v for k, v in sums.items() if v["unserved_requests"] <= cap}
    best = min(ok, key=lambda k: ok[k]["total"]) if ok else None
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "tracking_tuning.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "target_utilisation",
                "stabilisation_s",
                "mean_day_cost_usd",
                "mean_penalty_usd",
                "unserved_requests",
                "unserved_fraction",
                "meets_tenth_of_reactive",
            ]
        )
        for (u, win), v in sorted(sums.items()):
            w.writerow(
                [
                    u,
                    win,
                    f"{v['total'] / n_days:.4f}",
                    f"{v['penalty'] / n_days:.4f}",
                    f"{v['unserved_requests']:.0f}",
                    f"{v['unserved_requests'] / (v['unserved_requests'] + v['served_requests']):.3e}",
                    v["unserved_requests"] <= cap,
                ]
            )
    lines = [
        "# Target-tracking autoscaler: tuning on a2-val-v1",
        "",
        f"Command: `python experiments/capacity_tune_tracking.py` ({n_days} days: the {len(entry.scenarios)} "
        f"a2-val-v1 scenarios x seeds {seeds[0]}-{seeds[-1]}, suite kwargs {dict(entry.env_kwargs)}; "
        f"{time.perf_counter() - t0:.0f} s). The test suite is never read.",
        "",
        "Rule: the cheapest mean day cost among the settings that leave at most a tenth of the reactive "
        f"re-solve's unserved requests ({reactive['unserved_requests']:.0f} over the days; cap {cap:.0f}).",
        "",
        "| target utilisation (of ρ) | stabilisation [s] | mean day cost [$] | of which penalty [$] "
        "| unserved requests | unserved share |",
        "|---|---|---|---|---|---|",
    ]
    for (u, win), v in sorted(sums.items()):
        mark = " **chosen**" if (u, win) == best else (" (reactive)" if (u, win) == (1.0, 0.0) else "")
        share = v["unserved_requests"] / (v["unserved_requests"] + v["served_requests"])
        lines.append(
            f"| {u:g}{mark} | {win:g} | {v['total'] / n_days:.2f} | {v['penalty'] / n_days:.2f} | "
            f"{v['unserved_requests']:.0f} | {share:.2e} |"
        )
    lines += [
        "",
        f"Chosen: target_utilisation = {best[0]:g}, stabilisation_s = {best[1]:g}"
        if best
        else "No setting meets the cap.",
    ]
    (args.out / "tracking_tuning.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
