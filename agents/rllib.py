"""Train RLlib PPO (new API stack) with action masking on an a2gym env, locally or on a Ray cluster.

Usage::

    python -m agents.rllib --env a2gym/Placement-v0 --iterations 20 --num-env-runners 2 --log-dir runs/
    python -m agents.rllib --env a2gym/GeoServe-v0 --iterations 50 --num-env-runners 32 \\
        --address auto --log-dir runs/          # join a running Ray cluster (`ray start --head` …)

Needs the optional extra ``pip install "a2gym[rllib]"`` (on every node of a cluster, same versions).
The env runners build the env by the string ``"a2gym:<id>"``, so Gymnasium imports ``a2gym`` in each of
them; with masking (the default) the env is made with ``action_mask_in_obs=True`` and the policy is
RLlib's action-masking RLModule, which adds log(mask) to the action logits (no masked action is ever
sampled). ``--no-action-masking`` trains RLlib's default PPO module on the env's default kwargs (masked
actions then get the env's ``invalid_action`` outcome).

Without ``--address`` a local Ray is started (or the one already initialised in this process is used).
An iteration whose env runners sampled no env step raises :class:`RLlibRunError` (exit 1): RLlib would
otherwise restart crashed env runners and report an empty iteration as a success.

Run directory ``LOG_DIR/rllib_ppo/<env>_s<seed>[_N]``::

    config.yml            resolved arguments, hyperparameters and package versions
    tb/                   TensorBoard scalars (tags below), one point per iteration (x = env steps sampled)
    checkpoints/iter_N/   RLlib checkpoints every --checkpoint-freq iterations (Algorithm.save_to_path)
    checkpoint/           the final checkpoint
    eval.jsonl            leaderboard-format records of the evaluation episodes (``a2gym validate``
                          replays them)

TensorBoard tags: ``rllib/episode_return_mean``, ``rllib/episode_len_mean``, ``rllib/num_env_steps_sampled``,
``a2gym/steps_per_second`` (env steps sampled / wall time of the iteration), the episode numbers of
:func:`agents.metrics.episode_metrics` as ``a2gym/<name>`` (``episode_cost``, ``cost_<part>`` [$],
``reference_cost`` [$], ``score`` = reference_cost / cost, ``violations``; means over the last 100 finished
episodes) and, after training, ``eval/score`` and ``eval/cost`` [$].
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.common import AgentConfigError, check_env_id, parse_key_values, to_plain

HYPERPARAMS = Path(__file__).resolve().parent / "hyperparams" / "rllib" / "ppo.yml"
#: Episodes the a2gym/* training scalars average over (RLlib's own smoothing window for returns).
METRICS_WINDOW = 100
#: Where the final RLModule sits inside an Algorithm checkpoint (RLlib's component names).
MODULE_IN_CHECKPOINT = Path("learner_group", "learner", "rl_module", "default_policy")


class RLlibRunError(RuntimeError):
    """An RLlib run that cannot be trusted (its env runners sampled nothing)."""


def rllib_available() -> bool:
    """Whether ``ray[rllib]`` and torch import (the ``a2gym[rllib]`` extra)."""
    try:
        import ray.rllib.algorithms.ppo  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load_hyperparams(env_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The env's section of ``hyperparams/rllib/ppo.yml`` (or ``default``) with ``overrides``, validated.

    Raises :class:`AgentConfigError` naming a key that is not a ``PPOConfig.training`` argument.
    """
    import inspect

    from ray.rllib.algorithms.ppo import PPOConfig

    table = yaml.safe_load(HYPERPARAMS.read_text(encoding="utf-8")) or {}
    hp = dict(table.get(env_id) or table["default"])
    for key, value in (overrides or {}).items():
        if key == "model" and isinstance(value, dict):
            hp["model"] = {**hp.get("model", {}), **value}
        else:
            hp[key] = value
    allowed = {name for cls in PPOConfig.__mro__ if "training" in vars(cls)
               for name in inspect.signature(vars(cls)["training"]).parameters} - {"self", "kwargs"}
    for key in hp:
        if key != "model" and key not in allowed:
            raise AgentConfigError(f"unknown RLlib PPO hyperparameter {key!r} (a PPOConfig.training argument "
                                   f"or 'model'); see {HYPERPARAMS.name}")
    return hp


