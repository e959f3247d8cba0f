"""Train MaskablePPO and PPO on the a2gym envs and compare them with the reference and the baselines.

Usage::

    python -m experiments.train_agents            # full run (5 seeds; budgets in SETTINGS) -> results/agents/
    python -m experiments.train_agents --quick    # smoke run (2 seeds, tiny budgets) -> results/agents/quick/

Settings (each trained with ``python -m agents.train`` in a subprocess, ``--jobs`` at a time):

* ``placement-default``: Placement-v0 on the bundled ``scenario://paper-default-v0``.
* ``placement-generator``: Placement-v0 trained on a pool of ``POOL`` generated scenarios
  (``generator://synth-v0/0..POOL-1``, 20 classes, 5 regions), validated on fresh generated scenarios
  (``resample=True``) and tested on other fresh ones it never saw (the env draws each scenario's seed
  from the reset seed; test reset seeds are far from the validation ones, and the test scenarios' URIs
  are checked against the pool).
* ``scheduling-default``: Scheduling-v0 on the default scenario.
* ``geoserve-default``: GeoServe-v0 (96 × 15-min slots) on the default scenario; the reference is the
  myopic re-solve, the oracle re-solve is listed too.

Every policy, trained or not, is tested on the same episodes (reset seeds ``TEST_SEED, TEST_SEED+1, …``).
Score of an episode = reference policy's cost / policy's cost on the same episode (> 1 beats the
reference); a run's score is the mean over its test episodes (an episode a PPO agent ends by a masked
action counts 0). The table gives the mean over training seeds with a 95% percentile bootstrap interval
(for untrained policies: over test episodes). Outputs in ``results/agents/``: ``results.csv`` (one row
per policy and training seed), ``summary.csv``, ``curves.csv`` and ``learning_curves.png`` (evaluation
return during training), ``budgets.csv`` and ``README.md`` (tables; a ``## Discussion`` section written
by hand is kept when the file is regenerated). Run directories go to ``runs/agents-experiment/``; a run
that finished with the same command is reused (``--fresh`` retrains), so an interrupted experiment
continues where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEST_SEED = 100_000  # first reset seed of the test episodes (training uses seed.., validation seed+10000..)
ALGOS = ("maskable_ppo", "ppo")
#: GeoServe warm start (agents.pretrain): clone 20 myopic-reference days, then fine-tune gently.
BC_GEOSERVE = ("pretrain_episodes=20", "pretrain_epochs=40", "pretrain_mode=myopic", "learning_rate=3e-5",
               "target_kl=0.02", "eval_freq=1024")
BASELINES = ("origin-local", "cheapest", "random")
GENERATOR = "generator://synth-v0/0?classes=20&regions=5"
POOL = 32  # placement-generator trains on generator seeds 0..POOL-1 (agents.wrappers.ScenarioPool)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One training/test configuration of the experiment."""

    label: str
    env_id: str
    env_kwargs: dict[str, Any]  # gymnasium.make kwargs, for training and testing
    steps: int  # training budget per seed [env steps]
    test_episodes: int
    hyperparams: tuple[str, ...] = ()  # --hyperparams overrides of the YAML section
    reference_mode: str | None = None  # the reference's mode (GeoServe: myopic)
    extra_references: tuple[str, ...] = ()  # further reference modes listed in the table (GeoServe: oracle)
    variants: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # extra (label, algo, --hyperparams) agents

    @property
    def agents(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(label, algorithm, extra --hyperparams) of every agent trained in this setting."""
        return [(a, a, ()) for a in ALGOS] + list(self.variants)


def settings(quick: bool) -> list[Setting]:
    """The experiment's settings; ``quick`` shrinks budgets to a smoke test."""
    s = 0.1 if quick else 1.0
    return [
        Setting("placement-default", "a2gym/Placement-v0", {}, int(30_000 * s), 2 if quick else 3),
        Setting("placement-generator", "a2gym/Placement-v0", {"scenario": GENERATOR, "resample": True},
                int(30_000 * s), 4 if quick else 20, ("n_eval_episodes=5", f"scenario_pool={POOL}")),
        Setting("scheduling-default", "a2gym/Scheduling-v0", {}, int(20_000 * s), 2 if quick else 3),
        Setting("geoserve-default", "a2gym/GeoServe-v0", {}, int(16_000 * s), 2 if quick else 5,
                reference_mode="myopic", extra_references=("oracle",),
                variants=(("maskable_ppo+bc", "maskable_ppo", BC_GEOSERVE),)),
    ]


def kv(d: dict[str, Any]) -> list[str]:
    """``k=v`` strings of a dict (values as YAML understands them)."""
    return [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in d.items()]


def train_command(setting: Setting, agent: tuple[str, str, tuple[str, ...]], seed: int,
                  runs_dir: Path) -> tuple[Path, list[str]]:
    """(run dir, ``python -m agents.train …`` command line) of one training run."""
    label, algo, extra = agent
    name = f"{setting.label}{'-' + label.split('+', 1)[1] if '+' in label else ''}_s{seed}"
    cmd = [sys.executable, "-m", "agents.train", "--algo", algo, "--env", setting.env_id, "--seed", str(seed),
           "--total-timesteps", str(setting.steps), "--log-dir", str(runs_dir), "--run-name", name,
           "--no-progress-bar"]
    if setting.env_kwargs:
        cmd += ["--env-kwargs", *kv(setting.env_kwargs)]
    if setting.hyperparams or extra:
        cmd += ["--hyperparams", *setting.hyperparams, *extra]
    return runs_dir / algo / name, cmd


def train_run(setting: Setting, agent: tuple[str, str, tuple[str, ...]], seed: int, runs_dir: Path,
              fresh: bool = False) -> dict[str, Any]:
    """Train one seed with ``python -m agents.train``; return its run dir and training wall time.

    A run already finished with the same command (``experiment.json`` in its dir) is reused unless
    ``fresh``; a failed run stops the experiment with its error (no retries: a failure is a bug to fix).
    """
    import json
    import shutil

    label = agent[0]
    run_dir, cmd = train_command(setting, agent, seed, runs_dir)
    marker = run_dir / "experiment.json"
    if not fresh and marker.exists():
        done = json.loads(marker.read_text())
        if done["cmd"] == cmd[1:]:
            print(
                f"  reused  {label:>15} {setting.label:<20} seed {seed}: {done['wall_s']:6.1f} s", flush=True
            )
            return {
                "setting": setting.label,
                "algo": label,
                "seed": seed,
                "run_dir": run_dir,
                "wall_s": done["wall_s"],
                "reused": True,
            }
    if run_dir.exists():  # an unfinished run of an earlier invocation (no experiment.json): start it afresh
        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"training failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    marker.write_text(json.dumps({"cmd": cmd[1:], "wall_s": wall}))
    print(f"  trained {label:>15} {setting.label:<20} seed {seed}: {wall:6.1f} s", flush=True)
    return {"setting": setting.label, "algo": label, "seed": seed, "run_dir": run_dir, "wall_s": wall}


def bootstrap_ci(values: list[float], n: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean."""
    x = np.asarray(values, dtype=float)
    if x.size < 2 or np.all(x == x[0]):
        return float(x.mean()), float(x.mean())
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n, x.size), replace=True).mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def test_policies(setting: Setting, trained: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Test every trained run, the reference(s) and the baselines on the setting's test episodes."""
    from agents.evaluate import evaluate, model_actor, named_policy_actor, run_invalid_settings

    n, env_id, kw = setting.test_episodes, setting.env_id, setting.env_kwargs
    ref = evaluate(
        env_id, kw, n, TEST_SEED, "reference", factory=named_policy_actor("reference", setting.reference_mode)
    )
    ref_cost = {e.seed: e.cost for e in ref}
    if any(h.startswith("scenario_pool=") for h in setting.hyperparams):
        from agents.wrappers import pool_uris

        pool = set(pool_uris(setting.env_kwargs["scenario"], POOL))
        leaked = sorted({e.scenario_uri for e in ref} & pool)
        if leaked:
            raise RuntimeError(f"{setting.label}: test scenarios {leaked} are in the training pool")
    rows: list[dict[str, Any]] = []

    def add(
        policy: str, seed: int | None, episodes: list[Any], wall: float | None = None, steps: int = 0
    ) -> None:
        scores = [ref_cost[e.seed] / e.cost if not e.failed else 0.0 for e in episodes]
        rows.append({"setting": setting.label, "env_id": env_id, "policy": policy, "train_seed": seed,
                     "train_steps": steps, "train_wall_s": wall, "episodes": len(episodes),
                     "failed": sum(e.failed for e in episodes), "score": statistics.fmean(scores),
                     "episode_scores": scores,
                     "mean_cost": statistics.fmean(e.cost for e in episodes if not e.failed)
                     if any(not e.failed for e in episodes) else float("inf"),
                     "violations": sum(e.record.violations for e in episodes if not e.failed)})

    ref_name = "reference" + (f" ({setting.reference_mode})" if setting.reference_mode else "")
    add(ref_name, None, ref)
    for mode in setting.extra_references:
        add(f"reference ({mode})", None, evaluate(env_id, kw, n, TEST_SEED, mode,
                                                   factory=named_policy_actor("reference", mode)))
    for name in BASELINES:
        add(name, None, evaluate(env_id, kw, n, TEST_SEED, name, factory=named_policy_actor(name, None)))
    for run in trained:
        actor, cfg = model_actor(run["run_dir"], "best")
        eps = evaluate(env_id, kw, n, TEST_SEED, run["algo"], actor=actor, invalid=run_invalid_settings(cfg))
        if any(e.failed for e in eps) and run_invalid_settings(cfg) is None:
            raise RuntimeError(f"{run['run_dir']}: a masked agent failed an episode")
        add(run["algo"], run["seed"], eps, run["wall_s"], setting.steps)
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and 95% bootstrap interval per (setting, policy): over training seeds, or over test episodes."""
    out = []
    keys = list(dict.fromkeys((r["setting"], r["policy"]) for r in rows))
    for setting, policy in keys:
        group = [r for r in rows if r["setting"] == setting and r["policy"] == policy]
        trained = group[0]["train_seed"] is not None
        values = [r["score"] for r in group] if trained else group[0]["episode_scores"]
        lo, hi = bootstrap_ci(values)
        out.append(
            {
                "setting": setting,
                "policy": policy,
                "n": len(values),
                "over": "seeds" if trained else "episodes",
                "score_mean": float(np.mean(values)),
                "ci_low": lo,
                "ci_high": hi,
                "failed": sum(r["failed"] for r in group),
                "episodes": sum(r["episodes"] for r in group),
                "mean_cost": float(np.mean([r["mean_cost"] for r in group])),
                "train_steps": group[0]["train_steps"],
                "train_wall_s": float(np.mean([r["train_wall_s"] for r in group])) if trained else None,
            }
        )
    return out


def learning_curves(trained: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evaluation returns recorded during training (EvalCallback's evaluations.npz), one row per point."""
    rows = []
    for run in trained:
        path = run["run_dir"] / "eval" / "evaluations.npz"
        if not path.exists():
            continue
        data = np.load(path)
        for t, res in zip(data["timesteps"], data["results"], strict=True):
            rows.append(
                {
                    "setting": run["setting"],
                    "algo": run["algo"],
                    "seed": run["seed"],
                    "timesteps": int(t),
                    "eval_return": float(np.mean(res)),
                }
            )
    return rows


def plot_curves(curves: list[dict[str, Any]], labels: list[str], path: Path) -> None:
    """Mean (line) and min–max over seeds (band) of the validation score −1/return per setting and agent.

    −1/return = reference_cost/cost as the env normalises it (GeoServe: the myopic reference on the
    noise-free demand); an episode failed by masked actions has return ≤ −10, i.e. a score ≤ 0.1.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.4), squeeze=False)
    for ax, label in zip(axes[0], labels, strict=True):
        for algo in dict.fromkeys(c["algo"] for c in curves):
            pts = [c for c in curves if c["setting"] == label and c["algo"] == algo]
            if not pts:
                continue
            steps = sorted({c["timesteps"] for c in pts})
            by_step = [[-1.0 / c["eval_return"] if c["eval_return"] < 0 else 0.0 for c in pts
                        if c["timesteps"] == s] for s in steps]
            mean = np.array([np.mean(v) for v in by_step])
            ax.plot(steps, mean, label=algo)
            ax.fill_between(steps, [min(v) for v in by_step], [max(v) for v in by_step], alpha=0.2)
        ax.axhline(1.0, color="k", ls="--", lw=1, label="reference")
        ax.set_ylim(0.0, 1.1)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation score = −1 / return")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_csv(path: Path, rows: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> None:
    """Rows (dicts with the same keys) as CSV."""
    if not rows:
        return
    fields = [k for k in rows[0] if k not in drop]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def markdown(summary: list[dict[str, Any]], sets: list[Setting], seeds: int, wall_s: float, quick: bool,
             trained: list[dict[str, Any]]) -> str:
    """README.md body: how it was run, budgets, the results table and the targets as measured."""
    import yaml

    from agents.common import HYPERPARAMS_DIR

    lines = [
        "# Learned agents versus the reference (A2-Greedy) and the baselines",
        "",
        f"Generated by `python -m experiments.train_agents{' --quick' if quick else ''}` on a 2-core CPU "
        f"machine shared with other jobs: {len(trained)} training runs, 2 at a time, "
        f"{sum(r['wall_s'] for r in trained) / 60:.1f} min of training wall time summed over runs "
        f"({sum(r.get('reused', False) for r in trained)} of them finished by an earlier invocation and "
        f"reused); this invocation took {wall_s / 60:.1f} min including testing.",
        "",
        "Score = reference policy's cost / policy's cost on the same test episode (> 1 beats the reference; "
        "GeoServe's reference is the myopic re-solve). Trained policies: mean over "
        f"{seeds} training seeds of each seed's mean test score, with a 95% percentile bootstrap interval "
        f"over "
        "seeds; untrained policies: mean and interval over test episodes. An episode a PPO agent ends with a "
        "masked action scores 0 (column *failed*). Test episodes use reset seeds from "
        f"{TEST_SEED} on; for `placement-generator` each test seed draws a generated scenario not seen in "
        "training or validation.",
        "",
        "## Budgets",
        "",
        "| setting | env | env kwargs | agent | steps/seed | seeds | n_envs | overrides | mean train wall s "
        "| test episodes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for st in sets:
        kw = ", ".join(f"{k}={v}" for k, v in st.env_kwargs.items()) or "default scenario"
        for label, algo, extra in st.agents:
            table = yaml.safe_load((HYPERPARAMS_DIR / f"{algo}.yml").read_text())
            n_envs = table.get(st.env_id, table.get("default", {})).get("n_envs", 1)
            row = next((r for r in summary if r["setting"] == st.label and r["policy"] == label), None)
            wall = f"{row['train_wall_s']:.0f}" if row and row["train_wall_s"] is not None else "–"
            overrides = " ".join((*st.hyperparams, *extra)) or "–"
            lines.append(
                f"| {st.label} | `{st.env_id}` | {kw} | {label} | {st.steps:,} | {seeds} | {n_envs} | "
                f"{overrides} | {wall} | {st.test_episodes} |"
            )
    lines += [
        "",
        "Hyperparameters: `agents/hyperparams/{maskable_ppo,ppo}.yml` (section per env id) plus "
        "the per-setting overrides in `experiments/train_agents.py`; the best model on the validation env "
        "(EvalCallback) is the one tested.",
        "",
        "## Results",
        "",
        "| setting | policy | score (mean) | 95% CI | n | failed / episodes | mean cost $ |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['setting']} | {s['policy']} | {s['score_mean']:.3f} | [{s['ci_low']:.3f}, "
            f"{s['ci_high']:.3f}]"
            f" | {s['n']} {s['over']} | {s['failed']} / {s['episodes']} | {s['mean_cost']:.3f} |"
        )
    lines += [
        "",
        "*mean cost $*: mean over completed episodes (inf when a run completed none).",
        "",
        "Learning curves: score on the validation env during training (−1/return; mean over seeds, band = "
        "min–max; GeoServe's env normaliser is the myopic reference on noise-free demand; failed "
        "episodes show as ≤ 0.1).",
        "",
        "![learning curves](learning_curves.png)",
        "",
        "## Targets (as measured)",
        "",
    ]

    def score(setting: str, policy: str) -> dict[str, Any] | None:
        return next((s for s in summary if s["setting"] == setting and s["policy"] == policy), None)

    for setting, policy, target, text in (
        (
            "placement-default",
            "maskable_ppo",
            0.95,
            "MaskablePPO on Placement-v0 (default scenario) ≥ 0.95× the reference",
        ),
        (
            "geoserve-default",
            "maskable_ppo",
            1.0,
            "MaskablePPO on GeoServe-v0 beats the myopic reference (> 1.0)",
        ),
        (
            "geoserve-default",
            "maskable_ppo+bc",
            1.0,
            "MaskablePPO warm-started by cloning the myopic reference, on GeoServe-v0, beats it (> 1.0)",
        ),
    ):
        s = score(setting, policy)
        if s is None:
            continue
        met = s["score_mean"] >= target if target < 1 else s["score_mean"] > target
        lines.append(f"* {text}: measured {s['score_mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}] "
                     f"→ **{'met' if met else 'not met'}**.")
    return "\n".join(lines) + "\n"


def write_readme(path: Path, body: str) -> None:
    """Write README.md, keeping a hand-written ``## Discussion`` section of the previous file."""
    keep = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        i = old.find("\n## Discussion")
        if i >= 0:
            keep = old[i:]
    path.write_text(body + keep, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Train, test, and write the tables and figures."""
    p = argparse.ArgumentParser(
        prog="python -m experiments.train_agents", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="2 seeds and tiny budgets (smoke test)")
    p.add_argument("--seeds", type=int, default=None, help="training seeds (default 5, or 2 with --quick)")
    p.add_argument("--jobs", type=int, default=2, help="training runs at a time (default 2)")
    p.add_argument("--only", nargs="*", default=None, help="run only these settings (labels)")
    p.add_argument("--out", default=None, help="output directory (default results/agents[/quick])")
    p.add_argument(
        "--fresh", action="store_true", help="retrain runs that already finished with the same command"
    )
    args = p.parse_args(argv)
    n_seeds = args.seeds or (2 if args.quick else 5)
    out = Path(args.out) if args.out else REPO / "results" / "agents" / ("quick" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    runs_dir = REPO / "runs" / ("agents-experiment-quick" if args.quick else "agents-experiment")
    sets = [s for s in settings(args.quick) if args.only is None or s.label in args.only]
    t0 = time.perf_counter()
    jobs = [(st, agent, seed) for st in sets for agent in st.agents for seed in range(n_seeds)]
    print(f"training {len(jobs)} runs, {args.jobs} at a time", flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        trained = list(pool.map(lambda j: train_run(j[0], j[1], j[2], runs_dir, args.fresh), jobs))
    rows: list[dict[str, Any]] = []
    for st in sets:
        print(f"testing {st.label}", flush=True)
        rows += test_policies(st, [r for r in trained if r["setting"] == st.label])
    summary = summarise(rows)
    curves = learning_curves(trained)
    write_csv(out / "results.csv", rows, drop=("episode_scores",))
    write_csv(out / "summary.csv", summary)
    write_csv(out / "curves.csv", curves)
    write_csv(
        out / "budgets.csv",
        [
            {
                "setting": s.label,
                "env_id": s.env_id,
                "env_kwargs": s.env_kwargs,
                "steps_per_seed": s.steps,
                "seeds": n_seeds,
                "agents": " / ".join(a[0] for a in s.agents),
                "test_episodes": s.test_episodes,
                "hyperparams": " ".join(s.hyperparams),
                "variant_hyperparams": "; ".join(f"{a[0]}: {' '.join(a[2])}" for a in s.variants),
            }
            for s in sets
        ],
    )
    plot_curves(curves, [s.label for s in sets], out / "learning_curves.png")
    wall = time.perf_counter() - t0
    write_readme(out / "README.md", markdown(summary, sets, n_seeds, wall, args.quick, trained))
    print((out / "README.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
