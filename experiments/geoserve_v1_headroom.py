"""GeoServe-v1 headroom: how far the hindsight optimum is below the reactive re-solve (issue 11).

Usage::

    python -m experiments.geoserve_v1_headroom [--days 5] [--time-limit 60] [--out results/geoserve_v1]

For each scenario (the default ``scenario://paper-default-v0`` and generated ones, ``SCENARIOS``) and each
day (reset seeds ``SEED0 …``), every reference plays the day through ``env.step``
(:func:`a2gym.policies.reference_policy`): ``reactive`` (A2-Greedy re-solved on the last slot's observed
demand), ``forecast`` (on a diurnal forecast, sized for the provisioning delay), ``oracle`` (v0-style:
the true demand of the slot being decided) and ``hindsight`` (the time-expanded MILP over the realised
day, HiGHS, ``--time-limit`` seconds; its replayed cost, MILP objective, dual bound and proven gap).

``--learned`` also plays, on the same days, the committed GeoServe-v1 fleet policy (:mod:`agents.fleet`,
``fleet``: cloned from the forecast reference with DAgger, then PPO, on generated scenarios only, by
``experiments/geoserve_v1_fleet.py``), added to existing rows.

Outputs in ``--out``: ``headroom_days.jsonl`` (one row per scenario and day, appended as each day
finishes, so an interrupted run continues where it stopped), ``headroom.csv`` and ``headroom.md`` (mean
day cost per reference, hindsight's saving against reactive, score = reactive cost / policy cost).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ("scenario://paper-default-v0", "generator://synth-v0/1?classes=30&regions=6",
             "generator://synth-v0/2?classes=30&regions=6")
SEED0 = 100_000  # reset seed of the first day (far from the normaliser's days 0, 1, 2)
MODES = ("reactive", "forecast", "oracle", "hindsight")
LEARNED = ("fleet",)
"""Learned policies of ``--learned`` (row keys)."""


def _play(env: gymnasium.Env, policy: Any, seed: int) -> dict[str, Any]:
    """Play one day of ``policy(obs, info)``: its cost breakdown [$], unserved requests and wall time."""
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        obs, _, done, _, info = env.step(policy(obs, info))
    row = {k: float(info[k]) for k in ("cost", "compute", "bandwidth", "deployment", "penalty")}
    row.update(unserved_requests=float(info["unserved_requests_total"]), seconds=time.perf_counter() - t0)
    return row


def play_learned(env: gymnasium.Env, name: str, seed: int) -> dict[str, Any]:
    """One day of the committed fleet policy (deterministic), as :func:`play_day`."""
    from agents import fleet

    model = fleet.load_checkpoint(fleet.RUN_DIR / "best_model.zip", fleet.CHECKPOINT_SHA256)
    feats = fleet.FleetFeatures(env.unwrapped.scenario, dict(env.spec.kwargs))

    def policy(obs: Any, info: dict) -> np.ndarray:
        return fleet.act(model, feats.features(obs, info), info["action_mask"])

    return _play(env, policy, seed)


def play_day(env: gymnasium.Env, mode: str, seed: int, time_limit: float) -> dict[str, Any]:
    """One day of reference ``mode``; its cost breakdown [$], unserved requests and wall time."""
    from a2gym.envs.geoserve_capacity.policy import make_policy

    kw = {"time_limit": time_limit} if mode == "hindsight" else {}
    policy = make_policy(env.unwrapped, mode, **kw)
    row = _play(env, policy, seed)
    if mode == "hindsight":
        p = policy.plan
        row.update(
            milp_objective=p.objective,
            milp_bound=p.bound,
            gap=p.gap,
            status=p.status,
            source=p.source,
            milp_seconds=p.seconds,
            n_vars=p.n_vars,
        )
        assert abs(p.replay_cost - row["cost"]) <= 1e-6 * max(1.0, row["cost"]), "MILP plan does not replay"
    return row


def run(days: int, time_limit: float, out: Path, learned: bool = False) -> list[dict[str, Any]]:
    import a2gym  # noqa: F401

    out.mkdir(parents=True, exist_ok=True)
    log = out / "headroom_days.jsonl"
    done: dict[tuple, dict] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            if r.get("time_limit") == time_limit:
                done[(r["scenario"], r["seed"])] = r
    rows = []
    added = False
    for uri in SCENARIOS:
        env = gymnasium.make("a2gym/GeoServeCapacity-v0", scenario=uri)
        for day in range(days):
            seed = SEED0 + day
            if (uri, seed) in done:
                r = done[(uri, seed)]
                for name in LEARNED if learned else ():
                    if name not in r:
                        r[name] = play_learned(env, name, seed)
                        added = True
                        print(f"{uri} day {day}: {name} {r[name]['cost']:.2f}", flush=True)
                rows.append(r)
                continue
            r: dict[str, Any] = {"scenario": uri, "seed": seed, "time_limit": time_limit,
                                 "reference_cost": env.unwrapped.reference_cost}
            for mode in MODES:
                r[mode] = play_day(env, mode, seed, time_limit)
            for name in LEARNED if learned else ():
                r[name] = play_learned(env, name, seed)
            print(f"{uri} day {day}: " + ", ".join(f"{m} {r[m]['cost']:.2f}" for m in MODES)
                  + f" (gap {r['hindsight']['gap']:.3f})", flush=True)
            with log.open("a") as f:
                f.write(json.dumps(r) + "\n")
            rows.append(r)
    if added:  # rewrite the log with the learned policies' days added to the rows it had
        kept = [json.loads(line) for line in log.read_text().splitlines()]
        new = {(r["scenario"], r["seed"], r["time_limit"]): r for r in rows}
        _write(log, "".join(json.dumps(new.get((k["scenario"], k["seed"], k["time_limit"]), k)) + "\n"
                            for k in kept))
    return rows


def summarise(rows: list[dict[str, Any]], out: Path, cmd: str) -> None:
    table = []
    for uri in dict.fromkeys(r["scenario"] for r in rows):
        rs = [r for r in rows if r["scenario"] == uri]
        line: dict[str, Any] = {"scenario": uri, "days": len(rs)}
        for m in MODES:
            line[f"{m}_cost"] = statistics.mean(r[m]["cost"] for r in rs)
            line[f"{m}_penalty"] = statistics.mean(r[m]["penalty"] for r in rs)
            line[f"{m}_score"] = statistics.mean(r["reactive"]["cost"] / r[m]["cost"] for r in rs)
        for m in LEARNED:
            if all(m in r for r in rs):
                line[f"{m}_cost"] = statistics.mean(r[m]["cost"] for r in rs)
                line[f"{m}_penalty"] = statistics.mean(r[m]["penalty"] for r in rs)
                line[f"{m}_score"] = statistics.mean(r["reactive"]["cost"] / r[m]["cost"] for r in rs)
        saving = [1 - r["hindsight"]["cost"] / r["reactive"]["cost"] for r in rs]
        line["hindsight_saving_vs_reactive"] = statistics.mean(saving)
        line["hindsight_saving_min"] = min(saving)
        line["hindsight_gap_mean"] = statistics.mean(r["hindsight"]["gap"] for r in rs)
        line["hindsight_gap_max"] = max(r["hindsight"]["gap"] for r in rs)
        line["hindsight_optimal_days"] = sum(r["hindsight"]["status"] == "optimal" for r in rs)
        line["hindsight_from_milp_days"] = sum(r["hindsight"]["source"].startswith("milp") for r in rs)
        line["hindsight_milp_seconds"] = statistics.mean(r["hindsight"]["milp_seconds"] for r in rs)
        table.append(line)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(table[0]))
    w.writeheader()
    for line in table:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in line.items()})
    _write(out / "headroom.csv", buf.getvalue())
    md = [
        "# GeoServe-v1 headroom",
        "",
        f"Produced by `{cmd}` (Python {platform.python_version()}; MILP time limits are wall seconds, on a "
        f"shared 2-core machine here, so gaps are wider than on an idle one).",
        "Mean day cost [$] per reference over the days (reset seeds "
        f"{SEED0}…); score = reactive day cost / policy day cost (mean over days, > 1 beats reactive).",
        "Hindsight = the cheapest replay through `env.step` of the MILP's plan, the MILP's plan repaired "
        "for the env's cheapest-first routing, and the MILP's warm start (the best of a lookahead plan and "
        "the reactive and forecast plans of the day); gap = (hindsight cost − MILP dual bound) / hindsight "
        "cost, the bound being over the MILP's candidate restriction (it includes the gap between the "
        "MILP's optimal routing and the env's rule). MILP days = days whose plan came from the MILP.",
        "",
        "| scenario | days | reactive $ | forecast $ | oracle (v0-style) $ | hindsight $ | hindsight saving "
        "vs "
        "reactive (min) | forecast score | oracle score | hindsight score | hindsight gap mean (max) | "
        "MILP optimal days | MILP days | penalty $ reactive / forecast / hindsight |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in table:
        md.append(
            f"| `{x['scenario']}` | {x['days']} | {x['reactive_cost']:.2f} | {x['forecast_cost']:.2f} | "
            f"{x['oracle_cost']:.2f} | {x['hindsight_cost']:.2f} | "
            f"{100 * x['hindsight_saving_vs_reactive']:.1f}% "
            f"({100 * x['hindsight_saving_min']:.1f}%) | {x['forecast_score']:.3f} | "
            f"{x['oracle_score']:.3f} | "
            f"{x['hindsight_score']:.3f} | {100 * x['hindsight_gap_mean']:.1f}% "
            f"({100 * x['hindsight_gap_max']:.1f}%) | {x['hindsight_optimal_days']}/{x['days']} | "
            f"{x['hindsight_from_milp_days']}/{x['days']} | "
            f"{x['reactive_penalty']:.2f} / {x['forecast_penalty']:.2f} / {x['hindsight_penalty']:.2f} |"
        )
    learned = [m for m in LEARNED if all(f"{m}_cost" in x for x in table)]
    if learned:
        md += ["", "Learned policies on the same days (`--learned`; trained on generated scenarios only, "
               "never these; `fleet` = cloned from the forecast reference with DAgger, then PPO; "
               "`results/agents/runs/geoserve-v1-fleet`):", "",
               "| scenario | " + " | ".join(f"{m} $ | {m} score | {m} penalty $" for m in learned) + " |",
               "|---|" + "---|---|---|" * len(learned)]
        for x in table:
            cells = [f"{x[m + '_cost']:.2f} | {x[m + '_score']:.3f} | {x[m + '_penalty']:.2f}"
                     for m in learned]
            md.append(f"| `{x['scenario']}` | " + " | ".join(cells) + " |")
    _write(out / "headroom.md", "\n".join(md) + "\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--time-limit", type=float, default=60.0, help="MILP time limit per day [s]")
    p.add_argument("--out", type=Path, default=REPO / "results" / "geoserve_v1")
    p.add_argument("--learned", action="store_true", help="also play the committed fleet policies")
    a = p.parse_args(argv)
    if a.days < 1 or not a.time_limit > 0:
        p.error("--days must be >= 1 and --time-limit > 0")
    rows = run(a.days, a.time_limit, a.out, a.learned)
    cmd = "python -m experiments.geoserve_v1_headroom " + " ".join(sys.argv[1:] if argv is None else argv)
    summarise(rows, a.out, cmd.strip())
    print((a.out / "headroom.md").read_text())
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
