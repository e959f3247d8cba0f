"""Pure RL at real budgets on generated scenarios of mixed sizes and on the capacity env (issue 19, part 2).

No cloning, no reference labels, no warm start: ``python -m agents.train --algo vec_ppo`` with

* ``placement-sets`` / ``scheduling-sets``: Placement-v0 / Scheduling-v0 with ``observation="sets"`` and the
  attention policy (``agents/attention.py``), a new generated scenario of random training sizes
  (:data:`agents.generalist.TRAIN_SIZES`, 8-40 classes) at every reset (``mixed_sizes``), drawn from a pool
  of ``POOL`` training scenarios (each reference solve runs once per process; see
  :class:`agents.wrappers.FreshMixedSizes`); evaluated every ``eval_freq`` steps on 8 validation scenarios;
* ``capacity``: ``a2gym/GeoServeCapacity-v0`` on its default scenario (MultiDiscrete instance counts, one
  masked categorical per facility), a new demand day per reset, evaluated on 3 held-out days.

::

    python experiments/pure_rl_sets.py --exp placement-sets --seeds 0 1 2 3 4 --steps 2000000
    python experiments/pure_rl_sets.py --exp capacity --seeds 0 --steps 2000000 --launcher cpu-slot
    python experiments/pure_rl_sets.py --report             # curves and table from whatever runs exist

Runs go to ``--log-dir`` (git-ignored ``runs/pure_rl_sets``), one at a time (``--launcher`` prefixes each
command, e.g. a CPU-slot lock); a stopped run is continued with ``--resume`` and a finished one skipped, so
``--steps`` can be raised later. ``--max-minutes`` stops (SIGTERM, which saves ``model.zip``) a run that
goes past its wall-clock budget: the budget actually run is what the report prints, never ``--steps``. The
report reads each run's TensorBoard scalars (``eval/score`` = reference cost / cost of the deterministic
policy, with its wall time) into ``results/agents/pure_rl_sets.{csv,md,png}``: score against env steps
and against wall seconds, per experiment and seed.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.pure_rl_vec_ppo import curve, plot_curves  # noqa: E402

POOL = 500
"""Training scenarios per run of the sets experiments (mixed sizes, seeds from the training range)."""

SETS_HP = ["mixed_sizes=true", f"scenario_pool={POOL}", "n_envs=16", "n_steps=32", "batch_size=256",
           "n_epochs=2", "learning_rate=5e-4", "gamma=1.0", "gae_lambda=0.95", "ent_coef=0.0", "vf_coef=0.5",
           "policy_kwargs.d_model=32", "policy_kwargs.n_heads=4", "policy_kwargs.n_layers=1",
           "eval_freq=10000", "n_eval_episodes=8", "checkpoint_freq=20000"]
SETS_KW = ["observation=sets", "scenario=generator://synth-v0/0?classes=20"]

EXPERIMENTS: dict[str, dict[str, Any]] = {
    "placement-sets": {"env": "a2gym/Placement-v0", "env_kwargs": SETS_KW, "hyperparams": SETS_HP},
    "scheduling-sets": {"env": "a2gym/Scheduling-v0", "env_kwargs": SETS_KW, "hyperparams": SETS_HP},
    "capacity": {"env": "a2gym/GeoServeCapacity-v0", "env_kwargs": [],
                 "hyperparams": ["n_envs=8", "n_steps=96", "batch_size=256", "n_epochs=4",
                                 "learning_rate=3e-4",
                                 "gamma=1.0", "gae_lambda=0.95", "ent_coef=0.0", "vf_coef=0.5",
                                 "normalize_return=true", "eval_freq=20000", "n_eval_episodes=3",
                                 "checkpoint_freq=50000"]},
}


def run_dir(log_dir: Path, exp: str, seed: int) -> Path:
    return log_dir / "vec_ppo" / f"{exp}_s{seed}"


def command(run: Path, exp: str, seed: int, steps: int, log_dir: Path,
            extra_hp: list[str] | None = None) -> list[str]:
    """The ``agents.train`` command of one run: fresh, or ``--resume`` if ``run`` exists."""
    base = [sys.executable, "-m", "agents.train", "--no-progress-bar", "--threads", "1"]
    if (run / "config.yml").is_file():
        return [*base, "--resume", str(run), "--total-timesteps", str(steps)]
    e = EXPERIMENTS[exp]
    cmd = [*base, "--algo", "vec_ppo", "--env", e["env"], "--seed", str(seed),
           "--total-timesteps", str(steps),
           "--log-dir", str(log_dir), "--run-name", run.name,
           "--hyperparams", *e["hyperparams"], *(extra_hp or [])]
    if e["env_kwargs"]:
        cmd += ["--env-kwargs", *e["env_kwargs"]]
    return cmd


def trained_steps(run: Path) -> int:
    """Env steps in the run's newest model (0 if none)."""
    from agents.train import latest_model

    found = latest_model(run) if run.is_dir() else None
    return 0 if found is None else int(found[1])


