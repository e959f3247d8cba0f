"""Does the capacity env's reference do what a practitioner's would? Target-tracking against the reactive
re-solve on every day of the test suite, and the pinned hindsight plans beside them.

    python experiments/capacity_reference_check.py        # writes results/capacity/reference_check.md

Per size tier of ``a2-test-v1`` (3 scenarios x 5 seeds each, the suite's env kwargs) and on the default
scenario's day of seed 4243: mean day cost [$], unserved requests and their share of the demand, for the
target-tracking reference and the reactive re-solve, and the hindsight row of the pinned optimum file (the
replayed day cost of each day's MILP plan, with the MILP's bound over its candidate restriction). Targets
(issue 21): target-tracking leaves at most a tenth of the reactive re-solve's unserved requests, and
hindsight is at least 10% cheaper than target-tracking. Nothing here was tuned: the reference's parameters
come from ``experiments/capacity_tune_tracking.py`` on ``a2-val-v1``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "capacity" / "reference_check.md"
ENV_ID = "a2gym/GeoServeCapacity-v0"


def day(env, mode: str, seed: int) -> tuple[float, float, float]:  # noqa: ANN001
    """(cost [$], unserved requests, demand [requests]) of one day of reference ``mode``."""
    from a2gym.policies import reference_policy

    obs, info = env.reset(seed=seed)
    policy, done = reference_policy(env, mode), False
    while not done:
        obs, _, term, trunc, info = env.step(policy(obs, info))
        done = term or trunc
    base = env.unwrapped
    return (
        float(info["cost"]),
        float(info["unserved_requests_total"]),
        float(base.rates[1:].sum() * base.slot_s),
    )


def main() -> None:
    import gymnasium as gym

    import a2gym  # noqa: F401
    from a2gym.leaderboard.episode import load_fresh
    from a2gym.leaderboard.reserved import read_optimum
    from a2gym.leaderboard.suite import A2_TEST_V1, tier_of

    t0 = time.perf_counter()
    entry = A2_TEST_V1.entry(ENV_ID)
    opt = read_optimum()["scenarios"]
    groups: dict[str, list[tuple]] = {}
    for uri in entry.scenarios:
        env = gym.make(ENV_ID, scenario=load_fresh(uri), **dict(entry.env_kwargs))
        for seed in A2_TEST_V1.seeds():
            hind = opt[uri]["geoserve_v1_hindsight"][str(seed)]
            row = (day(env, "target-tracking", seed), day(env, "reactive", seed), hind["cost"], hind["bound"])
            groups.setdefault(tier_of(uri), []).append(row)
        env.close()
    env = gym.make(ENV_ID)
    default = [(day(env, "target-tracking", 4243), day(env, "reactive", 4243), None, None)]
    lines = [
        "# Capacity env: the target-tracking reference against the reactive re-solve",
        "",
        f"Command: `python experiments/capacity_reference_check.py` ({time.perf_counter() - t0:.0f} s). "
        "Days: each a2-test-v1 tier's 3 scenarios x seeds 10000-10004 (suite kwargs); `default`: "
        "paper-default-v0, seed 4243, make defaults. Hindsight: the pinned optimum file's replayed day cost, "
        "and its MILP's bound (over the MILP's candidate restriction).",
        "",
        "| days | target-tracking [$/day] | reactive [$/day] | unserved: target-tracking "
        "| unserved: reactive | ratio | hindsight [$/day] | hindsight below target-tracking "
        "| hindsight's gap to its bound |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in [*groups.items(), ("default", default)]:
        tt = np.array([r[0] for r in rows])
        re = np.array([r[1] for r in rows])
        ratio = tt[:, 1].sum() / max(re[:, 1].sum(), 1e-300)
        share = lambda a: a[:, 1].sum() / a[:, 2].sum()  # noqa: E731
        if rows[0][2] is not None:
            h = np.array([r[2] for r in rows])
            b = np.array([r[3] for r in rows])
            below = f"{1 - h.mean() / tt[:, 0].mean():.1%}"
            gap = f"{np.mean(h / b - 1):.1%} mean, {np.max(h / b - 1):.1%} max"
            hcell = f"{h.mean():.2f}"
        else:
            below = gap = hcell = "n/a"
        lines.append(
            f"| {name} ({len(rows)}) | {tt[:, 0].mean():.2f} | {re[:, 0].mean():.2f} | "
            f"{tt[:, 1].sum():.0f} ({share(tt):.1e}) | {re[:, 1].sum():.0f} ({share(re):.1e}) | "
            f"{ratio:.3f} | "
            f"{hcell} | {below} | {gap} |"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
