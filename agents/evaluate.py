"""Evaluate a trained run, the reference or a baseline: one JSONL episode record per episode.

Usage::

    python -m agents.evaluate --run runs/maskable_ppo/a2gym-Placement-v0_s0 --episodes 5 [--model
    best|last|PATH] \\
        [--seed 10000] [--out eval.jsonl] [--env-kwargs scenario=generator://synth-v0/7]
    python -m agents.evaluate --policy reference --env a2gym/GeoServe-v0 --mode myopic --episodes 5
    python -m agents.evaluate --policy origin-local --env a2gym/Placement-v0 --episodes 5

Episode ``i`` is reset with seed ``SEED + i`` (default SEED 10000, the leaderboard's seed base, far from
training seeds); a model acts deterministically (with the env's masks for MaskablePPO, with frozen
VecNormalize statistics when the run normalised observations: the library's one loader,
:func:`a2gym.sb3.load_model`), so the same seeds give the same costs. ``--out`` writes a results file in
the leaderboard's format (:mod:`a2gym.leaderboard.record`: an entry header with suite null, then env,
scenario URI + SHA-256, seed, action sequence, cost and breakdown, return, violations per episode), so
``a2gym validate FILE`` replays it (bundled scenarios) and ``a2gym leaderboard score FILE`` scores it. It
is not a leaderboard entry: enter a run with ``a2gym eval --policy sb3:RUN_DIR`` on the suite.
The printed table adds the score versus the reference, reference_cost/cost = −1/return. An agent
trained without masks meets the env's masked-action handling as in training (``invalid_action="noop"``):
an episode ended by a run of masked actions is reported as failed (score 0) and has no record.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.common import (
    AgentConfigError,
    action_mask,
    check_env_id,
    invalid_action_settings,
    invalid_env_kwargs,
    make_env,
    parse_key_values,
    saved_algo,
    uses_masks,
)


@dataclasses.dataclass
class Episode:
    """One evaluated episode: its leaderboard record plus the numbers the record does not hold.

    A failed episode (an agent without masks chose a masked action, see :mod:`agents.wrappers`) has
    ``failed=True``, score 0 and no record (its actions do not replay to the end of an episode).
    """

    seed: int
    scenario_uri: str
    record: Any  # a2gym.leaderboard.record.EpisodeRecord, or None if failed
    score: float  # env reference_cost / cost (0 if failed)
    reference_cost: float  # [$], as the env reports it
    length: int
    failed: bool = False

    @property
    def cost(self) -> float:
        """Total cost [$] (inf if failed)."""
        return self.record.cost if self.record is not None else float("inf")


Actor = Callable[[Any, dict[str, Any], Any], Any]
"""``actor(obs, info, env) -> action`` for the current step."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m agents.evaluate``."""
    p = argparse.ArgumentParser(prog="python -m agents.evaluate", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="RUN_DIR", help="a run directory written by agents.train")
    src.add_argument("--policy", help="'reference' or a baseline name (needs --env)")
    p.add_argument(
        "--model", default="best", help="best (default; last if there is no best), last, or a .zip path"
    )
    p.add_argument("--env", help="env id (required with --policy; with --run defaults to the run's env)")
    p.add_argument("--env-kwargs", nargs="*", default=None, metavar="K=V",
                   help="gymnasium.make kwargs (with --run: merged over the run's, e.g. another scenario)")
    p.add_argument("--mode", default=None, help="reference mode (GeoServe: myopic or oracle)")
    p.add_argument("--episodes", type=int, default=5, help="episodes to run (default 5)")
    p.add_argument("--seed", type=int, default=10_000, help="seed of the first episode (default 10000)")
    p.add_argument("--out", default=None, help="write the records as JSONL here")
    p.add_argument(
        "--name", default=None, help="policy name in the records (default: algo:run dir, or the policy)"
    )
    return p


