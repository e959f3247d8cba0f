"""Inference-time search with a learned policy: sample k episodes, keep the cheapest (issue 19, part 3).

The policy is a published generalist (an attention policy over ``observation="sets"``,
:mod:`agents.generalist_entry`). For one scenario and seed, :func:`best_of_k` plays ``k`` episodes of the
scenario in lockstep on ``k`` private sets envs made from the scenario (never the real env, never a solver,
never the optimum):

* episode 0 takes the policy's deterministic action (:func:`a2gym.sb3.stable_argmax`), so the search is
  never worse than the plain policy;
* episodes 1..k-1 sample each action from the policy's masked softmax at ``temperature`` (logits / T), drawn
  with ``numpy.random.default_rng(seed)``: uniforms against the cumulative probabilities in float64;
* each step is one batched forward pass of the policy over the episodes still running.

The cheapest finished episode (``info["cost"]``, dollars per epoch; the lowest index among equal costs) is
returned as its plain actions, which the leaderboard entry (:mod:`agents.search_entry`) replays in the real
env. Its cost is a cost of the env itself, so nothing the search reports is taken on trust: the scorer
replays the actions.

Bits: the sampled actions compare float64 uniforms with cumulative probabilities computed from float32
logits, so a CPU whose kernels move a logit by a few ulps changes a draw only when a uniform falls within
about 1e-6 of a boundary; ``tests/test_stable_actions.py`` replays the committed entry's first episode
with its logits moved that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from a2gym.envs import sets
from a2gym.sb3 import LoadedModel, stable_argmax

MAX_SAMPLES = 4096
"""The largest ``k`` :func:`best_of_k` accepts (each sample is a private env and a row of every batch)."""


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one search: the cheapest episode's plain actions and cost, and what the search did."""

    actions: list[int]
    """The plain env's actions of the cheapest episode."""
    cost: float
    """Its cost [$ per epoch] as the env reported it at the end of the episode."""
    greedy_cost: float
    """The cost [$ per epoch] of the policy's deterministic episode (sample 0)."""
    best_sample: int
    """Which of the k episodes was the cheapest (0 = the deterministic one)."""
    costs: np.ndarray
    """[k] the cost of every episode [$ per epoch]."""


def policy_logits_batch(model: LoadedModel, obs: dict[str, np.ndarray]) -> np.ndarray:
    """The unmasked logits [B, n] of an SB3 policy for a batch of (dict) observations [B, ...]."""
    import torch as th

    policy = model.model.policy
    obs_t, _ = policy.obs_to_tensor(model.normalize(obs))
    with th.no_grad():
        dist = policy.get_distribution(obs_t)
    return dist.distribution.logits.numpy().astype(np.float64)


def _unnormalised(logits: np.ndarray, mask: np.ndarray, temperature: float) -> np.ndarray:
    """exp(logits / T - row max) [B, n], 0 where ``mask`` is False (float64): softmax before its division."""
    z = np.where(mask, logits / temperature, -np.inf)
    return np.exp(z - z.max(axis=1, keepdims=True))