def make_callback_class() -> type:
    """The RLlib callback class that logs :func:`agents.metrics.episode_metrics` of each finished episode."""
    try:
        from ray.rllib.callbacks.callbacks import RLlibCallback as Base
    except ImportError:  # ray < 2.40
        from ray.rllib.algorithms.callbacks import DefaultCallbacks as Base

    class A2MetricsCallback(Base):  # type: ignore[misc, valid-type]
        """Cost breakdown, reference cost, score and violations of each finished episode (its last info)."""

        def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
            from agents.metrics import episode_metrics

            if metrics_logger is None:
                return
            info = episode.get_infos(-1)
            for key, value in episode_metrics(info, float(episode.get_return())).items():
                metrics_logger.log_value(("a2gym", key), value, reduce="mean", window=METRICS_WINDOW)

    return A2MetricsCallback


A2MetricsCallback = make_callback_class() if rllib_available() else None


def build_config(env_id: str, env_kwargs: Mapping[str, Any], hp: Mapping[str, Any], num_env_runners: int,
                 seed: int, masking: bool = True, restart_failed: bool = False) -> Any:
    """The ``PPOConfig`` of a run: env ``"a2gym:<env_id>"``, the masking RLModule when ``masking``."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env_config = dict(env_kwargs)
    training = {k: v for k, v in hp.items() if k != "model"}
    model = dict(hp.get("model", {}))
    if masking:
        from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule

        env_config["action_mask_in_obs"] = True
        spec = RLModuleSpec(module_class=ActionMaskingTorchRLModule, model_config=model)
    else:
        spec = RLModuleSpec(model_config=model)
    return (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .environment(env=f"a2gym:{env_id}", env_config=env_config)
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1, num_cpus_per_env_runner=1)
        .training(**training)
        .rl_module(rl_module_spec=spec)
        .callbacks(A2MetricsCallback)
        .fault_tolerance(restart_failed_env_runners=restart_failed)
        .reporting(metrics_num_episodes_for_smoothing=METRICS_WINDOW)
        .debugging(seed=seed, log_level="ERROR")
    )


@dataclasses.dataclass
class Iteration:
    """What one ``Algorithm.train()`` call did."""

    index: int  # 1-based
    env_steps: int  # env steps sampled in this iteration
    env_steps_total: int  # env steps sampled since the start
    wall_s: float  # wall time of train() [s]
    scalars: dict[str, float]  # TensorBoard tag -> value

    @property
    def steps_per_second(self) -> float:
        return self.env_steps / self.wall_s if self.wall_s > 0 else 0.0


def _get(d: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, Mapping) or k not in d:
            return None
        d = d[k]
    return d


def iteration_record(index: int, result: Mapping[str, Any], wall_s: float, steps_before: int) -> Iteration:
    """Scalars of one train() result; RLlibRunError if its env runners sampled no env step."""
    runners = result.get("env_runners", {})
    total = _get(result, "num_env_steps_sampled_lifetime") or _get(runners, "num_env_steps_sampled_lifetime")
    steps = _get(runners, "num_env_steps_sampled")
    steps = int(steps) if steps is not None else int(total or 0) - steps_before
    total = int(total) if total is not None else steps_before + steps
    if steps <= 0:
        raise RLlibRunError(
            f"iteration {index} sampled no env step: the env runners failed (their error is in the worker "
            "log "
            "above; --num-env-runners 0 raises it in this process)")
    scalars: dict[str, float] = {"rllib/num_env_steps_sampled": float(total),
                                 "a2gym/steps_per_second": steps / wall_s if wall_s > 0 else 0.0}
    for name in ("episode_return_mean", "episode_len_mean"):
        if _get(runners, name) is not None:
            scalars[f"rllib/{name}"] = float(runners[name])
    for key, value in (_get(runners, "a2gym") or {}).items():
        scalars[f"a2gym/{key}"] = float(value)
    return Iteration(index, steps, total, wall_s, {k: v for k, v in scalars.items() if np.isfinite(v)})


def train(algo: Any, iterations: int, writer: Any = None, checkpoint_dir: Path | None = None,
          checkpoint_freq: int = 0, log: Callable[[str], None] = print) -> list[Iteration]:
    """Run ``iterations`` train() calls, write scalars, checkpoint every ``checkpoint_freq`` iterations."""
    out: list[Iteration] = []
    steps = 0
    from ray.exceptions import RayError

    for i in range(1, iterations + 1):
        t0 = time.perf_counter()
        try:
            result = algo.train()
        except RayError as exc:
            raise RLlibRunError(
                f"iteration {i}: an env runner failed ({type(exc).__name__}; the env's error is in the "
                "worker "
                "log above; --num-env-runners 0 raises it in this process)") from exc
        it = iteration_record(i, result, time.perf_counter() - t0, steps)
        steps = it.env_steps_total
        out.append(it)
        if writer is not None:
            for tag, value in it.scalars.items():
                writer.add_scalar(tag, value, steps)
            writer.flush()
        ret = it.scalars.get("rllib/episode_return_mean", float("nan"))
        score = it.scalars.get("a2gym/score", float("nan"))
        log(f"iter {i:>4}  env steps {steps:>8}  {it.steps_per_second:>8.1f} steps/s  return {ret:>8.4f}  "
            f"score {score:.4f}")
        if checkpoint_dir is not None and checkpoint_freq > 0 and i % checkpoint_freq == 0 and i < iterations:
            algo.save_to_path(str(checkpoint_dir / f"iter_{i:06d}"))
    return out


def module_actor(module: Any) -> Callable[[Any, dict[str, Any], Any], Any]:
    """``actor(obs, info, env)``: the module's deterministic action (argmax of the masked logits)."""
    import torch
    from gymnasium import spaces
    from ray.rllib.core.columns import Columns

    dist_cls = module.get_inference_action_dist_cls()

    def to_tensor(x: Any) -> Any:
        return torch.as_tensor(np.asarray(x, dtype=np.float32)[None])

    def act(obs: Any, info: dict[str, Any], env: Any) -> Any:
        batch_obs = {k: to_tensor(v) for k, v in obs.items()} if isinstance(obs, dict) else to_tensor(obs)
        with torch.no_grad():
            out = module.forward_inference({Columns.OBS: batch_obs})
        action = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS]).to_deterministic().sample()[0].numpy()
        if isinstance(env.action_space, spaces.Discrete):
            return int(action)
        return action.astype(np.int64)

    return act


