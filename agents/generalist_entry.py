"""The published generalists as leaderboard policies: ``a2gym eval --policy agents.generalist_entry:make``.

``placement-general`` and ``scheduling-general`` (``results/agents/runs/``) read the size-agnostic
``observation="sets"``; the suite's envs give the plain observation, and a leaderboard policy never gets
the env (:class:`~a2gym.heuristics.PolicyContext`). So :func:`make` plays a *shadow* env per episode:

* it makes ``gymnasium.make(ctx.env_id, scenario=ctx.scenario, observation="sets", **ctx.env_kwargs)``
  from the context's own scenario copy and resets it with ``ctx.seed`` (a scenario larger than the sets
  maxima fails there, with the env's :class:`~a2gym.errors.ScenarioError` naming the size and the limit);
* each call checks that the shadow is in the real env's state (the real ``info``'s cost, reference cost,
  action mask and, in Scheduling, current class, and the real plain observation, against the shadow's;
  any difference raises :class:`ShadowDivergedError` naming the step), picks the attention policy's
  deterministic action on the shadow's sets observation and mask, steps the shadow with it and returns
  the plain action, translated by the sets env's own rule (:func:`a2gym.envs.sets.placement_action` /
  :func:`~a2gym.envs.sets.scheduling_action`, what the sets env's ``step`` does).

The leaderboard pins the SHA-256 of this file only, so this file pins the run files it loads
(:data:`PINNED`): a ``best_model.zip`` or ``config.yml`` whose SHA-256 differs is refused before it is
unpickled (:class:`~a2gym.sb3.ModelError` naming both hashes). Each run's model is loaded once per process
by the library's one loader (:func:`a2gym.sb3.load_model`, one torch thread) and acts deterministically,
so the same seed gives the same actions (``a2gym validate --rerun``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from a2gym.envs import sets
from a2gym.errors import A2GymError
from a2gym.heuristics import PolicyContext
from a2gym.sb3 import LoadedModel, ModelError, load_model

RUNS = Path(__file__).resolve().parents[1] / "results" / "agents" / "runs"
"""Where the published run directories are (the repository's ``results/agents/runs``)."""

RUN_OF_ENV = {"a2gym/Placement-v0": "placement-general", "a2gym/Scheduling-v0": "scheduling-general"}
"""Env id -> the published run that plays it."""

PINNED: dict[str, dict[str, str]] = {
    "placement-general": {
        "config.yml": "7e0a42e45c5a40be769242ceae2005c87ebb0922340b0f963cebe1fe45e775cd",
        "best_model.zip": "29327b5fde4a45c0726e3846315e3f460ea5b29c4d1a5a721b57ebf6ea4b31af",
    },
    "scheduling-general": {
        "config.yml": "3d358528e1c65faf87651088de23158d3684e2a1836026a436aee7eada61b79d",
        "best_model.zip": "30cbc222aa85cb7880b6a5c92b81128a9729ef70d35674d8d128fce1e5abcb30",
    },
}
"""Run name -> file -> SHA-256 of the published file (what this module's entries were evaluated with)."""

_MODELS: dict[Path, LoadedModel] = {}


class ShadowDivergedError(A2GymError, RuntimeError):
    """The shadow sets env is no longer in the real env's state (the policy would act on a wrong one)."""


def check_run(run_dir: Path, pinned: Mapping[str, str]) -> None:
    """Raise :class:`ModelError` unless every file of ``pinned`` in ``run_dir`` has its pinned SHA-256."""
    for name, expected in pinned.items():
        path = run_dir / name
        if not path.is_file():
            raise ModelError(f"{path} is missing (agents/generalist_entry.py pins it with SHA-256 "
                             f"{expected})")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise ModelError(f"{path} has SHA-256 {actual}, but agents/generalist_entry.py pins {expected}: "
                             "refusing a checkpoint other than the published one")


def pinned_model(name: str, runs: Path | None = None) -> LoadedModel:
    """The model of published run ``name`` (checked against :data:`PINNED`, loaded once per process)."""
    run_dir = Path(runs or RUNS) / name
    if run_dir not in _MODELS:
        check_run(run_dir, PINNED[name])
        _MODELS[run_dir] = load_model(run_dir)
    return _MODELS[run_dir]


class ShadowPolicy:
    """``policy(obs, info) -> plain action`` of one episode, acting through a shadow sets env (module doc)."""

    def __init__(self, ctx: PolicyContext, model: LoadedModel):
        kwargs = dict(ctx.env_kwargs)
        if kwargs.pop("observation", "plain") != "plain":
            raise ValueError(f"{ctx.env_id} with observation={ctx.env_kwargs['observation']!r}: the "
                             "generalists' shadow policy plays the plain observation's env")
        self.model = model
        self.where = f"{ctx.env_id} {ctx.scenario.uri or ctx.scenario.name} seed {ctx.seed}"
        self.env = gym.make(ctx.env_id, scenario=ctx.scenario, observation="sets", **kwargs)
        self.base = self.env.unwrapped
        self.placement = ctx.kind == "placement"
        self.n_plain = self.base.n_facilities + 1 if self.placement else self.base.tables.n_actions
        self.obs, self.info = self.env.reset(seed=ctx.seed)
        self.step_no, self.done = 0, False

    def padded_mask(self, plain_mask: Any) -> np.ndarray:
        """The real env's mask in the sets env's padded layout."""
        m = np.asarray(plain_mask, dtype=bool)
        if self.placement:
            return sets.placement_mask(m, self.base.n_facilities)
        return sets.scheduling_mask(self.base, m)

    def plain_obs(self) -> np.ndarray:
        """The shadow's plain observation (what its plain env class observes, before the sets layout)."""
        return super(type(self.base), self.base)._obs()

    def check(self, obs: Any, info: dict[str, Any]) -> None:
        """Raise :class:`ShadowDivergedError` unless the shadow is in the state the real env's ``obs`` and
        ``info`` show."""
        mine = self.info
        if self.done:
            problem = "the shadow env's episode has ended but the real env asks for another action"
        elif not all(math.isclose(float(info[k]), float(mine[k]), rel_tol=1e-9, abs_tol=1e-9)
                     for k in ("cost", "reference_cost")):
            problem = (f"cost {info['cost']!r} (reference {info['reference_cost']!r}) in the real env, "
                       f"{mine['cost']!r} (reference {mine['reference_cost']!r}) in the shadow")
        elif not self.placement and info["class"] != mine["class"]:
            problem = f"current class {info['class']} in the real env, {mine['class']} in the shadow"
        elif np.shape(info["action_mask"]) != (self.n_plain,):
            problem = (f"the real env's action mask has shape {np.shape(info['action_mask'])}, the shadow's "
                       f"plain actions are ({self.n_plain},)")
        elif not np.array_equal(self.padded_mask(info["action_mask"]), mine["action_mask"]):
            problem = "the real env's action mask differs from the shadow's"
        elif not np.array_equal(np.asarray(obs), self.plain_obs()):
            problem = "the real env's observation differs from the shadow's plain observation"
        else:
            return
        raise ShadowDivergedError(f"{self.where}: step {self.step_no}: the shadow sets env diverged from the "
                                  f"real env: {problem}")

    def __call__(self, obs: Any, info: dict[str, Any]) -> int:
        self.check(obs, info)
        padded = int(self.model.act(self.obs, self.info["action_mask"]))
        if self.placement:
            plain = sets.placement_action(padded, self.base.n_facilities)
        else:
            plain = sets.scheduling_action(self.base, padded)
        if plain < 0:
            raise ShadowDivergedError(f"{self.where}: step {self.step_no}: the model chose padding action "
                                      f"{padded}, which the shadow's mask forbids")
        self.obs, _, terminated, truncated, self.info = self.env.step(padded)
        self.done = bool(terminated or truncated)
        self.step_no += 1
        return plain


def make(ctx: PolicyContext) -> ShadowPolicy:
    """The policy of one episode: the published generalist of ``ctx.env_id`` through a shadow sets env."""
    if ctx.env_id not in RUN_OF_ENV:
        raise ValueError(f"no published generalist for {ctx.env_id} (envs: {', '.join(RUN_OF_ENV)})")
    return ShadowPolicy(ctx, pinned_model(RUN_OF_ENV[ctx.env_id]))
