"""A fleet policy for GeoServe-v1: one small network shared by every facility, over features a policy
can compute from what it is given (the observation, ``info`` and a copy of the scenario).

GeoServe-v1's flat observation lists per-class demand and per-facility instances, but not which class
runs where, so an MLP over it cannot tell which facilities carry the demand it sees, and it reads only the
scenario it was trained on. :class:`FleetFeatures` computes, for each facility i, what an autoscaler
looks at (all counts in units of ``max_instances``):

==  =====================================================================================================
0   instances ready now                          (``info["ready"]``)
1   instances requested, not ready               (``info["pending"]``)
2   A2-Greedy's count for the last slot's observed demand (the reactive re-solve's action: a solver
    feature the policy computes itself from its scenario copy)
3   the load behind it, x_i/ρ [instances, unrounded]
4   the same on the previous slot's demand (so the network sees the trend)
5   load-weighted sin of the local hour, at the middle of the next slot, of the classes routed to i
6   load-weighted cos of it (0, 0 where nothing is routed)
7   1 if the facility can serve some class
==  =====================================================================================================

and six global features: the hour of the next slot (sin, cos), the day's progress, the cost so far
(the observation's last entry), and the log-ratio of the total demand of the last two slots.
The observation for SB3 is ``Box((I·8 + 6,))`` (:class:`FleetObservation`, a wrapper).

:class:`FleetPolicy` (sb3-contrib ``MaskableActorCriticPolicy``): a per-facility MLP of the facility's
features and the globals gives the facility's ``max_instances + 1`` count logits (MultiDiscrete layout,
facility-major, as GeoServe-v1's mask), added to a prior centred on the reactive re-solve's count,
−softplus(β)·|k − n_solve| with β learned: an untrained policy plays about the reactive re-solve, and
what is learned is the correction to it (the margin that foresight of the provisioning delay needs);
the value head reads the mean of the facility embeddings of the deployable facilities and the
globals.  The weights are shared over facilities, so the policy is equivariant to a permutation of the
facilities and plays any scenario with any facility count.

:func:`make` is the leaderboard factory (``agents.fleet:make``): it loads
``results/agents/runs/geoserve-v1-fleet`` (cloned from the forecast reference, then PPO) and refuses a
checkpoint whose SHA-256 is not the one pinned in :data:`CHECKPOINT_SHA256`.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

N_FAC_FEATURES = 8
N_GLOBAL = 6


def _v1_defaults() -> dict[str, Any]:
    from a2gym.envs.geoserve_v1 import GeoServeV1Env

    sig = inspect.signature(GeoServeV1Env.__init__)
    return {k: p.default for k, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


class FleetFeatures:
    """The features of the module docstring for one GeoServe-v1 scenario and its env kwargs.

    Call :meth:`reset` at the start of an episode, then ``features(obs, info)`` once per step (it keeps
    the previous slot's demand and load for features 4 and the trend, so each slot is solved once)."""

    def __init__(self, scenario: Any, env_kwargs: dict[str, Any]):
        from a2gym.envs.geoserve_v1.dynamics import V1Tables

        kw = {**_v1_defaults(), **env_kwargs}
        self.scenario = scenario
        self.slot_hours = float(kw["slot_minutes"]) / 60.0
        self.max_instances = int(kw["max_instances"])
        self.tables = V1Tables.of(scenario, self.slot_hours)
        self.offset = np.asarray(scenario.region_utc_offset_h, dtype=float)[np.asarray(scenario.class_origin)]
        self.n_facilities = self.tables.n_facilities
        self.prev: tuple[np.ndarray, np.ndarray] | None = None  # last call's (rates, load)

    @property
    def dim(self) -> int:
        return self.n_facilities * N_FAC_FEATURES + N_GLOBAL

    def reset(self) -> None:
        self.prev = None

    def _plan(self, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A2-Greedy's (counts [I], load x/ρ [I], facility of each class [R] or -1) for ``rates``."""
        from a2gym.envs.geoserve_v1.reference import greedy_open, open_load, sized_counts

        tb = self.tables
        is_open = greedy_open(self.scenario, self.slot_hours, rates)
        fac, _, x = open_load(tb, is_open, rates)
        return sized_counts(tb, is_open, rates), x / tb.rho, fac

    def features(self, obs: Any, info: dict) -> np.ndarray:
        """Float32 [I·8 + 6] (see the module docstring)."""
        rates = np.asarray(info["observed_rates"], dtype=float)
        m = float(self.max_instances)
        counts, load, fac = self._plan(rates)
        prev, load_prev = (rates, load) if self.prev is None else self.prev  # the slot before, solved once
        self.prev = (rates, load)
        t = int(info["slot"])
        hour = (t + 0.5) * self.slot_hours + self.offset
        ang = 2.0 * np.pi * hour / 24.0
        ok = fac >= 0
        w = np.where(ok, rates, 0.0)
        n = self.n_facilities
        wsum = np.bincount(fac[ok], weights=w[ok], minlength=n)
        s = np.bincount(fac[ok], weights=(w * np.sin(ang))[ok], minlength=n) / np.maximum(wsum, 1e-12)
        c = np.bincount(fac[ok], weights=(w * np.cos(ang))[ok], minlength=n) / np.maximum(wsum, 1e-12)
        per = np.stack([np.asarray(info["ready"]) / m, np.asarray(info["pending"]) / m, counts / m,
                        load / m, load_prev / m, s, c, self.tables.deployable.astype(float)], axis=1)
        o = np.asarray(obs, dtype=float).reshape(-1)
        trend = np.log(max(rates.sum(), 1e-12) / max(prev.sum(), 1e-12))
        glob = np.array([o[0], o[1], o[2], o[-1], np.clip(trend, -2.0, 2.0), 1.0])
        return np.concatenate([np.clip(per, -4.0, 4.0).reshape(-1), glob]).astype(np.float32)


class FleetObservation(gym.Wrapper):
    """GeoServe-v1 with :class:`FleetFeatures` as the observation (``Box((I·8 + 6,))``); actions, rewards,
    ``info`` and ``action_masks()`` are the env's."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        base = env.unwrapped
        self._kwargs = dict(getattr(env.spec, "kwargs", {}) or {})
        self._feat = FleetFeatures(base.scenario, self._kwargs)
        self.observation_space = gym.spaces.Box(-4.0, 4.0, (self._feat.dim,), np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        scenario = self.env.unwrapped.scenario
        if scenario is not self._feat.scenario:  # a pool or resample gave a new scenario
            self._feat = FleetFeatures(scenario, self._kwargs)
        self._feat.reset()
        return self._feat.features(obs, info), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, term, trunc, info = self.env.step(action)
        return self._feat.features(obs, info), reward, term, trunc, info

    def action_masks(self) -> np.ndarray:
        return np.asarray(self.env.unwrapped.action_masks(), dtype=bool)


class FleetNet(nn.Module):
    """``forward(features [B, I·8 + 6]) -> (logits [B, I·K], value latent [B, hidden + 6])``; ``I`` is
    read from the input's width, so one network plays any facility count (``n_facilities`` is the count
    of the env it was built for, which SB3's action distribution needs)."""

    def __init__(self, n_facilities: int, n_counts: int, hidden: int = 64):
        super().__init__()
        self.n_fac, self.k = n_facilities, n_counts
        self.body = nn.Sequential(nn.Linear(N_FAC_FEATURES + N_GLOBAL, hidden), nn.Tanh(),
                                  nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, n_counts)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.prior = nn.Parameter(th.tensor(1.5))  # softplus(1.5) ≈ 1.7 logits per instance off the solve
        self.register_buffer("ks", th.arange(n_counts, dtype=th.float32))
        self.latent_dim = hidden + N_GLOBAL

    def forward(self, x: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        B = x.shape[0]
        n_fac = (x.shape[1] - N_GLOBAL) // N_FAC_FEATURES  # any facility count: the weights are shared
        per = x[:, : n_fac * N_FAC_FEATURES].reshape(B, n_fac, N_FAC_FEATURES)
        glob = x[:, n_fac * N_FAC_FEATURES:]
        h = self.body(th.cat([per, glob[:, None].expand(B, n_fac, N_GLOBAL)], -1))
        solve = per[:, :, 2:3] * (self.k - 1)  # the reactive re-solve's count (feature 2 × max_instances)
        prior = -nn.functional.softplus(self.prior) * (self.ks - solve).abs()
        logits = (self.head(h) + prior).reshape(B, -1)
        w = per[:, :, 7:8]
        pooled = (h * w).sum(1) / w.sum(1).clamp(min=1.0)
        return logits, th.cat([pooled, glob], -1)


class _Extractor(nn.Module):
    def __init__(self, net: FleetNet):
        super().__init__()
        self.net = net
        self.latent_dim_pi, self.latent_dim_vf = net.n_fac * net.k, net.latent_dim

    def forward(self, x: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.net(x)

    def forward_actor(self, x: th.Tensor) -> th.Tensor:
        return self.net(x)[0]

    def forward_critic(self, x: th.Tensor) -> th.Tensor:
        return self.net(x)[1]


class FleetPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy over :class:`FleetObservation` (module docstring); ``policy_kwargs``:
    ``hidden`` (64)."""

    def __init__(self, observation_space: gym.spaces.Space, action_space: gym.spaces.Space, lr_schedule: Any,
                 hidden: int = 64, **kwargs: Any):
        md = isinstance(action_space, gym.spaces.MultiDiscrete)
        if not md or len(set(action_space.nvec.tolist())) != 1:
            raise ValueError(f"FleetPolicy needs GeoServe-v1's MultiDiscrete counts, got {action_space}")
        n_fac = int(action_space.nvec.size)
        dim = n_fac * N_FAC_FEATURES + N_GLOBAL
        if observation_space.shape != (dim,):
            raise ValueError(f"FleetPolicy needs FleetObservation's Box(({dim},)) for {n_fac} facilities, "
                             f"got {observation_space}")
        self.hidden = hidden
        kwargs.setdefault("ortho_init", False)
        kwargs["features_extractor_class"] = FlattenExtractor
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        nvec = self.action_space.nvec
        self.mlp_extractor = _Extractor(FleetNet(int(nvec.size), int(nvec[0]), self.hidden))

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(hidden=self.hidden)
        data.pop("features_extractor_class", None)
        return data

    def logits(self, x: th.Tensor) -> th.Tensor:
        """Unmasked logits [B, I·K] of a batch of feature vectors."""
        return self.mlp_extractor.net(x)[0]


# ---------------------------------------------------------------------------- the leaderboard factories
RUN_DIR = Path(__file__).resolve().parents[1] / "results" / "agents" / "runs" / "geoserve-v1-fleet"
"""The committed run: cloned from the forecast reference with DAgger, then PPO
(``experiments/geoserve_v1_fleet.py``; its ``config.yml`` holds the budgets and the validation curve)."""

CHECKPOINT_SHA256 = "5b044b7f7a85431b62e85afa2567101b6fb2cc6697dcc4d9a3eaad8ce6ccada4"
"""SHA-256 of ``RUN_DIR/best_model.zip``; :func:`make` refuses any other file."""

_MODEL: dict[str, Any] = {}


def load_checkpoint(path: Path, sha256: str) -> Any:
    """The MaskablePPO model at ``path`` (cached), after checking that its SHA-256 is ``sha256``."""
    from a2gym.errors import RecordError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError(f"cannot read the GeoServe-v1 fleet checkpoint {path}: {exc.strerror}") from None
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise RecordError(f"GeoServe-v1 fleet checkpoint {path.name} has SHA-256 {got}, but agents/fleet.py "
                          f"pins {sha256 or '(nothing)'}")
    if got not in _MODEL:
        from sb3_contrib import MaskablePPO

        th.set_num_threads(1)
        _MODEL[got] = MaskablePPO.load(path, device="cpu")
    return _MODEL[got]


def act(model: Any, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The deterministic action of ``model``: per facility, the count with the largest logit among the
    allowed ones, by :func:`a2gym.sb3.stable_argmax` (the same on every CPU)."""
    from a2gym.sb3 import stable_argmax

    with th.no_grad():
        logits = model.policy.logits(th.as_tensor(features[None]))[0].numpy()
    k = int(model.action_space.nvec[0])
    allowed = np.asarray(mask, dtype=bool).reshape(-1, k)
    return stable_argmax(logits.reshape(-1, k), allowed).astype(np.int64)


def make(ctx: Any) -> Any:
    """Leaderboard factory (``agents.fleet:make``): the committed fleet policy for ``ctx``."""
    from a2gym.errors import RecordError

    if ctx.env_id != "a2gym/GeoServeCapacity-v0":
        raise RecordError(f"the fleet policy plays a2gym/GeoServeCapacity-v0, not {ctx.env_id}")
    model = load_checkpoint(RUN_DIR / "best_model.zip", CHECKPOINT_SHA256)
    if model.action_space != ctx.action_space:
        raise RecordError(f"fleet checkpoint's action space {model.action_space} is not the env's "
                          f"{ctx.action_space}")
    feats = FleetFeatures(ctx.scenario, dict(ctx.env_kwargs))

    def policy(obs: Any, info: dict) -> np.ndarray:
        if int(info["slot"]) == 0:
            feats.reset()
        return act(model, feats.features(obs, info), info["action_mask"])

    return policy

