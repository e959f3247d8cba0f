"""Vectorised masked PPO: one process, a native a2gym vector env, large batches (``--algo vec_ppo``).

A CleanRL-style PPO loop over ``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")``
with the action masks read from ``info["action_mask"]``: the rollout is N copies × ``n_steps`` steps of
one batched forward pass each, GAE is numpy over the batch, the update is ``n_epochs`` passes of
``batch_size``-sample minibatches. It exists because SB3's MaskablePPO spends most of its time in
per-sample Python (its rollout buffer, one ``MaskableCategorical`` per call, many small minibatches),
not in the env (``benchmarks/bench_training.py`` measures both side by side).

The network is an SB3 ``MaskableActorCriticPolicy`` whose features extractor is a shared MLP trunk
(:class:`SharedMlp`) and whose heads are one linear layer each (``net_arch=[]``), so a run saves ordinary
sb3-contrib ``MaskablePPO`` zips (``model.zip``, ``best_model.zip``, ``checkpoints/rl_model_<N>_steps.zip``
with the Adam state) that ``python -m agents.evaluate --run DIR`` and ``--resume`` load as they load
MaskablePPO's; the loop calls the policy's modules directly and never SB3's distributions.

Observations and actions: a flat ``Box`` observation gets the shared MLP trunk; the padded Dict of
``observation="sets"`` gets :class:`agents.attention.SetsAttentionPolicy` (per-facility pointer logits,
variable-size sets padded and masked as the env pads them). ``Discrete`` actions get one masked
categorical; ``MultiDiscrete`` (the capacity env's instance count per facility) one independent masked
categorical per sub-action, whose log-probabilities and entropies add up. Envs without a native vector env
(GeoServeCapacity-v0), or with kwargs it refuses (``resample=True``, ``observation="sets"``), run in
``gymnasium.vector.SyncVectorEnv``; ``mixed_sizes`` draws a fresh generated scenario of random training
sizes at every reset (:class:`agents.wrappers.FreshMixedSizes`).

Env steps are counted as SB3 counts them, one per real transition: the native vector envs autoreset on
the step *after* an episode ends (Gymnasium's NEXT_STEP mode), and that step (action ignored, reward 0)
is neither counted nor trained on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from agents.config import AgentConfigError

MASKED_LOGIT = -1e8
"""Logit of a masked action (sb3-contrib's value): exp underflows to exactly 0 probability."""

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


class SharedMlp(BaseFeaturesExtractor):
    """The actor's and critic's shared MLP trunk (flattened Box observation -> ``net_arch[-1]`` features)."""

    def __init__(self, observation_space: gym.Space, net_arch: list[int] | tuple[int, ...] = (128, 128),
                 activation_fn: str = "tanh"):
        net_arch = [int(w) for w in net_arch]
        if not net_arch:
            raise ValueError("SharedMlp needs at least one hidden layer (net_arch)")
        super().__init__(observation_space, features_dim=net_arch[-1])
        act = _ACTIVATIONS[activation_fn]
        layers: list[nn.Module] = [nn.Flatten()]
        width = int(np.prod(observation_space.shape))
        for w in net_arch:
            layers += [nn.Linear(width, w), act()]
            width = w
        self.net = nn.Sequential(*layers)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.net(observations)


def sb3_policy_kwargs(net_arch: list[int] | tuple[int, ...] = (128, 128),
                      activation_fn: str = "tanh") -> dict[str, Any]:
    """``policy_kwargs`` of an SB3 (Maskable)PPO ``MlpPolicy`` with exactly the vec_ppo network: a shared
    trunk and linear policy and value heads (what ``bench_training.py`` gives the SB3 anchor)."""
    if activation_fn not in _ACTIVATIONS:
        raise AgentConfigError(f"policy_kwargs.activation_fn={activation_fn!r}: "
                               f"use one of {', '.join(_ACTIVATIONS)}")
    return {"features_extractor_class": SharedMlp,
            "features_extractor_kwargs": {"net_arch": list(net_arch), "activation_fn": activation_fn},
            "net_arch": []}


class VecPPO:
    """Masked PPO over a vector env. Constructor arguments are the YAML hyperparameters of
    ``hyperparams/vec_ppo.yml`` (the script keys of :mod:`agents.common` aside).

    ``learning_rate`` may be ``lin_<x>`` (linear decay to 0 over the run's ``total_timesteps``);
    ``policy_kwargs``: ``net_arch`` (hidden widths of the shared trunk) and ``activation_fn`` for a flat
    observation, ``d_model``, ``n_heads`` and ``n_layers`` for the sets observation's attention policy (each
    policy reads its own keys, so one YAML section serves both observations).
    ``normalize_return``: divide rewards by a running standard deviation of the discounted return (as SB3's
    ``VecNormalize(norm_reward=True)``; the statistics are kept in the model zip's ``vec_ppo_return_rms``)
    so the critic regresses returns of unit scale.
    ``model``: a loaded MaskablePPO whose policy (and Adam state) to continue (``--resume``).
    """

    def __init__(self, env: gym.vector.VectorEnv, learning_rate: float | str = 1e-3, n_steps: int = 32,
                 batch_size: int = 1024, n_epochs: int = 2, gamma: float = 1.0, gae_lambda: float = 0.95,
                 clip_range: float = 0.2, ent_coef: float = 0.01, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, target_kl: float | None = None, normalize_advantage: bool = True,
                 normalize_return: bool = False, policy_kwargs: dict[str, Any] | None = None, seed: int = 0,
                 model: Any = None, total_timesteps: int = 1):
        from sb3_contrib import MaskablePPO

        space = env.single_action_space
        if isinstance(space, gym.spaces.Discrete):
            self.nvec = np.array([int(space.n)])
            self.multi = False
        elif isinstance(space, gym.spaces.MultiDiscrete) and space.nvec.ndim == 1:
            self.nvec = np.asarray(space.nvec, dtype=np.int64)
            self.multi = True
        else:
            raise AgentConfigError("vec_ppo acts in Discrete and (1-d) MultiDiscrete action spaces; "
                                   f"this env's is {space}")
        obs_space = env.single_observation_space
        self.sets = isinstance(obs_space, gym.spaces.Dict)
        if self.sets and "pair_cost" not in obs_space.spaces:
            raise AgentConfigError("vec_ppo reads a flat Box observation or observation='sets'; "
                                   f"this env's is {obs_space}")
        self.env = env
        self.n_envs = int(env.num_envs)
        self.n_steps, self.batch_size, self.n_epochs = int(n_steps), int(batch_size), int(n_epochs)
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.clip_range, self.ent_coef, self.vf_coef = float(clip_range), float(ent_coef), float(vf_coef)
        self.max_grad_norm = float(max_grad_norm)
        self.target_kl = None if target_kl is None else float(target_kl)
        self.normalize_advantage = bool(normalize_advantage)
        self.normalize_return = bool(normalize_return)
        if isinstance(learning_rate, str):
            if not learning_rate.startswith("lin_"):
                raise AgentConfigError(f"learning_rate={learning_rate!r}: a number or lin_<x>")
            self.lr0, self.lr_linear = float(learning_rate[4:]), True
        else:
            self.lr0, self.lr_linear = float(learning_rate), False
        self.total_timesteps = int(total_timesteps)
        for name, v in (("n_steps", self.n_steps), ("batch_size", self.batch_size),
                        ("n_epochs", self.n_epochs)):
            if v < 1:
                raise AgentConfigError(f"{name}={v} must be a positive integer")
        pk = dict(policy_kwargs or {})
        mlp_kw = {"net_arch": pk.pop("net_arch", [128, 128]),
                  "activation_fn": pk.pop("activation_fn", "tanh")}
        att_kw = {k: int(pk.pop(k)) for k in ("d_model", "n_heads", "n_layers") if k in pk}
        if pk:
            raise AgentConfigError("vec_ppo policy_kwargs take net_arch, activation_fn (flat observation) "
                                   f"and d_model, n_heads, n_layers (observation='sets'), not {sorted(pk)}")
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        if model is None:  # an sb3-contrib model object only to own (and save) the policy and its optimizer
            probe = _SpacesEnv(obs_space, space)
            if self.sets:
                from agents.attention import SetsAttentionPolicy

                policy: Any = SetsAttentionPolicy
                kwargs: dict[str, Any] = att_kw
            else:
                policy, kwargs = "MlpPolicy", sb3_policy_kwargs(mlp_kw["net_arch"], mlp_kw["activation_fn"])
            model = MaskablePPO(policy, probe, learning_rate=self.lr0, n_steps=self.n_steps,
                                batch_size=self.batch_size, n_epochs=self.n_epochs, gamma=self.gamma,
                                gae_lambda=self.gae_lambda, clip_range=self.clip_range,
                                ent_coef=self.ent_coef, vf_coef=self.vf_coef,
                                max_grad_norm=self.max_grad_norm, seed=seed, device="cpu",
                                policy_kwargs=kwargs)
        self.model = model
        self.policy = model.policy
        self.policy.set_training_mode(True)
        for group in self.policy.optimizer.param_groups:
            # torch's fused CPU Adam: 3x faster per step than the per-tensor loop SB3's Adam gets on CPU
            # (~0.4 ms vs ~1.1 ms a minibatch here), the same arithmetic and state
            group["fused"], group["foreach"] = True, False
        self.num_timesteps = int(model.num_timesteps)
        # the return normaliser's running statistics travel in the model zip (an attribute SB3 saves)
        self.ret_rms: dict[str, float] = dict(getattr(model, "vec_ppo_return_rms", None)
                                              or {"mean": 0.0, "var": 1.0, "count": 1e-4})
        self._disc_ret = np.zeros(self.n_envs)
        self.n_sub = int(self.nvec.size)
        self.n_actions = int(self.nvec.sum())
        self.max_n = int(self.nvec.max())
        self._uniform = bool((self.nvec == self.max_n).all())
        if not self._uniform:  # gather index of the padded [n_sub, max_n] layout of the flat logits
            idx = np.zeros((self.n_sub, self.max_n), dtype=np.int64)
            pad = np.ones((self.n_sub, self.max_n), dtype=bool)
            start = 0
            for k, n in enumerate(self.nvec):
                idx[k, :n] = np.arange(start, start + n)
                pad[k, :n] = False
                start += int(n)
            self._md_index, self._md_pad = torch.from_numpy(idx), torch.from_numpy(pad)
        t, n = self.n_steps, self.n_envs
        if self.sets:
            self.obs_dim = 0
            self.buf_obs: Any = {k: torch.zeros(t, n, *sp.shape) for k, sp in obs_space.spaces.items()}
        else:
            self.obs_dim = int(np.prod(obs_space.shape))
            self.buf_obs = torch.zeros(t, n, self.obs_dim)
        self.buf_mask = torch.zeros(t, n, self.n_actions, dtype=torch.bool)
        self.buf_act = torch.zeros(t, n, self.n_sub, dtype=torch.long) if self.multi \
            else torch.zeros(t, n, dtype=torch.long)
        self.buf_logp = torch.zeros(t, n)
        self.buf_val = np.zeros((t, n), dtype=np.float32)
        self.buf_rew = np.zeros((t, n), dtype=np.float32)
        self.buf_term = np.zeros((t, n), dtype=bool)
        self.buf_end = np.zeros((t, n), dtype=bool)
        self.buf_valid = np.zeros((t, n), dtype=bool)
        self._obs: Any = None
        self._mask: np.ndarray | None = None
        self._prev_done = np.zeros(n, dtype=bool)
        self._ep_ret = np.zeros(n)
        self._ep_len = np.zeros(n, dtype=np.int64)
        self.episodes: list[dict[str, np.ndarray]] = []  # finished since the last drain_episodes()

    # --- the network ---------------------------------------------------------------------------------
    def obs_tensor(self, obs: Any) -> Any:
        """A batch of observations as float32 tensors (a dict of them for the sets observation)."""
        if self.sets:
            return {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in obs.items()}
        return torch.as_tensor(np.asarray(obs, dtype=np.float32)).reshape(-1, self.obs_dim)

    def forward(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat logits [B, sum(nvec)] and values [B] of a batch of observations (tensor or dict of them)."""
        h = self.policy.features_extractor(obs)
        latent_pi, latent_vf = self.policy.mlp_extractor(h)
        return self.policy.action_net(latent_pi), self.policy.value_net(latent_vf).squeeze(-1)

    def _split(self, logits: torch.Tensor) -> torch.Tensor:
        """[B, n_sub, max_n] per-sub-action logits of flat masked logits [B, sum(nvec)] (padding masked)."""
        if self._uniform:
            return logits.reshape(logits.shape[0], self.n_sub, self.max_n)
        return logits[:, self._md_index].masked_fill(self._md_pad, MASKED_LOGIT)

    def dist(self, logits: torch.Tensor, action: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(action [B] or [B, n_sub], its log-probability [B], entropy [B]) of masked flat logits; samples
        the action unless ``action`` is given. Sub-actions are independent: log-probabilities and
        entropies add up."""
        z = self._split(logits) if self.multi else logits[:, None, :]
        logp_all = torch.log_softmax(z, -1)
        b = z.shape[0]
        if action is None:
            a = sample_masked(z.reshape(b * z.shape[1], -1), self.gen).reshape(b, z.shape[1])
        else:
            a = action.reshape(b, -1)
        logp = logp_all.gather(2, a[..., None]).squeeze(-1).sum(1)
        entropy = -(torch.softmax(z, -1) * logp_all).sum(-1).sum(1)  # softmax: see sample_masked
        return (a if self.multi else a[:, 0]), logp, entropy

    @torch.inference_mode()
    def act(self, obs: Any, mask: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions [B] (or [B, n_sub]) for a batch of observations and masks [B, sum(nvec)] (greedy unless
        ``deterministic=False``)."""
        logits, _ = self.forward(self.obs_tensor(obs))
        logits = logits.masked_fill(~torch.as_tensor(np.asarray(mask, dtype=bool)).reshape(logits.shape),
                                    MASKED_LOGIT)
        if not deterministic:
            return self.dist(logits)[0].numpy()
        if self.multi:
            return self._split(logits).argmax(-1).numpy()
        return logits.argmax(-1).numpy()

    # --- rollout ---------------------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """Reset every copy (seeds ``seed``, ``seed+1``…)."""
        obs, info = self.env.reset(seed=seed)
        self._obs, self._mask = obs, np.array(info["action_mask"], dtype=bool)
        self._prev_done[:] = False
        self._ep_ret[:] = 0.0
        self._ep_len[:] = 0
        self._disc_ret[:] = 0.0

    def _store_obs(self, t: int) -> Any:
        if self.sets:
            for k, buf in self.buf_obs.items():
                buf[t] = torch.from_numpy(np.asarray(self._obs[k], dtype=np.float32))
            return {k: buf[t] for k, buf in self.buf_obs.items()}
        self.buf_obs[t] = torch.from_numpy(np.asarray(self._obs, dtype=np.float32))
        return self.buf_obs[t]

    @torch.inference_mode()
    def collect(self) -> int:
        """Fill the rollout buffers (n_steps vector steps); return the real transitions collected."""
        assert self._obs is not None and self._mask is not None, "reset() first"
        for t in range(self.n_steps):
            obs_t = self._store_obs(t)
            mask_t = self.buf_mask[t]
            mask_t.copy_(torch.from_numpy(self._mask))
            logits, value = self.forward(obs_t)
            logits = logits.masked_fill_(~mask_t, MASKED_LOGIT)
            action, logp, _ = self.dist(logits)
            self.buf_logp[t] = logp
            self.buf_act[t] = action
            self.buf_val[t] = value.numpy()
            obs, reward, term, trunc, info = self.env.step(action.numpy())
            valid = ~self._prev_done
            ended = term | trunc
            reward = np.asarray(reward, dtype=np.float64) * valid
            self.buf_valid[t] = valid
            self.buf_rew[t] = self._scale_reward(reward, valid, ended)
            self.buf_term[t] = term
            self.buf_end[t] = ended
            self._ep_ret += reward
            self._ep_len += valid
            if ended.any():
                self._record_episodes(np.flatnonzero(ended), info)
            self._prev_done = ended
            self._obs, self._mask = obs, np.array(info["action_mask"], dtype=bool)
        n = int(self.buf_valid.sum())
        self.num_timesteps += n
        return n

    def _scale_reward(self, reward: np.ndarray, valid: np.ndarray, ended: np.ndarray) -> np.ndarray:
        """The reward PPO trains on: as is, or (``normalize_return``) divided by the running standard
        deviation of the discounted return (SB3 VecNormalize's rule, updated with the valid copies)."""
        if not self.normalize_return:
            return reward
        self._disc_ret = self._disc_ret * self.gamma + reward
        if valid.any():
            x = self._disc_ret[valid]
            m, v, c = self.ret_rms["mean"], self.ret_rms["var"], self.ret_rms["count"]
            bm, bv, bc = float(x.mean()), float(x.var()), float(x.size)
            delta, tot = bm - m, c + bc
            m2 = v * c + bv * bc + delta ** 2 * c * bc / tot
            self.ret_rms = {"mean": m + delta * bc / tot, "var": m2 / tot, "count": tot}
        self._disc_ret[ended] = 0.0
        return reward / np.sqrt(self.ret_rms["var"] + 1e-8)

    def _record_episodes(self, idx: np.ndarray, info: dict[str, Any]) -> None:
        """The finished copies' metrics (as :func:`agents.metrics.episode_metrics` reads a single env's info;
        NaN where a failed episode has no value)."""
        failed = np.asarray(info["failed"], dtype=bool)[idx] if "failed" in info else np.zeros(idx.size, bool)
        ok = ~failed
        nan = np.full(idx.size, np.nan)
        cost = np.where(ok, np.asarray(info["cost"], dtype=float)[idx], np.nan)
        ref = np.where(ok, np.asarray(info["reference_cost"], dtype=float)[idx], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(ok, ref / cost, 0.0)
        m = {"return": self._ep_ret[idx].copy(), "length": self._ep_len[idx].astype(float),
             "failed": failed.astype(float), "score": score, "episode_cost": cost, "reference_cost": ref}
        for part in ("compute", "bandwidth", "deployment"):
            m[f"cost_{part}"] = np.where(ok, np.asarray(info[part], dtype=float)[idx], np.nan) \
                if part in info else nan
        m["cost_slo_penalty"] = np.where(ok, np.asarray(info["penalty"], dtype=float)[idx], np.nan) \
            if "penalty" in info else np.where(ok, 0.0, np.nan)
        viol = info.get("violations")
        counts = np.array([len(viol[e]) if viol is not None and viol[e] is not None else 0 for e in idx],
                          dtype=float)
        m["violations"] = np.where(ok, counts, np.nan)
        self.episodes.append(m)
        self._ep_ret[idx] = 0.0
        self._ep_len[idx] = 0

    def drain_episodes(self) -> dict[str, np.ndarray]:
        """Metrics of the episodes finished since the last call: key -> one value per episode (NaN where a
        failed episode has none); keys ``return``, ``length``, ``failed``, ``score``, ``episode_cost``,
        ``reference_cost``, ``cost_<part>``, ``violations``."""
        out, self.episodes = self.episodes, []
        if not out:
            return {}
        return {k: np.concatenate([m[k] for m in out]) for k in out[0]}

    # --- update ----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def bootstrap_value(self) -> np.ndarray:
        return self.forward(self.obs_tensor(self._obs))[1].numpy()

    def advantages(self) -> tuple[np.ndarray, np.ndarray]:
        """GAE(λ) advantages and returns [T, N]; the autoreset steps (not valid) are 0 and cut the chain."""
        t_len = self.n_steps
        next_v = np.empty_like(self.buf_val)
        next_v[:-1] = self.buf_val[1:]
        next_v[-1] = self.bootstrap_value()
        # after a truncation the next stored obs is the final obs (NEXT_STEP), so V(next) bootstraps it
        delta = self.buf_rew + self.gamma * next_v * ~self.buf_term - self.buf_val
        carry = self.gamma * self.gae_lambda * ~self.buf_end
        adv = np.zeros_like(self.buf_val)
        last = np.zeros(self.n_envs, dtype=np.float32)
        for t in range(t_len - 1, -1, -1):
            last = (delta[t] + carry[t] * last) * self.buf_valid[t]
            adv[t] = last
        return adv, adv + self.buf_val

    def learning_rate(self) -> float:
        if not self.lr_linear:
            return self.lr0
        return self.lr0 * max(0.0, 1.0 - self.num_timesteps / max(1, self.total_timesteps))

    def update(self) -> dict[str, float]:
        """``n_epochs`` passes over the valid samples in minibatches of ``batch_size``; returns the train/
        scalars."""
        adv, ret = self.advantages()
        valid = torch.from_numpy(self.buf_valid.reshape(-1))
        idx_valid = torch.nonzero(valid).squeeze(1)
        # indexed per minibatch: one copy of each sample
        if self.sets:
            obs: Any = {k: v.reshape(-1, *v.shape[2:]) for k, v in self.buf_obs.items()}
        else:
            obs = self.buf_obs.reshape(-1, self.obs_dim)
        mask = self.buf_mask.reshape(-1, self.n_actions)
        act = self.buf_act.reshape(-1, self.n_sub)[idx_valid] if self.multi \
            else self.buf_act.reshape(-1)[idx_valid]
        old_logp = self.buf_logp.reshape(-1)[idx_valid]
        adv_t = torch.from_numpy(adv.reshape(-1))[idx_valid]
        ret_t = torch.from_numpy(ret.reshape(-1))[idx_valid]
        old_v = torch.from_numpy(self.buf_val.reshape(-1))[idx_valid]
        n = int(idx_valid.numel())
        lr = self.learning_rate()
        opt = self.policy.optimizer
        for g in opt.param_groups:
            g["lr"] = lr
        params = [p for g in opt.param_groups for p in g["params"]]
        stats: dict[str, list[float]] = {k: [] for k in ("pg", "vf", "ent", "kl", "clip")}
        stop = False
        for _ in range(self.n_epochs):
            perm = torch.randperm(n, generator=self.gen)
            for start in range(0, n, self.batch_size):
                mb = perm[start:start + self.batch_size]
                rows = idx_valid[mb]
                obs_mb = {k: v[rows] for k, v in obs.items()} if self.sets else obs[rows]
                logits, value = self.forward(obs_mb)
                logits = logits.masked_fill(~mask[rows], MASKED_LOGIT)
                _, logp, entropy = self.dist(logits, act[mb])
                a = adv_t[mb]
                if self.normalize_advantage and a.numel() > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                log_ratio = logp - old_logp[mb]
                ratio = log_ratio.exp()
                pg = -torch.min(a * ratio, a * ratio.clamp(1 - self.clip_range, 1 + self.clip_range)).mean()
                vf = (ret_t[mb] - value).pow(2).mean()
                ent = entropy.mean()
                loss = pg + self.vf_coef * vf - self.ent_coef * ent
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, self.max_grad_norm)
                opt.step()
                with torch.no_grad():
                    kl = float(((ratio - 1) - log_ratio).mean())
                    stats["pg"].append(float(pg))
                    stats["vf"].append(float(vf))
                    stats["ent"].append(float(ent))
                    stats["kl"].append(kl)
                    stats["clip"].append(float(((ratio - 1).abs() > self.clip_range).float().mean()))
                if self.target_kl is not None and kl > 1.5 * self.target_kl:
                    stop = True
                    break
            if stop:
                break
        var_y = float(ret_t.var()) if n > 1 else 0.0
        explained = float("nan") if var_y == 0 else 1.0 - float((ret_t - old_v).var()) / var_y
        return {"train/policy_gradient_loss": float(np.mean(stats["pg"])),
                "train/value_loss": float(np.mean(stats["vf"])),
                "train/entropy_loss": -float(np.mean(stats["ent"])),
                "train/approx_kl": float(np.mean(stats["kl"])),
                "train/clip_fraction": float(np.mean(stats["clip"])),
                "train/explained_variance": explained, "train/learning_rate": lr,
                "train/n_updates": float(len(stats["pg"])), "train/samples": float(n)}

    def save(self, path: Path | str) -> None:
        """An sb3-contrib MaskablePPO zip holding the policy, its optimizer and ``num_timesteps``."""
        self.model.num_timesteps = self.num_timesteps
        self.model.vec_ppo_return_rms = dict(self.ret_rms)
        self.model.save(str(path))


def sample_masked(logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One action per row of masked logits [B, A] by inverse CDF (one uniform per row, not one per action).
    A masked action has probability exactly 0, so the cumulative sum does not rise at it and it is never the
    first index whose cumulative sum reaches u; u is drawn in (0, total] so the index exists.

    Probabilities come from ``softmax``, never from ``log_softmax(...).exp()``: on this CPU torch's ``exp``
    of arguments that underflow (every masked action's) is 10-50x slower than of ordinary ones."""
    cdf = torch.softmax(logits, -1).cumsum_(-1)
    u = (1.0 - torch.rand(cdf.shape[0], 1, generator=gen)) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(1).clamp_(max=cdf.shape[1] - 1)


class _SpacesEnv(gym.Env):
    """A stand-in env with the vector env's single spaces (to build the SB3 model that holds the policy)."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self.observation_space.sample(), {}

    def step(self, action: Any):
        return self.observation_space.sample(), 0.0, True, False, {}

    def action_masks(self) -> np.ndarray:
        space = self.action_space
        n = int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.sum(space.nvec))
        return np.ones(n, dtype=bool)


def make_vector_env(env_id: str, env_kwargs: dict[str, Any], n_envs: int, mixed_sizes: Any = None,
                    split: str = "train", pool: int = 0) -> gym.vector.VectorEnv:
    """The env's native vector env (``vector_entry_point``) where it exists and takes ``env_kwargs``;
    otherwise ``gymnasium.vector.SyncVectorEnv`` of ``n_envs`` single envs (NEXT_STEP autoreset, as the
    native ones). ``mixed_sizes`` (true, or a dict of inclusive size ranges) wraps each copy in
    :class:`agents.wrappers.FreshMixedSizes` (scenarios of ``split``'s seed range; ``pool`` > 0: drawn from
    that many, each loaded once). A bad id or kwarg
    raises :class:`AgentConfigError`."""
    import a2gym  # noqa: F401

    spec = gym.spec(env_id)
    native = (spec.vector_entry_point is not None and not mixed_sizes and not env_kwargs.get("resample")
              and env_kwargs.get("observation", "plain") == "plain")
    try:
        if native:
            return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                                **env_kwargs)
        if mixed_sizes and env_kwargs.get("observation") != "sets":
            raise AgentConfigError("mixed_sizes needs --env-kwargs observation=sets (the flat observation's "
                                   "spaces depend on the scenario's sizes)")

        def one() -> gym.Env:
            env = gym.make(env_id, disable_env_checker=True, **env_kwargs)
            if mixed_sizes:
                from agents.wrappers import FreshMixedSizes

                env = FreshMixedSizes(env, split, mixed_sizes if isinstance(mixed_sizes, dict) else None,
                                      pool=pool)
            return env

        return gym.vector.SyncVectorEnv([one for _ in range(n_envs)])
    except (TypeError, ValueError) as exc:
        if isinstance(exc, AgentConfigError):
            raise
        raise AgentConfigError(f"cannot make the vector env of {env_id} with {env_kwargs}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------
# The training script's side: run directory, TensorBoard, checkpoints, evaluation, progress (agents.train)
# ---------------------------------------------------------------------------------------------------------

_NOT_FOR_VEC_PPO = {"normalize": False, "scenario_pool": 0, "pretrain_episodes": 0, "vec_env": "dummy"}
"""Script keys vec_ppo refuses (with the value that means off); ``normalize_return`` is its reward
normaliser and ``mixed_sizes`` its fresh generated scenario per reset."""


def check_script_keys(hp: dict[str, Any]) -> None:
    """Refuse script keys vec_ppo does not implement (rather than ignoring them)."""
    for key, off in _NOT_FOR_VEC_PPO.items():
        if key == "scenario_pool" and hp.get("mixed_sizes"):
            continue  # the pool of FreshMixedSizes
        if hp.get(key, off) not in (off, None, False, 0):
            raise AgentConfigError(f"{key}={hp[key]!r} is not supported by vec_ppo (leave it at {off!r})")


def algo_kwargs(hp: dict[str, Any]) -> dict[str, Any]:
    """VecPPO's constructor kwargs from a resolved hyperparameter dict."""
    from agents.config import SCRIPT_KEYS

    return {k: v for k, v in hp.items() if k not in SCRIPT_KEYS}


class Evaluator:
    """Deterministic episodes of the current policy on a held-out single env; best model and history kept
    as SB3's EvalCallback keeps them (``best_model.zip``, ``eval/evaluations.npz``, restored on resume)."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int, run_dir: Path,
                 mixed_sizes: Any = None):
        self.env = gym.make(env_id, **env_kwargs)
        if mixed_sizes:
            from agents.wrappers import FreshMixedSizes

            self.env = FreshMixedSizes(self.env, "val",
                                       mixed_sizes if isinstance(mixed_sizes, dict) else None)
        self.episodes, self.seed, self.run_dir = int(episodes), int(seed), run_dir
        self.timesteps: list[int] = []
        self.results: list[list[float]] = []
        self.lengths: list[list[int]] = []
        self.best = -math.inf
        npz = run_dir / "eval" / "evaluations.npz"
        if npz.exists():
            data = np.load(npz)
            self.timesteps = [int(t) for t in data["timesteps"]]
            self.results = [list(r) for r in data["results"]]
            self.lengths = [list(r) for r in data["ep_lengths"]]
            if len(self.results):
                self.best = float(np.max(np.mean(data["results"], axis=1)))

    def __call__(self, algo: VecPPO) -> dict[str, float]:
        rets, lens, scores = [], [], []
        for i in range(self.episodes):
            obs, info = self.env.reset(seed=self.seed + i)
            total, steps, done = 0.0, 0, False
            while not done:
                batch = {k: v[None] for k, v in obs.items()} if algo.sets else obs[None]
                a = algo.act(batch, info["action_mask"][None])[0]
                obs, r, term, trunc, info = self.env.step(a)
                total += float(r)
                steps += 1
                done = term or trunc
            rets.append(total)
            lens.append(steps)
            cost, ref = info.get("cost"), info.get("reference_cost")
            scores.append(0.0 if info.get("failed") else (float(ref) / float(cost) if cost else math.inf))
        self.timesteps.append(algo.num_timesteps)
        self.results.append(rets)
        self.lengths.append(lens)
        (self.run_dir / "eval").mkdir(exist_ok=True)
        np.savez(self.run_dir / "eval" / "evaluations.npz", timesteps=np.array(self.timesteps),
                 results=np.array(self.results), ep_lengths=np.array(self.lengths))
        mean = float(np.mean(rets))
        if mean > self.best:
            self.best = mean
            algo.save(self.run_dir / "best_model.zip")
        return {"eval/mean_reward": mean, "eval/mean_ep_length": float(np.mean(lens)),
                "eval/score": float(np.mean(scores)), "eval/best_mean_reward": self.best}

    def close(self) -> None:
        self.env.close()


def train_run(cfg: dict[str, Any], run_dir: Path, resume_from: Path | None, start_steps: int,
              progress_bar: bool, verbose: int, on_model: Callable[[VecPPO], None] | None = None) -> VecPPO:
    """Train vec_ppo for the run ``cfg`` (a fresh run, or ``--resume`` from ``resume_from``) in ``run_dir``.

    Writes what the SB3 runs write (``model.zip``, ``best_model.zip``, ``checkpoints/rl_model_<N>_steps.zip``,
    ``eval/evaluations.npz``, ``tb/``); Ctrl-C or SIGTERM (raised as KeyboardInterrupt by agents.train)
    saves ``model.zip``. ``on_model`` is called once the model exists (agents.train keeps a handle).
    """
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.logger import configure

    hp, seed, env_id = cfg["hyperparams"], int(cfg["seed"]), cfg["env"]
    check_script_keys(hp)
    total = int(cfg["total_timesteps"])
    venv = make_vector_env(env_id, cfg["env_kwargs"], int(hp["n_envs"]), hp.get("mixed_sizes"),
                           pool=int(hp.get("scenario_pool") or 0))
    model = MaskablePPO.load(str(resume_from), device="cpu") if resume_from is not None else None
    algo = VecPPO(venv, **algo_kwargs(hp), seed=seed + start_steps, model=model, total_timesteps=total)
    if on_model is not None:
        on_model(algo)
    logger = configure(str(run_dir / "tb"), ["stdout", "tensorboard"] if verbose else ["tensorboard"])
    eval_freq, ckpt_freq = int(hp["eval_freq"]), int(hp["checkpoint_freq"])
    evaluator = None
    if eval_freq > 0:
        evaluator = Evaluator(env_id, {**cfg["env_kwargs"], **(hp["eval_env_kwargs"] or {})},
                              max(1, int(hp["n_eval_episodes"])), seed + int(hp["eval_seed_offset"]), run_dir,
                              hp.get("mixed_sizes"))
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    next_eval = (start_steps // eval_freq + 1) * eval_freq if eval_freq > 0 else math.inf
    next_ckpt = (start_steps // ckpt_freq + 1) * ckpt_freq if ckpt_freq > 0 else math.inf
    # a resumed segment reseeds its envs past the steps already taken, as the SB3 runs do
    algo.reset(seed + start_steps)
    bar = None
    if progress_bar:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=start_steps, unit="step", dynamic_ncols=True)
    t0, steps0, episodes = time.perf_counter(), algo.num_timesteps, 0
    report_every, next_report = max(1, total // 10), start_steps + max(1, total // 10)
    try:
        while algo.num_timesteps < total:
            n = algo.collect()
            stats = algo.update()
            eps = algo.drain_episodes()
            episodes += len(eps.get("score", ()))
            for key, values in eps.items():
                values = values[np.isfinite(values)]
                if values.size:
                    tag = _EPISODE_TAGS.get(key, f"a2gym/{key}")
                    logger.record(tag, float(values.mean()))
            sps = (algo.num_timesteps - steps0) / max(time.perf_counter() - t0, 1e-9)
            logger.record("a2gym/steps_per_second", sps)
            logger.record("a2gym/episodes", episodes)
            logger.record("time/fps", int(sps))
            logger.record("time/total_timesteps", algo.num_timesteps)
            for key, value in stats.items():
                logger.record(key, value)
            if algo.num_timesteps >= next_eval and evaluator is not None:
                for key, value in evaluator(algo).items():
                    logger.record(key, value)
                next_eval = (algo.num_timesteps // eval_freq + 1) * eval_freq
            if algo.num_timesteps >= next_ckpt:
                algo.save(run_dir / "checkpoints" / f"rl_model_{algo.num_timesteps}_steps.zip")
                next_ckpt = (algo.num_timesteps // ckpt_freq + 1) * ckpt_freq
            logger.dump(algo.num_timesteps)
            if bar is not None:
                bar.update(n)
                bar.set_postfix(sps=f"{sps:,.0f}", score=f"{_mean(eps, 'score'):.3f}")
            elif algo.num_timesteps >= next_report:
                print(f"  {algo.num_timesteps:>10,} / {total:,} steps  {sps:>9,.0f} steps/s  "
                      f"train score {_mean(eps, 'score'):.4f}", flush=True)
                next_report = algo.num_timesteps + report_every
    finally:
        if bar is not None:
            bar.close()
        algo.save(run_dir / "model.zip")
        if evaluator is not None:
            if not (run_dir / "best_model.zip").exists():
                evaluator(algo)
            evaluator.close()
        logger.close()
        venv.close()
    return algo


_EPISODE_TAGS = {"return": "rollout/ep_rew_mean", "length": "rollout/ep_len_mean"}


def _mean(eps: dict[str, np.ndarray], key: str) -> float:
    vals = eps.get(key, np.zeros(0))
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else float("nan")