def model_actor(run_dir: Path, which: str = "best") -> tuple[Actor, dict[str, Any]]:
    """A deterministic actor from a run's saved model and the run's config.yml.

    Loaded by the library's one SB3 loader (:func:`a2gym.sb3.load_model`), which applies the run's
    VecNormalize statistics whenever the run normalised observations, as ``a2gym eval --policy sb3:`` does.
    """
    from a2gym.sb3 import ModelError, load_model

    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yml"
    if not cfg_path.exists():
        raise AgentConfigError(
            f"--run {run_dir}: no config.yml (not a run directory written by agents.train)"
        )
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    if which == "best":
        path = run_dir / "best_model.zip"
        if not path.exists():
            path = run_dir / "model.zip"
    elif which == "last":
        path = run_dir / "model.zip"
    else:
        path = Path(which)
    if not path.exists():
        raise AgentConfigError(f"model {path} does not exist")
    try:
        model = load_model(path, saved_algo(cfg["algo"]))
    except ModelError as e:
        raise AgentConfigError(str(e)) from None
    cfg = {**cfg, "model_path": str(path), "model_sha256": model.files.sha256}
    cfg["spaces"] = (model.model.observation_space, model.model.action_space)

    def act(obs: Any, info: dict[str, Any], env: Any) -> Any:
        return model.act(obs, action_mask(env) if model.masked else None)

    return act, cfg


def run_invalid_settings(cfg: dict[str, Any]) -> dict[str, float] | None:
    """The invalid-action handling a run trained with (None for MaskablePPO, which uses the masks)."""
    return None if uses_masks(cfg["algo"]) else invalid_action_settings(cfg["hyperparams"])


def named_policy_actor(name: str, mode: str | None) -> Callable[[Any, int], Actor]:
    """``factory(env, seed) -> actor`` for the reference (``reference``) or a baseline, built after each
    reset."""

    def factory(env: Any, seed: int) -> Actor:
        if name == "reference":
            from a2gym.policies import reference_policy

            policy = reference_policy(env, mode=mode)
        else:
            try:
                from baselines import make_policy
            except ImportError as exc:
                raise AgentConfigError(f"baselines are not available ({exc})") from None
            policy = make_policy(name, env, seed=seed)
        return lambda obs, info, _env: policy(obs, info)

    return factory


def run_episode(env: Any, seed: int, actor: Actor, policy_name: str, env_id: str,
                env_kwargs: dict[str, Any], trained_on_test: bool | None) -> Episode:
    """Play one episode from ``reset(seed=seed)`` and return its record."""
    from a2gym.leaderboard.episode import cost_breakdown, to_jsonable
    from a2gym.leaderboard.record import EpisodeRecord
    from a2gym.rollout import rollout

    out = rollout(env, lambda obs, info: actor(obs, info, env), seed)
    actions = [to_jsonable(a, env.action_space) for a in out.actions]
    total, wall, info = out.return_, out.policy_s, out.info
    violations = out.violations  # summed over steps as the leaderboard does (GeoServe: per slot)
    scn = env.unwrapped.scenario
    if info.get("failed"):
        return Episode(seed=int(seed), scenario_uri=str(scn.uri), record=None, score=0.0,
                       reference_cost=float(info.get("reference_cost", float("nan"))), length=len(actions),
                       failed=True)
    cost = float(info["cost"])
    ref = float(info.get("reference_cost", -cost / total if total else float("nan")))
    record = EpisodeRecord(
        env_id=env_id,
        env_version=int(env.spec.version or 0),
        scenario_uri=str(scn.uri),
        scenario_sha256=str(scn.sha256),
        env_kwargs={k: v for k, v in env_kwargs.items() if k != "scenario"},
        seed=int(seed),
        actions=actions,
        cost=cost,
        cost_breakdown=cost_breakdown(info),
        return_=total,
        violations=violations,
        wall_time_s=wall,
    )
    return Episode(seed=int(seed), scenario_uri=str(scn.uri), record=record,
                   score=ref / cost if cost > 0 else float("inf"), reference_cost=ref, length=len(actions))


def evaluate(env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int, policy_name: str,
             actor: Actor | None = None, factory: Callable[[Any, int], Actor] | None = None,
             trained_on_test: bool | None = None, invalid: dict[str, Any] | None = None,
             spaces: tuple[Any, Any] | None = None) -> list[Episode]:
    """Run ``episodes`` episodes with seeds ``seed, seed+1, …`` in one env; give ``actor`` or ``factory``.

    ``invalid`` (agents trained without masks): the env's masked-action settings as in training; those
    that differ from the defaults are make-kwargs, so they are recorded and the records replay.
    ``spaces``: the (observation, action) spaces a loaded model was trained on; an env whose spaces differ
    is refused naming both.
    """
    check_env_id(env_id)
    env_kwargs = {**env_kwargs, **invalid_env_kwargs(invalid)}
    env = make_env(env_id, env_kwargs)
    try:
        if spaces is not None and (spaces[0] != env.observation_space or spaces[1] != env.action_space):
            raise AgentConfigError(
                f"the model was trained with observation space {spaces[0]} and action space "
                f"{spaces[1]}, but {env_id} with {env_kwargs} has observation space "
                f"{env.observation_space} and action space {env.action_space}"
            )
        out = []
        for i in range(episodes):
            if factory is not None:
                env.reset(seed=seed + i)
                actor = factory(env, seed + i)
            assert actor is not None
            out.append(run_episode(env, seed + i, actor, policy_name, env_id, env_kwargs, trained_on_test))
        return out
    finally:
        env.close()


