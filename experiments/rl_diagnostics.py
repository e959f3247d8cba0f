"""Why pure RL fails where it does (issue 19, part 4): reward scale, and the cheapest fixes as short runs.

``--scale``: per-step reward and episode return statistics of the random (masked, uniform) and the
reference policy on Scheduling-v0, Placement-v0 (default scenario, flat observation) and
GeoServeCapacity-v0 (5 episodes each; rewards are -cost / reference cost, so the reference's return is
about -1).

``--fixes``: short vec_ppo runs (``python -m agents.train``, one at a time, ``--launcher`` prefixing each) of
the variants in :data:`FIXES` (return normalisation, entropy bonus, value-loss weight) and a table of the
final and best validation score, the critic's explained variance and the policy entropy at the end (from
each run's TensorBoard scalars).

    python experiments/rl_diagnostics.py --scale --fixes --launcher cpu-slot
Writes ``results/agents/rl_diagnostics.md`` (the tables, with the commands' budgets).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXES: dict[str, tuple[str, list[str], int]] = {
    # name: (env id, --hyperparams overrides, env steps)
    "sched-baseline": ("a2gym/Scheduling-v0", [], 300_000),
    "sched-normret": ("a2gym/Scheduling-v0", ["normalize_return=true"], 300_000),
    "sched-ent0.01": ("a2gym/Scheduling-v0", ["ent_coef=0.01"], 300_000),
    "sched-normret-ent0.01-vf1": ("a2gym/Scheduling-v0", ["normalize_return=true", "ent_coef=0.01",
                                                          "vf_coef=1.0"], 300_000),
    "sched-noadvnorm": ("a2gym/Scheduling-v0", ["normalize_advantage=false"], 300_000),
    "sched-lr3e-4": ("a2gym/Scheduling-v0", ["learning_rate=3e-4"], 300_000),
    "sched-relu": ("a2gym/Scheduling-v0", ["policy_kwargs.activation_fn=relu"], 300_000),
    "sched-relu-2M": ("a2gym/Scheduling-v0", ["policy_kwargs.activation_fn=relu"], 2_000_000),
    "cap-raw": ("a2gym/GeoServeCapacity-v0", ["n_envs=8", "n_steps=96", "batch_size=256", "n_epochs=4",
                                              "learning_rate=3e-4", "eval_freq=20000", "n_eval_episodes=2"],
                100_000),
    "cap-normret": ("a2gym/GeoServeCapacity-v0", ["n_envs=8", "n_steps=96", "batch_size=256", "n_epochs=4",
                                                  "learning_rate=3e-4", "eval_freq=20000",
                                                  "n_eval_episodes=2", "normalize_return=true"], 100_000),
}


def scale() -> list[str]:
    import gymnasium as gym

    import a2gym  # noqa: F401
    from a2gym.policies import reference_policy

    lines = ["## Reward scale (5 episodes per row, seeds 0-4; r = -cost of the step / reference cost)", "",
             "| env | policy | steps/episode | return mean | return std | step r mean | step r std | "
             "step r min | share of steps with r = 0 |", "|---|---|---|---|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for env_id in ("a2gym/Placement-v0", "a2gym/Scheduling-v0", "a2gym/GeoServeCapacity-v0"):
        env = gym.make(env_id, disable_env_checker=True)
        multi = isinstance(env.action_space, gym.spaces.MultiDiscrete)
        for pol in ("random", "reference"):
            rets, rs = [], []
            for ep in range(5):
                obs, info = env.reset(seed=ep)
                ref = reference_policy(env)
                done, ret = False, 0.0
                while not done:
                    if pol == "reference":
                        a = ref(obs, info)
                    elif multi:
                        m = np.asarray(info["action_mask"], bool).reshape(len(env.action_space.nvec), -1)
                        a = np.array([rng.choice(np.flatnonzero(row)) for row in m])
                    else:
                        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
                    obs, r, term, trunc, info = env.step(a)
                    ret += float(r)
                    rs.append(float(r))
                    done = term or trunc
                rets.append(ret)
            x = np.array(rs)
            lines.append(f"| {env_id} | {pol} | {len(x) / 5:.0f} | {np.mean(rets):.3f} | "
                         f"{np.std(rets):.3f} | {x.mean():.4f} | {x.std():.4f} | {x.min():.4f} | "
                         f"{np.mean(x == 0):.2f} |")
        env.close()
    return lines


def trunk_saturation(run: Path, env_id: str, n: int = 512) -> tuple[float, float, float]:
    """(share of the shared trunk's tanh units with |h| > 0.99, mean over units of a unit's std across the
    observations, std of the critic's value) of the run's
    final model over ``n`` observations of the uniformly random masked policy (NaN for a non-tanh trunk)."""
    import gymnasium as gym
    import torch
    from sb3_contrib import MaskablePPO

    import a2gym  # noqa: F401

    policy = MaskablePPO.load(str(run / "model.zip"), device="cpu").policy
    env = gym.make(env_id, disable_env_checker=True)
    rng = np.random.default_rng(0)
    obs_list, (obs, info) = [], env.reset(seed=123)
    while len(obs_list) < n:
        obs_list.append(np.asarray(obs, dtype=np.float32))
        mask = np.asarray(info["action_mask"], bool)
        if isinstance(env.action_space, gym.spaces.MultiDiscrete):
            rows = mask.reshape(len(env.action_space.nvec), -1)
            a = np.array([rng.choice(np.flatnonzero(r)) for r in rows])
        else:
            a = int(rng.choice(np.flatnonzero(mask)))
        obs, _, term, trunc, info = env.step(a)
        if term or trunc:
            obs, info = env.reset()
    env.close()
    x = torch.as_tensor(np.stack(obs_list))
    with torch.no_grad():
        h = policy.features_extractor(x)
        v = policy.value_net(policy.mlp_extractor(h)[1]).squeeze(-1)
    tanh = isinstance(policy.features_extractor.net[-1], torch.nn.Tanh)
    sat = float((h.abs() > 0.99).float().mean()) if tanh else float("nan")
    return sat, float(h.std(0).mean()), float(v.std())


def fixes(log_dir: Path, launcher: str) -> list[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from experiments.pure_rl_sets import trained_steps

    lines = ["## Cheapest fixes as short runs (seed 0; default scenario; vec_ppo's YAML section plus the "
             "overrides shown)", "",
             "| run | env | overrides | env steps | final eval score | best eval score | explained variance "
             "(last 10 updates) | entropy at the end [nats] | saturated trunk units | trunk unit std | "
             "value std |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, (env_id, hp, steps) in FIXES.items():
        run = log_dir / "vec_ppo" / name
        if trained_steps(run) < steps:
            cmd = [*shlex.split(launcher), sys.executable, "-m", "agents.train", "--no-progress-bar",
                   "--threads", "1"]
            resume = (run / "config.yml").is_file()
            cmd += (["--resume", str(run), "--total-timesteps", str(steps)] if resume else
                    ["--algo", "vec_ppo", "--env", env_id, "--seed", "0", "--total-timesteps", str(steps),
                     "--log-dir", str(log_dir), "--run-name", name, *(["--hyperparams", *hp] if hp else [])])
            subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        ea = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
        ea.Reload()

        def vals(tag: str, ea: EventAccumulator = ea) -> list[float]:
            return [e.value for e in ea.Scalars(tag)] if tag in ea.Tags()["scalars"] else [float("nan")]

        sat, hstd, vstd = trunk_saturation(run, env_id)
        sc, ev, ent = vals("eval/score"), vals("train/explained_variance"), vals("train/entropy_loss")
        lines.append(f"| {name} | {env_id} | {' '.join(hp) or '-'} | {trained_steps(run):,} | {sc[-1]:.4f} | "
                     f"{max(sc):.4f} | {np.nanmean(ev[-10:]):.3f} | {-ent[-1]:.3f} | {sat:.3f} | "
                     f"{hstd:.4f} | {vstd:.4f} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", action="store_true")
    p.add_argument("--fixes", action="store_true")
    p.add_argument("--launcher", default="")
    p.add_argument("--log-dir", type=Path, default=ROOT / "runs" / "rl_diagnostics")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "agents" / "rl_diagnostics.md")
    args = p.parse_args()
    lines = ["# Where pure RL fails, measured (issue 19, part 4)", "",
             "Command: `python experiments/rl_diagnostics.py"
             + (" --scale" if args.scale else "")
             + (" --fixes" if args.fixes else "")
             + "` (one torch thread, a 2-core machine shared with others).",
             ""]
    if args.scale:
        lines += scale() + [""]
    if args.fixes:
        lines += fixes(args.log_dir, args.launcher) + [""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
