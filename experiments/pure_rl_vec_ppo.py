"""Pure RL at real budgets with vec_ppo: no cloning, no reference labels, no warm start (issue 19, part 2).

    python experiments/pure_rl_vec_ppo.py                  # 2M steps x 5 seeds x Placement, Scheduling
    python experiments/pure_rl_vec_ppo.py --steps 4000000  # longer: stopped runs resume, done ones are kept

Each (env, seed) is ``python -m agents.train --algo vec_ppo --env ENV --seed S --total-timesteps N`` on the
env's default scenario (``paper-default-v0``, flat observation: what vec_ppo supports today), one torch
thread, ``--jobs`` runs at a time, in ``--log-dir`` (git-ignored ``runs/``). A run that stopped is continued
with ``--resume``; a finished one is skipped. The curves are read back from each run's TensorBoard scalars
(``eval/score`` = reference cost / policy cost of the deterministic policy, with its wall time) and written
to ``results/agents/pure_rl_vec_ppo.{csv,md,png}``: the score against env steps and against wall seconds,
per seed, and a table of the final and best scores and the step each seed first reached 0.95.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("a2gym/Placement-v0", "a2gym/Scheduling-v0")
TARGET = 0.95


def run_dir(log_dir: Path, env_id: str, seed: int) -> Path:
    return log_dir / "vec_ppo" / f"{env_id.replace('/', '-')}_s{seed}"


def curve(run: Path) -> list[tuple[int, float, float]]:
    """(env steps, score, wall seconds since the first evaluation) of every evaluation of ``run``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(run / "tb"))
    ea.Reload()
    if "eval/score" not in ea.Tags()["scalars"]:
        return []
    ev = ea.Scalars("eval/score")
    t0 = ev[0].wall_time
    return [(int(e.step), float(e.value), float(e.wall_time - t0)) for e in ev]


def finished(run: Path, steps: int) -> bool:
    pts = curve(run) if (run / "tb").is_dir() else []
    return bool(pts) and pts[-1][0] >= steps - 20_000 and (run / "model.zip").is_file()


def command(run: Path, env_id: str, seed: int, steps: int, log_dir: Path) -> list[str]:
    base = [sys.executable, "-m", "agents.train", "--no-progress-bar", "--threads", "1"]
    if (run / "config.yml").is_file():
        return [*base, "--resume", str(run), "--total-timesteps", str(steps)]
    return [*base, "--algo", "vec_ppo", "--env", env_id, "--seed", str(seed), "--total-timesteps", str(steps),
            "--log-dir", str(log_dir)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=list(ENVS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=2_000_000)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one torch thread each)")
    p.add_argument("--log-dir", type=Path, default=ROOT / "runs" / "pure_rl")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "agents" / "pure_rl_vec_ppo")
    args = p.parse_args()
    todo = [(e, s) for e in args.envs for s in args.seeds
            if not finished(run_dir(args.log_dir, e, s), args.steps)]
    running: list[tuple[subprocess.Popen, str]] = []
    t0 = time.perf_counter()
    while todo or running:
        while todo and len(running) < args.jobs:
            env_id, seed = todo.pop(0)
            run = run_dir(args.log_dir, env_id, seed)
            log = (args.log_dir / f"{run.name}.log")
            log.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(command(run, env_id, seed, args.steps, args.log_dir), cwd=ROOT,
                                    stdout=log.open("a"), stderr=subprocess.STDOUT)
            running.append((proc, run.name))
            print(f"started {run.name} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        time.sleep(2)
        for proc, name in list(running):
            if proc.poll() is not None:
                running.remove((proc, name))
                state = "done" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
                print(f"{name}: {state} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    report(args)


def report(args: argparse.Namespace) -> None:
    rows, table = [], []
    for env_id in args.envs:
        for seed in args.seeds:
            pts = curve(run_dir(args.log_dir, env_id, seed))
            rows += [(env_id, seed, st, sc, w) for st, sc, w in pts]
            if pts:
                first = next((st for st, sc, _ in pts if sc >= TARGET), None)
                table.append((env_id, seed, pts[-1][0], pts[-1][1], max(sc for _, sc, _ in pts), first,
                              pts[-1][2]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["env_id", "seed", "env_steps", "score", "wall_s"])
        w.writerows((e, s, st, f"{sc:.5f}", f"{wl:.1f}") for e, s, st, sc, wl in rows)
    lines = ["# Pure RL with vec_ppo at real budgets (issue 19, part 2)", "",
             f"Command: `python experiments/pure_rl_vec_ppo.py --steps {args.steps} --seeds "
             f"{' '.join(map(str, args.seeds))}` (default scenario paper-default-v0, flat observation; no "
             "cloning, no reference labels, no warm start; one torch thread per run, two runs at a time on a "
             "2-core machine). Score: reference cost / cost of the deterministic policy, evaluated every 20k "
             "steps.", "",
             "| env | seed | env steps | final score | best score | first step >= 0.95 | wall s |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {e} | {s} | {st:,} | {fin:.4f} | {best:.4f} | {first if first is not None else 'never'} | "
              f"{wl:.0f} |" for e, s, st, fin, best, first, wl in table]
    for env_id in args.envs:
        fin = [r[3] for r in table if r[0] == env_id]
        if fin:
            lines.append(f"\n{env_id}: final score mean {np.mean(fin):.4f}, min {min(fin):.4f}, "
                         f"max {max(fin):.4f} over {len(fin)} seeds")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    plot(rows, args)


def plot(rows: list[tuple], args: argparse.Namespace) -> None:
    plot_curves(rows, list(args.envs), args.out.with_suffix(".png"), "{}, vec_ppo pure RL", TARGET)


def plot_curves(rows: list[tuple], groups: list[str], png: Path, title: str, target: float | None = None,
                wall_unit: tuple[str, float] = ("seconds", 1.0)) -> None:
    """Score against env steps (left) and wall time (right), one row of panels per group and one line per
    seed, from ``rows`` of (group, seed, env steps, score, wall seconds); ``title`` formats the group name;
    ``wall_unit``: (name, seconds per unit) of the wall-time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(groups), 2, figsize=(11, 3.6 * len(groups)), squeeze=False)
    for i, group in enumerate(groups):
        for seed in sorted({r[1] for r in rows if r[0] == group}):
            pts = [(st, sc, w) for e, s, st, sc, w in rows if e == group and s == seed]
            st, sc, wl = map(np.array, zip(*pts, strict=True))
            axes[i][0].plot(st / 1e6, sc, label=f"seed {seed}")
            axes[i][1].plot(wl / wall_unit[1], sc, label=f"seed {seed}")
        for j, xl in enumerate(("env steps [millions]", f"wall {wall_unit[0]}")):
            ax = axes[i][j]
            ax.axhline(1.0, color="k", lw=0.8, ls="--")
            if target is not None:
                ax.axhline(target, color="gray", lw=0.8, ls=":")
            ax.set_xlabel(xl)
            ax.set_ylabel("reference cost / cost")
            ax.set_title(title.format(group))
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=90)


if __name__ == "__main__":
    main()
