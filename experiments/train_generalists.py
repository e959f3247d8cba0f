"""Train the generalists of issue 10 (resumable): the attention policy on ``observation="sets"``.

For each env and training seed: (1) ``bc``: behaviour cloning of the reference with DAgger rounds
(``agents.generalist.clone_reference``); (2) ``bc+ppo``: MaskablePPO fine-tuning of (1) for
``rl_timesteps``; (3) ``ppo``: pure RL, MaskablePPO from scratch for the same steps. Training scenarios
are generated with mixed sizes (``agents.generalist.TRAIN_SIZES``); the suite is never used.
Each finished stage is a run directory under ``--out`` (skipped when it exists, so a stopped
invocation resumes); budgets and wall times go to ``OUT/budgets.jsonl``.

    nice -n 5 python -m experiments.train_generalists --env a2gym/Placement-v0 --seeds 0 1 2 3 4

``--set KEY=VALUE`` overrides one hyperparameter of the YAML for this invocation (``bc_rounds=6``,
``rl_timesteps=8192``, ``ppo.learning_rate=3e-4``); the run's ``config.yml`` records the values it was
trained with and the overrides. ``--deadline-min M`` starts no DAgger round (or PPO chunk) that would end
past M minutes of the stage's wall time if it took as long as the last one; the best validation
checkpoint so far is kept and saved.

One torch thread (OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HP_FILE = Path(__file__).resolve().parents[1] / "agents" / "hyperparams" / "generalist.yml"
STAGES = ("bc", "bc+ppo", "ppo")


def slug(env_id: str) -> str:
    return env_id.split("/")[1].split("-")[0].lower()


def make_model(env_id: str, hp: dict[str, Any], train: list[str], seed: int) -> Any:
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.wrappers import ActionMasker
    from stable_baselines3.common.vec_env import DummyVecEnv

    import a2gym  # noqa: F401
    from agents.attention import SetsAttentionPolicy
    from agents.common import action_mask
    from agents.generalist import MixedSizes

    def factory() -> Any:
        from stable_baselines3.common.monitor import Monitor

        env = gym_make(env_id)
        return ActionMasker(Monitor(MixedSizes(env, train)), action_mask)

    venv = DummyVecEnv([factory])
    venv.seed(seed)
    return MaskablePPO(SetsAttentionPolicy, venv, seed=seed, device="cpu", policy_kwargs=hp["policy_kwargs"],
                       **hp["ppo"])


def gym_make(env_id: str) -> Any:
    import gymnasium as gym

    import a2gym  # noqa: F401  (registers the envs)

    return gym.make(env_id, observation="sets")


def apply_overrides(hp: dict[str, Any], pairs: list[str]) -> dict[str, Any]:
    """``hp`` with each ``KEY=VALUE`` (dotted keys reach into mappings, values parsed as YAML) applied;
    unknown keys are refused so a typo cannot silently train with the YAML's value."""
    import copy

    hp = copy.deepcopy(hp)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        *parents, leaf = key.split(".")
        node = hp
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise SystemExit(f"--set {key}: {part!r} is not a mapping of the hyperparameters")
            node = node[part]
        if leaf not in node:
            raise SystemExit(f"--set {key}: unknown hyperparameter (known: {', '.join(sorted(node))})")
        value = yaml.safe_load(raw)
        if isinstance(node[leaf], float) and isinstance(value, str | int):  # YAML reads "3e-4" as a string
            value = float(value)
        node[leaf] = value
    return hp