def load_module(checkpoint: Path) -> Any:
    """The trained RLModule of an Algorithm checkpoint written by this script."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    path = Path(checkpoint) / MODULE_IN_CHECKPOINT
    if not path.exists():
        raise AgentConfigError(f"{checkpoint}: no RLModule at {MODULE_IN_CHECKPOINT} "
                               "(not an RLlib PPO checkpoint)")
    return RLModule.from_checkpoint(str(path.resolve()))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m agents.rllib``."""
    p = argparse.ArgumentParser(prog="python -m agents.rllib", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True, help="env id, e.g. a2gym/Placement-v0")
    p.add_argument("--iterations", type=int, default=10, help="Algorithm.train() calls (default 10)")
    p.add_argument("--num-env-runners", type=int, default=2,
                   help="remote env runners (0: sample in this process)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (e.g. auto or HOST:6379); default local Ray")
    p.add_argument("--log-dir", default="runs", help="parent of the run directory (default runs/)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-kwargs", nargs="*", default=None, metavar="K=V", help="gymnasium.make kwargs")
    p.add_argument("--hyperparams", nargs="*", default=None, metavar="K=V",
                   help="override PPOConfig.training arguments or model.<key> of hyperparams/rllib/ppo.yml")
    p.add_argument("--no-action-masking", action="store_true",
                   help="RLlib's default PPO module on the env's default kwargs "
                        "(masked actions get invalid_action)")
    p.add_argument("--checkpoint-freq", type=int, default=0,
                   help="checkpoint every N iterations (0: final only)")
    p.add_argument("--eval-episodes", type=int, default=5,
                   help="evaluation episodes after training (0: none)")
    p.add_argument("--eval-seed", type=int, default=10_000, help="seed of the first evaluation episode")
    p.add_argument("--restart-failed-env-runners", action="store_true",
                   help="let RLlib restart crashed env runners (e.g. preempted cluster nodes)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="logical CPUs of the local Ray (default: env runners + 1, at least 2)")
    return p


def _check_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.iterations < 1:
        raise AgentConfigError(f"--iterations must be >= 1, got {args.iterations}")
    if args.num_env_runners < 0:
        raise AgentConfigError(f"--num-env-runners must be >= 0, got {args.num_env_runners}")
    if args.checkpoint_freq < 0 or args.eval_episodes < 0:
        raise AgentConfigError("--checkpoint-freq and --eval-episodes must be >= 0")
    if args.num_cpus is not None and args.num_cpus < 1:
        raise AgentConfigError(f"--num-cpus must be >= 1, got {args.num_cpus}")
    if Path(args.log_dir).exists() and not Path(args.log_dir).is_dir():
        raise AgentConfigError(f"--log-dir {args.log_dir} is not a directory")
    check_env_id(args.env)
    env_kwargs = parse_key_values(args.env_kwargs, "--env-kwargs")
    if not args.no_action_masking and "action_mask_in_obs" in env_kwargs:
        raise AgentConfigError("--env-kwargs action_mask_in_obs is set by agents.rllib "
                               "(use --no-action-masking)")
    return env_kwargs


def _make_env_once(env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Build and reset the env in this process first, so bad kwargs fail here with their own message."""
    import gymnasium as gym

    import a2gym  # noqa: F401

    try:
        env = gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError) as exc:  # an unknown kwarg, or a bad value (a2gym's are ValueErrors)
        raise AgentConfigError(f"--env-kwargs: {exc}") from None
    try:
        env.reset(seed=0)
    finally:
        env.close()


def _init_ray(address: str | None, num_cpus: int) -> None:
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, include_dashboard=False)
        return
    # The local workers import the same a2gym and agents as this process (also from a source checkout).
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=num_cpus, include_dashboard=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> Path:
    """Train, checkpoint and evaluate; returns the run directory."""
    import ray
    import torch
    from torch.utils.tensorboard import SummaryWriter

    from a2gym.leaderboard.record import write_records
    from agents.evaluate import evaluate, summarise
    from agents.train import new_run_dir

    env_kwargs = _check_args(args)
    hp = load_hyperparams(args.env, parse_key_values(args.hyperparams, "--hyperparams"))
    masking = not args.no_action_masking
    train_kwargs = {**env_kwargs, **({"action_mask_in_obs": True} if masking else {})}
    _make_env_once(args.env, train_kwargs)
    torch.set_num_threads(1)
    _init_ray(args.address, args.num_cpus or max(2, args.num_env_runners + 1))
    run_dir = new_run_dir(Path(args.log_dir), "rllib_ppo", args.env, args.seed, None)
    cfg = {"env": args.env, "env_kwargs": env_kwargs, "masking": masking, "seed": args.seed,
           "iterations": args.iterations, "num_env_runners": args.num_env_runners, "address": args.address,
           "hyperparams": hp, "versions": {"ray": ray.__version__, "torch": torch.__version__}}
    (run_dir / "config.yml").write_text(yaml.safe_dump(to_plain(cfg), sort_keys=False), encoding="utf-8")
    log(f"run directory {run_dir}")
    config = build_config(args.env, env_kwargs, hp, args.num_env_runners, args.seed, masking,
                          args.restart_failed_env_runners)
    algo = config.build_algo() if hasattr(config, "build_algo") else config.build()
    writer = SummaryWriter(str(run_dir / "tb"))
    failure: Exception | None = None
    try:
        its = train(algo, args.iterations, writer, run_dir / "checkpoints", args.checkpoint_freq, log)
        final = Path(algo.save_to_path(str((run_dir / "checkpoint").resolve())))
        log(f"checkpoint {final}")
        if args.eval_episodes:
            actor = module_actor(load_module(final))
            name = f"rllib_ppo:{run_dir.name}"
            trained_on_test = str(env_kwargs.get("scenario", "")).startswith("scenario://a2-test")
            eps = evaluate(args.env, train_kwargs, args.eval_episodes, args.eval_seed, name, actor=actor,
                           trained_on_test=trained_on_test)
            s = summarise(eps)
            records = [e.record for e in eps if not e.failed]
            from agents.evaluate import results_header

            write_records(run_dir / "eval.jsonl", results_header(name, "rllib", None, False), records)
            steps = its[-1].env_steps_total
            writer.add_scalar("eval/score", s["geomean_score"], steps)
            if np.isfinite(s["mean_cost"]):
                writer.add_scalar("eval/cost", s["mean_cost"], steps)
            log(f"evaluation: {s['episodes']} episodes, mean cost {s['mean_cost']:.4f} $, geomean score "
                f"{s['geomean_score']:.4f}, failed {s['failed']}, violations {s['violations']}; "
                f"{len(records)} records in {run_dir / 'eval.jsonl'}")
    except Exception as exc:  # noqa: BLE001  (re-raised below, after the clean-up)
        failure = exc
    # Stopped outside the except block: RLlib's stop() would print the pending exception's traceback.
    writer.close()
    algo.stop()
    if failure is not None:
        raise failure
    return run_dir


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 on success, 2 on bad input (one line), 1 when the run fails."""
    args = build_parser().parse_args(argv)
    if not rllib_available():
        print('error: agents.rllib needs RLlib and torch: pip install "a2gym[rllib]"', file=sys.stderr)
        return 2
    try:
        run(args)
    except AgentConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RLlibRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from agents.rllib import main as _main  # run as agents.rllib, so Ray pickles the callback by reference

    sys.exit(_main())
