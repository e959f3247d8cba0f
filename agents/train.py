"""Train an SB3 agent on an a2gym env: YAML hyperparameters, TensorBoard, checkpoints, best model, resume.

Usage::

    python -m agents.train --algo maskable_ppo --env a2gym/Placement-v0 --seed 0 --total-timesteps 20000 \\
        [--env-kwargs scenario=scenario://paper-default-v0] [--n-envs 4] [--hyperparams n_steps=128
        ent_coef=0.01] \\
        [--log-dir runs] [--run-name NAME]
    python -m agents.train --resume runs/maskable_ppo/a2gym-Placement-v0_s0 [--total-timesteps 40000]

Hyperparameters come from ``agents/hyperparams/<algo>.yml`` (section = env id, see :mod:`agents.common`),
overridden by ``--hyperparams`` and ``--n-envs``; the resolved set is written to ``RUN_DIR/config.yml``.
Every name is checked before training starts. ``--resume`` reloads config.yml, the newest of
``model.zip`` and ``checkpoints/``, its VecNormalize statistics (and DQN's replay buffer) and continues
the same step counter into the same ``tb/`` directory until ``--total-timesteps`` (default: the
configured total). Ctrl-C or SIGTERM saves ``model.zip`` so the run can be resumed. The run directory layout
is
documented in :mod:`agents`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import shlex
import shutil
import signal
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

from agents.common import (
    ALGO_NAMES,
    SCRIPT_KEYS,
    AgentConfigError,
    algo_kwargs,
    algorithms,
    check_action_space,
    check_env_id,
    default_policy,
    env_slug,
    invalid_action_settings,
    load_hyperparams,
    make_env,
    make_vec,
    parse_key_values,
    to_plain,
    uses_masks,
    validate_hyperparams,
    versions,
)

CHECKPOINT_RE = re.compile(r"^rl_model_(\d+)_steps\.zip$")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m agents.train``."""
    p = argparse.ArgumentParser(prog="python -m agents.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--algo", choices=ALGO_NAMES, help="algorithm (required unless --resume)")
    p.add_argument("--env", help="Gymnasium env id, e.g. a2gym/Placement-v0 (required unless --resume)")
    p.add_argument(
        "--env-kwargs", nargs="*", default=[], metavar="K=V", help="gymnasium.make kwargs (YAML values)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the model and of the training envs (default 0)"
    )
    p.add_argument("--total-timesteps", type=int, default=None,
                   help="env steps to train in total (default: n_timesteps of the YAML section)")
    p.add_argument("--n-envs", type=int, default=None, help="training envs (overrides the YAML n_envs)")
    p.add_argument("--hyperparams", nargs="*", default=[], metavar="K=V",
                   help="override hyperparameters, e.g. n_steps=128 policy_kwargs.net_arch=[64,64]")
    p.add_argument("--log-dir", default="runs", help="parent of run directories (default runs/)")
    p.add_argument(
        "--run-name",
        default=None,
        help="run directory name under LOG_DIR/ALGO/ (default <env>_s<seed>; refused if it exists)",
    )
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue a stopped run")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--progress-bar", action=argparse.BooleanOptionalAction, default=True,
                   help="show SB3's tqdm/rich progress bar (default on)")
    p.add_argument("--verbose", type=int, default=0, help="SB3 verbosity; 1 also prints the log table")
    return p


def latest_model(run_dir: Path) -> tuple[Path, int] | None:
    """The newest saved model of a run (``model.zip`` or a checkpoint) and its step count, or None."""
    candidates: list[tuple[int, Path]] = []
    for path in (run_dir / "checkpoints").glob("rl_model_*_steps.zip"):
        m = CHECKPOINT_RE.match(path.name)
        if m:
            candidates.append((int(m.group(1)), path))
    final = run_dir / "model.zip"
    if final.exists():
        candidates.append((saved_timesteps(final), final))
    if not candidates:
        return None
    steps, path = max(candidates, key=lambda c: (c[0], c[1].name == "model.zip"))
    return path, steps


def saved_timesteps(model_zip: Path) -> int:
    """``num_timesteps`` stored in an SB3 model zip (read from its ``data`` JSON, without loading torch)."""
    with zipfile.ZipFile(model_zip) as zf:
        return int(json.loads(zf.read("data").decode("utf-8"))["num_timesteps"])