def summarise(episodes: list[Episode]) -> dict[str, float]:
    """Mean cost, mean score, geometric-mean score (0 if any episode failed), failures and violations."""
    scores = [e.score for e in episodes]
    done = [e for e in episodes if not e.failed]
    return {"episodes": len(episodes), "failed": len(episodes) - len(done),
            "mean_cost": statistics.fmean(e.cost for e in done) if done else float("inf"),
            "mean_score": statistics.fmean(scores),
            "geomean_score": float(np.exp(np.mean(np.log(scores)))) if min(scores) > 0 else 0.0,
            "violations": sum(e.record.violations for e in done)}


def results_header(name: str, spec: str, sha: str | None, trained_on_test: bool) -> Any:
    """The leaderboard file header of a free run (suite null): ``name`` made a valid, unreserved entry name.

    ``a2gym validate FILE`` replays such a file (on bundled ``scenario://`` scenarios), and
    ``a2gym leaderboard score FILE`` scores it; to enter the leaderboard, run ``a2gym eval`` on the suite.
    """
    import re

    import a2gym
    from a2gym.leaderboard.entry import EntryHeader, is_reserved

    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:60] or "run"
    if is_reserved(clean):
        clean = f"{clean}-run"
    return EntryHeader(name=clean, policy=spec[:512], policy_sha256=sha, trained_on_test=trained_on_test,
                       description=f"python -m agents.evaluate ({name})"[:1000], suite=None,
                       a2gym_version=a2gym.__version__)


def main(argv: list[str] | None = None) -> int:
    """Entry point: evaluate, print a table, optionally write JSONL records."""
    args = build_parser().parse_args(argv)
    try:
        extra = parse_key_values(args.env_kwargs, "--env-kwargs")
        if args.run:
            actor, cfg = model_actor(Path(args.run), args.model)
            env_id = args.env or cfg["env"]
            env_kwargs = {**cfg["env_kwargs"], **extra}
            name = args.name or f"{cfg['algo']}:{Path(args.run).name}"
            trained_uri = str(cfg["env_kwargs"].get("scenario", ""))
            trained = trained_uri.startswith("scenario://a2-test") or trained_uri == "scenario://paper-default-v0"
            spec, spec_sha = f"sb3:{saved_algo(cfg['algo'])}:{cfg['model_path']}", cfg["model_sha256"]
            eps = evaluate(env_id, env_kwargs, args.episodes, args.seed, name, actor=actor,
                           trained_on_test=trained, invalid=run_invalid_settings(cfg), spaces=cfg["spaces"])
        else:
            if not args.env:
                raise AgentConfigError("--policy needs --env")
            name = args.name or (args.policy + (f":{args.mode}" if args.mode else ""))
            spec, spec_sha, trained = args.policy, None, False
            eps = evaluate(args.env, extra, args.episodes, args.seed, name,
                           factory=named_policy_actor(args.policy, args.mode), trained_on_test=False)
    except (
        AgentConfigError,
        ValueError,
    ) as exc:  # ValueError: e.g. a reference mode or baseline name the env rejects
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{'seed':>6} {'cost $':>12} {'ref $':>12} {'score':>7} {'viol':>4} {'steps':>5}  scenario")
    for e in eps:
        viol = "FAIL" if e.failed else str(e.record.violations)
        print(f"{e.seed:>6} {e.cost:>12.4f} {e.reference_cost:>12.4f} {e.score:>7.4f} {viol:>4} "
              f"{e.length:>5}  {e.scenario_uri}")
    s = summarise(eps)
    print(f"mean cost {s['mean_cost']:.4f} $, mean score {s['mean_score']:.4f}, geomean score "
          f"{s['geomean_score']:.4f}, failed {s['failed']}/{s['episodes']}, violations {s['violations']}")
    if args.out:
        from a2gym.leaderboard.record import write_records

        records = [e.record for e in eps if not e.failed]
        path = write_records(args.out, results_header(name, spec, spec_sha, trained), records)
        print(f"wrote {len(records)} records to {path}"
              + (f" ({s['failed']} failed episodes have no replayable record)" if s["failed"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