def stage(env_id: str, name: str, seed: int, out: Path, hp: dict[str, Any],
          overrides: list[str] | None = None, deadline_min: float | None = None) -> None:
    """Run one stage of one seed (skipped if its run directory is complete)."""
    import torch

    from agents.generalist import clone_reference, evaluate_uris, save_run, uris

    torch.set_num_threads(1)
    run_dir = out / f"{slug(env_id)}-{name}_s{seed}"
    if (run_dir / "config.yml").exists():
        print(f"{run_dir}: done earlier, skipped")
        return
    train = uris("train", int(hp["train_scenarios"]), seed)
    val = uris("val", int(hp["val_scenarios"]), 0)
    model = make_model(env_id, hp, train, seed)
    env = gym_make(env_id)
    t0 = time.perf_counter()
    deadline = t0 + 60.0 * deadline_min if deadline_min is not None else float("inf")
    extra: dict[str, Any] = {
        "stage": name,
        "seed": seed,
        "train": "generated mixed sizes (agents.generalist)",
    }
    if overrides:
        extra["overrides"] = list(overrides)
    if deadline_min is not None:
        extra["deadline_min"] = deadline_min
    if name == "bc":
        rows = clone_reference(model, env, train, val, int(hp["bc_rounds"]), int(hp["bc_episodes"]),
                               int(hp["bc_epochs"]), float(hp["bc_lr"]), int(hp["bc_batch"]), seed,
                               deadline=deadline)
        extra.update(bc_rounds=rows, env_steps=0, bc_samples=rows[-1]["samples"])
    else:
        from sb3_contrib import MaskablePPO

        before = None
        if name == "bc+ppo":
            warm = out / f"{slug(env_id)}-bc_s{seed}" / "best_model.zip"
            model.policy.load_state_dict(MaskablePPO.load(str(warm), device="cpu").policy.state_dict())
            before = evaluate_uris(env, model.policy, val)
        curve = []
        chunk = int(hp["ppo"]["n_steps"]) * 2
        best, best_state = (before if before is not None else -1.0), None
        import copy

        while model.num_timesteps < int(hp["rl_timesteps"]):
            t_chunk = time.perf_counter()
            model.learn(chunk, reset_num_timesteps=False)
            score = evaluate_uris(env, model.policy, val)
            curve.append(
                {"steps": model.num_timesteps, "val_score": score, "seconds": time.perf_counter() - t0}
            )
            print(f"  {name} s{seed}: {model.num_timesteps} steps, val score {score:.4f}")
            if score > best:
                best, best_state = score, copy.deepcopy(model.policy.state_dict())
            now = time.perf_counter()
            if now + (now - t_chunk) > deadline:
                break
        if best_state is not None:
            model.policy.load_state_dict(best_state)
        elif before is not None:  # fine-tuning never beat the warm start on validation: keep it
            model.policy.load_state_dict(MaskablePPO.load(str(warm), device="cpu").policy.state_dict())
        extra.update(curve=curve, val_before=before, env_steps=model.num_timesteps)
    wall = time.perf_counter() - t0
    extra["wall_s"] = wall
    save_run(model, run_dir, env_id, {"observation": "sets"}, hp, extra)
    with open(out / "budgets.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"env": env_id, "stage": name, "seed": seed, "env_steps": extra["env_steps"],
                             "bc_samples": extra.get("bc_samples", 0), "wall_s": wall}) + "\n")
    print(f"{run_dir}: {wall:.0f} s")


def publish(env_id: str, out: Path, dest: Path) -> Path:
    """Copy the warm-started run (``bc`` or ``bc+ppo``) with the best validation score to ``dest``
    (config.yml + best_model.zip; selection uses validation scenarios only, never the test sets)."""
    import shutil

    best: tuple[float, Path] | None = None
    for cfg_path in sorted(out.glob(f"{slug(env_id)}-bc*_s*/config.yml")):
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        scores = [r["val_score"] for r in cfg.get("bc_rounds", [])] + [
            c["val_score"] for c in cfg.get("curve", [])
        ]
        scores += [cfg["val_before"]] if cfg.get("val_before") is not None else []
        if scores and (best is None or max(scores) > best[0]):
            best = (max(scores), cfg_path.parent)
    if best is None:
        raise SystemExit(f"no finished bc or bc+ppo run of {env_id} under {out}")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.yml", "best_model.zip"):
        shutil.copyfile(best[1] / name, dest / name)
    print(f"published {best[1]} (validation score {best[0]:.4f}) to {dest}")
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.train_generalists", description=__doc__.split("\n")[0]
    )
    p.add_argument("--env", required=True, choices=("a2gym/Placement-v0", "a2gym/Scheduling-v0"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    p.add_argument("--out", default="runs/generalists")
    p.add_argument("--publish", metavar="DIR", help="only copy the best warm-started run to DIR "
                   "(e.g. results/agents/runs/placement-general)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one hyperparameter of the YAML (repeatable; recorded in config.yml)")
    p.add_argument("--deadline-min", type=float, help="start no DAgger round or PPO chunk expected to end "
                   "past this many minutes of the stage (the best validation checkpoint so far is kept)")
    args = p.parse_args(argv)
    hp = apply_overrides(yaml.safe_load(HP_FILE.read_text(encoding="utf-8"))[args.env], args.overrides)
    out = Path(args.out)
    if args.publish:
        publish(args.env, out, Path(args.publish))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name in args.stages:
        for seed in args.seeds:
            print(f"== {args.env} {name} seed {seed}", flush=True)
            stage(args.env, name, seed, out, hp, args.overrides, args.deadline_min)
    return 0


if __name__ == "__main__":
    sys.exit(main())