def vecnormalize_path(model_path: Path) -> Path:
    """Where the VecNormalize statistics of a saved model are (the library's rule,
    :func:`a2gym.sb3.stats_path`)."""
    from a2gym.sb3 import stats_path

    return stats_path(model_path)


def new_run_dir(log_dir: Path, algo: str, env_id: str, seed: int, name: str | None) -> Path:
    """``LOG_DIR/ALGO/NAME`` (NAME defaults to ``<env>_s<seed>``): the same arguments name the same run, so
    ``--resume`` of that name continues it; a non-empty existing directory is refused, never renamed."""
    run_dir = log_dir / algo / (name or f"{env_slug(env_id)}_s{seed}")
    if run_dir.exists() and any(run_dir.iterdir()):
        raise AgentConfigError(
            f"run directory {run_dir} already exists: continue it with --resume {run_dir}, "
            "or choose another --run-name / --log-dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
    """Validate a fresh run's arguments and hyperparameters; everything that can fail fails here."""
    if not args.algo or not args.env:
        raise AgentConfigError("--algo and --env are required (or give --resume RUN_DIR)")
    check_env_id(args.env)
    overrides = parse_key_values(args.hyperparams, "--hyperparams")
    if args.n_envs is not None:
        overrides["n_envs"] = args.n_envs
    hp = load_hyperparams(args.algo, args.env, overrides)
    env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    try:
        probe = make_env(args.env, env_kwargs)
    except Exception as exc:  # a bad make kwarg or scenario URI: report it before anything is written
        raise AgentConfigError(f"cannot make {args.env} with env kwargs {env_kwargs}: {exc}") from exc
    try:
        check_action_space(args.algo, probe.action_space, args.env)
        if uses_masks(args.algo) and not hasattr(probe.unwrapped, "action_masks"):
            raise AgentConfigError(
                f"{args.env} has no action_masks(); use ppo or a2c instead of maskable_ppo"
            )
        if hp["scenario_pool"] and not str(env_kwargs.get("scenario", "")).startswith("generator://"):
            raise AgentConfigError(f"scenario_pool={hp['scenario_pool']} needs --env-kwargs scenario=generator://…")
        if hp["policy"] is None:
            hp["policy"] = default_policy(probe.observation_space)
        if args.algo == "vec_ppo":
            from agents.vec_ppo import check_script_keys, make_vector_env

            check_script_keys(hp)
            make_vector_env(args.env, env_kwargs, 1, hp["mixed_sizes"]).close()  # the vector env can be made
        elif hp["mixed_sizes"]:
            raise AgentConfigError("mixed_sizes is implemented by vec_ppo only (use scenario_pool here)")
    finally:
        probe.close()
    total = args.total_timesteps if args.total_timesteps is not None else int(hp["n_timesteps"])
    if total <= 0:
        raise AgentConfigError(f"--total-timesteps={total} must be positive")
    return {
        "algo": args.algo,
        "env": args.env,
        "env_kwargs": env_kwargs,
        "seed": args.seed,
        "total_timesteps": total,
        "hyperparams": hp,
        "overrides": overrides,
        "versions": versions(),
        "command": " ".join(shlex.quote(a) for a in ["python", "-m", "agents.train", *sys.argv[1:]]),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def load_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.yml, validated again (the YAML may have been edited by hand)."""
    path = run_dir / "config.yml"
    if not path.exists():
        raise AgentConfigError(f"--resume {run_dir}: no config.yml there (not a run directory)")
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    check_env_id(cfg["env"])
    cfg["hyperparams"] = {
        **SCRIPT_KEYS,
        **cfg["hyperparams"],
    }  # keys added to the scripts since the run began
    validate_hyperparams(cfg["algo"], cfg["hyperparams"])
    return cfg


def train(args: argparse.Namespace) -> Path:
    """Train (or resume) and return the run directory."""
    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.resume:
        run_dir = Path(args.resume)
        cfg = load_run_config(run_dir)
        if args.total_timesteps is not None:
            cfg["total_timesteps"] = args.total_timesteps
        found = latest_model(run_dir)
        if found is None:
            raise AgentConfigError(f"--resume {run_dir}: no model.zip or checkpoint to resume from")
        resume_from, start_steps = found
        cfg.setdefault("resumes", []).append(
            {"from": str(resume_from.relative_to(run_dir)), "steps": start_steps,
             "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    else:
        cfg = resolve_config(args)
        run_dir = new_run_dir(Path(args.log_dir), cfg["algo"], cfg["env"], cfg["seed"], args.run_name)
        resume_from, start_steps = None, 0
    (run_dir / "config.yml").write_text(yaml.safe_dump(to_plain(cfg), sort_keys=False), encoding="utf-8")

    remaining = int(cfg["total_timesteps"]) - start_steps
    if remaining <= 0:
        print(f"{run_dir}: already trained {start_steps} >= {cfg['total_timesteps']} steps; nothing to do")
        return run_dir
    if cfg["algo"] == "vec_ppo":
        return train_vec_ppo(cfg, run_dir, resume_from, start_steps, args)
    try:
        model, venv, callbacks = build(cfg, run_dir, resume_from, start_steps, args.verbose)
    except AgentConfigError:
        if resume_from is None:  # leave no run directory behind that --resume could not continue
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    # SIGTERM (a scheduler pre-empting the job, `kill PID`) stops like Ctrl-C: model.zip is saved for
    # --resume.
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"run dir: {run_dir}  ({cfg['algo']} on {cfg['env']}, seed {cfg['seed']}, "
        f"{'resuming at ' + str(start_steps) + ' → ' if resume_from else ''}{cfg['total_timesteps']} steps)"
    )
    try:
        model.learn(total_timesteps=remaining, callback=callbacks, progress_bar=args.progress_bar,
                    reset_num_timesteps=resume_from is None)
    except KeyboardInterrupt:
        print(f"\ninterrupted at step {model.num_timesteps}; saving model.zip. "
              f"Continue with: python -m agents.train --resume {run_dir}")
    finally:
        save_final(model, run_dir)
        venv.close()
    final_score(run_dir, cfg)
    return run_dir


def train_vec_ppo(cfg: dict[str, Any], run_dir: Path, resume_from: Path | None, start_steps: int,
                  args: argparse.Namespace) -> Path:
    """``--algo vec_ppo`` (:mod:`agents.vec_ppo`): the same run directory, scalars, checkpoints and resume."""
    from agents.vec_ppo import train_run

    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"run dir: {run_dir}  ({cfg['algo']} on {cfg['env']}, seed {cfg['seed']}, "
        f"{'resuming at ' + str(start_steps) + ' → ' if resume_from else ''}{cfg['total_timesteps']} steps)"
    )
    held: list[Any] = []
    try:
        train_run(cfg, run_dir, resume_from, start_steps, args.progress_bar, args.verbose, held.append)
    except KeyboardInterrupt:
        steps = held[0].num_timesteps if held else start_steps
        print(f"\ninterrupted at step {steps}; saved model.zip. "
              f"Continue with: python -m agents.train --resume {run_dir}")
    final_score(run_dir, cfg)
    return run_dir


def final_score(run_dir: Path, cfg: dict[str, Any]) -> float:
    """Print and return the saved best model's mean score (reference cost / cost) on the evaluation env's
    configuration, ``n_eval_episodes`` episodes from seed ``seed + eval_seed_offset`` (0 for a failed one)."""
    from agents.evaluate import evaluate, model_actor, run_invalid_settings, summarise

    hp = cfg["hyperparams"]
    actor, run_cfg = model_actor(run_dir)
    kwargs = {**cfg["env_kwargs"], **(hp["eval_env_kwargs"] or {})}
    n = max(1, int(hp["n_eval_episodes"]))
    eps = evaluate(
        cfg["env"],
        kwargs,
        n,
        int(cfg["seed"]) + int(hp["eval_seed_offset"]),
        "final",
        actor=actor,
        invalid=run_invalid_settings(run_cfg),
    )
    s = summarise(eps)
    print(f"final score of {run_dir} (best model, {n} evaluation episode(s)): mean reference cost / cost = "
          f"{s['mean_score']:.4f}, failed {s['failed']}/{s['episodes']}")
    return float(s["mean_score"])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def build(cfg: dict[str, Any], run_dir: Path, resume_from: Path | None, start_steps: int, verbose: int):
    """Wire the SB3 objects: envs (+VecNormalize), model (new or loaded), logger and callbacks."""
    from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback, EvalCallback
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import VecNormalize

    from agents.callbacks import A2MetricsCallback, SaveVecNormalizeCallback, restore_eval_history

    algo, env_id, seed, hp = cfg["algo"], cfg["env"], int(cfg["seed"]), cfg["hyperparams"]
    masks = uses_masks(algo)
    n_envs = int(hp["n_envs"])
    # A resumed segment reseeds its envs past the steps already taken, so it does not replay the same
    # episodes.
    penalty = None if masks else invalid_action_settings(hp)
    venv = make_vec(env_id, cfg["env_kwargs"], n_envs, seed + start_steps, masks, hp["vec_env"], penalty,
                    int(hp["scenario_pool"]))
    eval_kwargs = {**cfg["env_kwargs"], **(hp["eval_env_kwargs"] or {})}
    eval_env = make_vec(env_id, eval_kwargs, 1, seed + int(hp["eval_seed_offset"]), masks, "dummy", penalty)
    norm = hp["normalize"]
    if norm:
        norm_kwargs = norm if isinstance(norm, dict) else {}
        stats = vecnormalize_path(resume_from) if resume_from else None
        if stats is not None and stats.exists():
            venv = VecNormalize.load(str(stats), venv)
            venv.training = True
        else:
            venv = VecNormalize(venv, **norm_kwargs)
        eval_env = VecNormalize(eval_env, training=False, norm_reward=False,
                                norm_obs=norm_kwargs.get("norm_obs", True))

    cls = algorithms()[algo]
    if resume_from is None:
        try:
            model = cls(hp["policy"], venv, seed=seed, verbose=verbose, device="cpu", **algo_kwargs(hp))
        except (TypeError, ValueError, AssertionError) as exc:  # a hyperparameter of the wrong type or range
            venv.close()
            eval_env.close()
            raise AgentConfigError(f"{cls.__name__} rejects the hyperparameters {algo_kwargs(hp)}: "
                                   f"{type(exc).__name__}: {exc}") from exc
    else:
        model = cls.load(str(resume_from), env=venv, device="cpu")
        model.set_random_seed(seed + start_steps)
        buffer = resume_from.parent / f"rl_model_replay_buffer_{start_steps}_steps.pkl"
        if hasattr(model, "load_replay_buffer") and buffer.exists():
            model.load_replay_buffer(str(buffer))
    model.set_logger(
        configure(str(run_dir / "tb"), ["stdout", "tensorboard"] if verbose else ["tensorboard"])
    )
    if resume_from is None and int(hp["pretrain_episodes"]) > 0:
        from agents.pretrain import behaviour_clone

        stats = behaviour_clone(model, env_id, cfg["env_kwargs"], hp, seed, masks)
        print(f"behaviour cloning of the reference: {int(stats['pretrain/samples'])} samples, "
              f"action accuracy {stats['pretrain/action_accuracy']:.3f}, {stats['pretrain/seconds']:.1f} s")

    every = max(1, int(hp["checkpoint_freq"]) // n_envs)
    checkpoint = CheckpointCallback(every, str(run_dir / "checkpoints"), name_prefix="rl_model",
                                    save_replay_buffer=algo == "dqn", save_vecnormalize=bool(norm))
    callbacks = [A2MetricsCallback(), checkpoint]
    if int(hp["eval_freq"]) > 0:
        eval_cls = MaskableEvalCallback if masks else EvalCallback
        eval_cb = eval_cls(eval_env, n_eval_episodes=int(hp["n_eval_episodes"]),
                           eval_freq=max(1, int(hp["eval_freq"]) // n_envs), deterministic=True,
                           best_model_save_path=str(run_dir), log_path=str(run_dir / "eval"),
                           callback_on_new_best=SaveVecNormalizeCallback(run_dir / "best_vecnormalize.pkl"),
                           verbose=verbose)
        restore_eval_history(eval_cb, run_dir / "eval" / "evaluations.npz")
        callbacks.append(eval_cb)
    return model, venv, CallbackList(callbacks)


def save_final(model: Any, run_dir: Path) -> None:
    """Save ``model.zip`` (+ ``vecnormalize.pkl``) so evaluation and ``--resume`` find the latest state."""
    model.save(str(run_dir / "model.zip"))
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:
        vec_normalize.save(str(run_dir / "vecnormalize.pkl"))


def main(argv: list[str] | None = None) -> int:
    """Entry point; configuration errors print one line and exit with status 2 before any training."""
    args = build_parser().parse_args(argv)
    try:
        run_dir = train(args)
    except AgentConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
