"""Generalist agents: the attention policy on ``observation="sets"``, trained on generated scenarios of
mixed sizes, never on the suite's.

* :func:`train_uri` / :func:`test_uri`: generator URIs of mixed sizes (:data:`TRAIN_SIZES`), seeds drawn
  from disjoint ranges for training, validation and testing.
* :data:`MixedSizes`: the agents' :class:`~agents.wrappers.ScenarioPool` over scenarios of random training
  sizes (each reference solve runs once).
* :func:`clone_reference`: behaviour cloning of the reference with DAgger rounds (the policy acts, the
  reference labels every state it visits). Placement's reference opens a *set* of facilities (its order
  is the facility index, which a permutation-equivariant policy cannot see), so its target is any
  not-yet-open facility of that set (maximum likelihood of the set); Scheduling's is the reference's
  (facility, data version) of the current class.
* :func:`save_run`: a run directory that ``python -m agents.evaluate --run DIR`` reads.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from agents.sizes import LARGE_CLASSES, SEED_BASE, TRAIN_SIZES, sized_uri, uris  # noqa: F401  (their home)
from agents.wrappers import ScenarioPool

MixedSizes = ScenarioPool
"""Every reset gets one of the pool's scenarios of mixed training sizes
(:class:`agents.wrappers.ScenarioPool`: loaded once, so each reference solve runs once)."""


def reference_targets(env: gym.Env, info: dict[str, Any]) -> np.ndarray:
    """Bool [n_actions]: the actions the reference would accept now (see the module docstring)."""
    from a2gym.envs.reward import greedy_plan
    from a2gym.envs.sets import MAX_FACILITIES
    from a2gym.policies import reference_policy

    base = env.unwrapped
    mask = np.asarray(info["action_mask"], dtype=bool)
    target = np.zeros_like(mask)
    if hasattr(base, "stop_action"):  # Placement: any unopened, unmasked facility of the reference's set
        fac = np.asarray(greedy_plan(base.scenario).open_facilities, dtype=np.int64)
        fac = fac[mask[fac]]
        target[fac if fac.size else [MAX_FACILITIES]] = True
    else:
        target[int(reference_policy(env)(None, info))] = True
    return target


def _collate(samples: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    import torch as th

    return {k: th.as_tensor(np.stack([s[k] for s in samples])) for k in samples[0]}


def play(env: gym.Env, policy: Any, uri: str, seed: int, beta: float, rng: np.random.Generator,
         store: list | None) -> float:
    """One episode on ``uri``: the reference acts with probability ``beta`` per step, else ``policy``
    (greedy); with ``store``, append (obs, mask, reference targets). Returns −cost/reference cost."""
    import torch as th

    obs, info = env.reset(seed=seed, options={"scenario": uri})
    done, ret = False, 0.0
    while not done:
        mask = np.asarray(info["action_mask"], dtype=bool)
        target = reference_targets(env, info)
        if store is not None:
            store.append((obs, mask, target))
        if rng.random() < beta:
            action = int(rng.choice(np.flatnonzero(target)))
        else:
            with th.no_grad():
                logits = policy.logits(_collate([obs]))[0].numpy()
            action = int(np.argmax(np.where(mask, logits, -np.inf)))
        obs, reward, terminated, truncated, info = env.step(action)
        ret += float(reward)
        done = terminated or truncated
    return ret


def fit(policy: Any, data: list, epochs: int, lr: float, batch: int, rng: np.random.Generator) -> float:
    """Maximum likelihood of the reference's target set under the masked policy; returns the last loss."""
    import torch as th

    from agents.cloning import fit_minibatches

    def loss_of(chunk: list) -> th.Tensor:
        obs = _collate([c[0] for c in chunk])
        mask = th.as_tensor(np.stack([c[1] for c in chunk]))
        target = th.as_tensor(np.stack([c[2] for c in chunk]))
        logits = policy.logits(obs).masked_fill(~mask, -1e9)
        return (th.logsumexp(logits, -1) - th.logsumexp(logits.masked_fill(~target, -1e9), -1)).mean()

    return fit_minibatches(policy, data, epochs, lr, batch, rng, loss_of)