def masked_softmax(logits: np.ndarray, mask: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) per row [B, n], 0 where ``mask`` is False (float64)."""
    p = _unnormalised(logits, mask, temperature)
    return p / p.sum(axis=1, keepdims=True)


def sample_masked(logits: np.ndarray, mask: np.ndarray, temperature: float, u: np.ndarray) -> np.ndarray:
    """One action per row [B] from softmax(logits / T) restricted to ``mask``, chosen by uniforms ``u`` [B]:
    the first index whose cumulative probability exceeds ``u`` (float64 throughout)."""
    cdf = np.cumsum(_unnormalised(logits, mask, temperature), axis=1)
    cdf /= cdf[:, -1:]
    a = (cdf <= u[:, None]).sum(axis=1)
    # the last allowed index bounds the draw (u < 1, but rounding can leave cdf[-2] == 1 after masked tail)
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    return np.minimum(a, last)


def _play(model: LoadedModel, envs: list[gym.Env], seed: int, n_fac: int, temperature: float,
          rng: np.random.Generator, prefixes: list[list[int]], deterministic_first: bool,
          bias: np.ndarray | None = None) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    """Play one episode per env in lockstep: the padded actions of ``prefixes[j]`` first, then the
    policy's, sampled from softmax(logits / T + ``bias``) (env 0's deterministic, without the bias, if
    ``deterministic_first``). Returns (padded actions, costs [$ per epoch], the gradient of each episode's
    log-probability of its sampled actions with respect to ``bias`` [k, n])."""
    k = len(envs)
    obs: list[dict[str, np.ndarray]] = []
    masks: list[np.ndarray] = []
    for env in envs:
        o, info = env.reset(seed=seed)
        obs.append(o)
        masks.append(np.asarray(info["action_mask"], dtype=bool))
    actions: list[list[int]] = [[] for _ in range(k)]
    costs = np.full(k, np.inf)
    grads: np.ndarray | None = None
    running = list(range(k))
    t = 0
    while running:
        batch = {key: np.stack([obs[j][key] for j in running]) for key in obs[0]}
        logits = policy_logits_batch(model, batch)
        mask = np.stack([masks[j] for j in running])
        if grads is None:
            grads = np.zeros((k, logits.shape[1]))
        biased = logits if bias is None else logits + temperature * bias
        chosen = sample_masked(biased, mask, temperature, rng.random(len(running)))
        probs = masked_softmax(biased, mask, temperature) if bias is not None else None
        if deterministic_first and running[0] == 0:
            chosen[0] = stable_argmax(logits[0].astype(np.float32), mask[0])
        still = []
        for row, j in enumerate(running):
            padded = prefixes[j][t] if t < len(prefixes[j]) else int(chosen[row])
            if probs is not None and t >= len(prefixes[j]):  # d log p(a) / d bias = onehot(a) - p
                grads[j] -= probs[row]
                grads[j, padded] += 1.0
            actions[j].append(padded)
            obs[j], _, terminated, truncated, info = envs[j].step(padded)
            masks[j] = np.asarray(info["action_mask"], dtype=bool)
            if terminated or truncated:
                costs[j] = float(info["cost"])
            else:
                still.append(j)
        running = still
        t += 1
    return actions, costs, grads if grads is not None else np.zeros((k, 0))


def best_of_k(model: LoadedModel, env_id: str, scenario: Any, env_kwargs: dict[str, Any], seed: int, k: int,
              temperature: float = 1.0, rounds: int = 1, adapt: float = 0.0) -> SearchResult:
    """Play ``rounds`` x ``k`` episodes of ``env_id`` on ``scenario`` (Placement-v0's sets observation) with
    ``model`` (module doc) and return the cheapest. Round 0 is the deterministic episode and ``k - 1``
    sampled ones; each later round samples ``k`` episodes that first repeat a prefix of the cheapest
    episode so far (its first j actions, j uniform in 1..len - 1), then follow the policy.

    With ``adapt`` > 0 the later rounds instead fine-tune the policy to the instance, EAS-style (Hottung et
    al. 2022, with the smallest adapted layer): a per-action bias added to the logits, moved after each
    round by ``adapt`` x the REINFORCE gradient of the round's episodes (advantage = (mean cost - cost) /
    std cost, over the round), and every later-round episode is sampled from the biased policy."""
    if not 1 <= k * rounds <= MAX_SAMPLES:
        raise ValueError(f"k={k} x rounds={rounds}: the number of sampled episodes must be in "
                         f"1..{MAX_SAMPLES}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature={temperature!r}: must be a positive finite number")
    if not (np.isfinite(adapt) and adapt >= 0):
        raise ValueError(f"adapt={adapt!r}: the bias's learning rate must be a finite number >= 0")
    kwargs = {key: v for key, v in env_kwargs.items() if key != "observation"}
    envs = [gym.make(env_id, scenario=scenario, observation="sets", **kwargs) for _ in range(k)]
    n_fac = envs[0].unwrapped.n_facilities
    rng = np.random.default_rng(seed)
    best: list[int] = []
    best_cost, greedy_cost, best_at = np.inf, np.inf, 0
    all_costs = []
    bias: np.ndarray | None = np.zeros(sets.MAX_FACILITIES + 1) if adapt > 0 else None
    for r in range(rounds):
        if r == 0 or adapt > 0:
            prefixes: list[list[int]] = [[] for _ in range(k)]
        else:
            cut = rng.integers(1, max(len(best), 2), size=k)
            prefixes = [best[:int(c)] for c in cut]
        actions, costs, grads = _play(model, envs, seed, n_fac, temperature, rng, prefixes, r == 0, bias)
        if bias is not None and costs.std() > 0:
            adv = (costs.mean() - costs) / costs.std()
            if r == 0:
                adv[0] = 0.0  # the deterministic episode was not sampled
            bias += adapt * (adv[:, None] * grads).mean(axis=0)
        if r == 0:
            greedy_cost = float(costs[0])
        j = int(np.argmin(costs))
        if costs[j] < best_cost:
            best, best_cost, best_at = actions[j], float(costs[j]), r * k + j
        all_costs.append(costs)
    for env in envs:
        env.close()
    return SearchResult(actions=[sets.placement_action(a, n_fac) for a in best], cost=best_cost,
                        greedy_cost=greedy_cost, best_sample=best_at, costs=np.concatenate(all_costs))