def train(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    for seed in args.seeds:
        run = run_dir(args.log_dir, args.exp, seed)
        if trained_steps(run) >= args.steps:
            print(f"{run.name}: done ({trained_steps(run):,} steps)", file=sys.stderr)
            continue
        log = args.log_dir / f"{run.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [*shlex.split(args.launcher), *command(run, args.exp, seed, args.steps, args.log_dir, args.hp)]
        print(f"start {run.name} ({time.perf_counter() - t0:.0f} s): {' '.join(cmd)}", file=sys.stderr,
              flush=True)
        with log.open("a") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                proc.wait(timeout=args.max_minutes * 60 if args.max_minutes else None)
            except subprocess.TimeoutExpired:  # past its wall-clock budget: stop it, model.zip is saved
                _stop(proc)
        print(f"{run.name}: exit {proc.returncode}, {trained_steps(run):,} steps "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the run's process group (the trainer saves model.zip on it); wait until every process of
    the group has exited, SIGKILL after 60 s."""
    import os

    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait()
    # the launcher (a shell) may exit before the trainer has written model.zip: wait for the whole group
    for _ in range(120):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)


def report(log_dir: Path, out: Path) -> None:
    """CSV, Markdown table and PNG of every run in ``log_dir``."""
    rows, table = [], []
    for exp in EXPERIMENTS:
        for run in sorted((log_dir / "vec_ppo").glob(f"{exp}_s*")):
            seed = int(run.name.rsplit("_s", 1)[1])
            pts = curve(run) if (run / "tb").is_dir() else []
            if not pts:
                continue
            rows += [(exp, seed, st, sc, w) for st, sc, w in pts]
            table.append((exp, seed, trained_steps(run), pts[-1][1], max(sc for _, sc, _ in pts), pts[-1][2]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["experiment", "seed", "env_steps", "score", "wall_s"])
        w.writerows((e, s, st, f"{sc:.5f}", f"{wl:.1f}") for e, s, st, sc, wl in rows)
    lines = ["| experiment | seed | env steps run | last eval score | best eval score | wall s |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {e} | {s} | {st:,} | {fin:.4f} | {best:.4f} | {wl:.0f} |"
              for e, s, st, fin, best, wl in table]
    (out.with_suffix(".table.md")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    plot(rows, out)


def plot(rows: list[tuple], out: Path) -> None:
    exps = [e for e in EXPERIMENTS if any(r[0] == e for r in rows)]
    if exps:
        plot_curves(rows, exps, out.with_suffix(".png"), "{}: vec_ppo pure RL (validation)",
                    wall_unit=("minutes", 60.0))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--exp", choices=list(EXPERIMENTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=2_000_000, help="env steps per seed (target)")
    p.add_argument("--max-minutes", type=float, default=0.0, help="wall-clock budget per run (0: none)")
    p.add_argument("--hp", nargs="*", default=None, help="extra --hyperparams of fresh runs")
    p.add_argument("--launcher", default="", help="prefix of every training command, e.g. a CPU-slot lock")
    p.add_argument("--log-dir", type=Path, default=ROOT / "runs" / "pure_rl_sets")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "agents" / "pure_rl_sets")
    p.add_argument("--report", action="store_true", help="only write the curves and table")
    args = p.parse_args()
    if not args.report:
        if args.exp is None:
            p.error("--exp is required unless --report")
        train(args)
    report(args.log_dir, args.out)


if __name__ == "__main__":
    main()