def evaluate_uris(env: gym.Env, policy: Any, scenario_uris: list[str], seed: int = 0) -> float:
    """Mean score (reference cost / cost) of the greedy policy over ``scenario_uris``."""
    rng = np.random.default_rng(seed)
    return float(np.mean([-1.0 / play(env, policy, u, seed + j, 0.0, rng, None)
                          for j, u in enumerate(scenario_uris)]))


def clone_reference(model: Any, env: gym.Env, train: list[str], val: list[str], rounds: int, episodes: int,
                    epochs: int, lr: float, batch: int, seed: int, log: Any = print,
                    deadline: float = float("inf")) -> list[dict[str, float]]:
    """DAgger: round 0 the reference acts; round k mixes in the policy (β = 0.5^k). Keeps the weights of
    the best validation score. Returns one row per round (samples, loss, validation score, seconds).
    ``deadline`` (a ``time.perf_counter()`` value): no round starts that would end past it if it took as
    long as the last one (rounds only grow, as the data set does)."""
    import copy

    rng = np.random.default_rng(seed)
    policy = model.policy
    data: list = []
    rows, best, best_state = [], -np.inf, None
    t0 = time.perf_counter()
    for k in range(rounds):
        t_round = time.perf_counter()
        beta = 0.5 ** k
        for j in range(episodes):
            uri = train[int(rng.integers(len(train)))]
            play(env, policy, uri, seed * 1000 + k * episodes + j, beta, rng, data)
        loss = fit(policy, data, epochs, lr, batch, rng)
        score = evaluate_uris(env, policy, val)
        rows.append({"round": k, "beta": beta, "samples": len(data), "loss": loss, "val_score": score,
                     "seconds": time.perf_counter() - t0})
        log(f"  round {k}: beta {beta:.3f}, {len(data)} samples, loss {loss:.4f}, val score {score:.4f}, "
            f"{time.perf_counter() - t0:.0f} s")
        if score > best:
            best, best_state = score, copy.deepcopy(policy.state_dict())
        now = time.perf_counter()
        if now + (now - t_round) > deadline:
            break
    policy.load_state_dict(best_state)
    return rows


def save_run(model: Any, run_dir: Path, env_id: str, env_kwargs: dict[str, Any], hp: dict[str, Any],
             extra: dict[str, Any]) -> None:
    """``config.yml`` + ``best_model.zip`` in the layout of :mod:`agents.train` (read by agents.evaluate)."""
    from agents.common import to_plain, versions

    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(run_dir / "best_model.zip"))
    cfg = {"algo": "maskable_ppo", "env": env_id, "env_kwargs": env_kwargs, "hyperparams": hp,
           "versions": versions(), **extra}
    (run_dir / "config.yml").write_text(yaml.safe_dump(to_plain(cfg), sort_keys=False), encoding="utf-8")


def plain_env_policy(run_dir: str | Path) -> Any:
    """``factory(env) -> policy(obs, info)`` that plays a *plain* Placement/Scheduling env with a sets model.

    The sets observation, mask and padded action are computed from the plain env's own state
    (:mod:`a2gym.envs.sets`), so its records carry no extra env kwargs and replay in the plain env (the
    leaderboard's suite envs). ``run_dir``: a run directory with ``best_model.zip``.
    """
    import torch
    from sb3_contrib import MaskablePPO

    from a2gym.envs import sets
    from a2gym.envs.placement import PlacementEnv

    torch.set_num_threads(1)
    model = MaskablePPO.load(str(Path(run_dir) / "best_model.zip"), device="cpu")

    def factory(env: gym.Env) -> Any:
        base = env.unwrapped
        placement = isinstance(base, PlacementEnv)

        def policy(obs: Any, info: dict[str, Any]) -> int:
            if placement:
                n = base.n_facilities
                o = sets.placement_observe(base, obs)
                m = sets.placement_mask(np.asarray(info["action_mask"], dtype=bool), n)
            else:
                o = sets.scheduling_observe(base, obs)
                m = sets.scheduling_mask(base, np.asarray(info["action_mask"], dtype=bool))
            a, _ = model.predict(o, deterministic=True, action_masks=m)
            return sets.placement_action(a, n) if placement else sets.scheduling_action(base, a)

        return policy

    return factory
