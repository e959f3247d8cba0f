"""An attention policy for the sets observation (``observation="sets"``) of Placement-v0 and Scheduling-v0.

Facility and class tokens (rows of ``facilities`` / ``classes``, embedded by MLPs with the ``globals``
added) pass through ``n_layers`` blocks of cross-attention, classes ← facilities then facilities ←
classes, where each head's logit is q·k/√d plus a learned function of the pair cost C[r, i] and only
feasible pairs attend; each head also returns the attention-weighted pair cost (so a token learns the
costs it can reach, not only the tokens). No positional input: the encoder is permutation-equivariant
over facilities and over classes, and padding rows (``*_valid = 0``) never contribute.

Action heads (pointer style, masked by MaskablePPO with the env's ``action_masks()``):
Placement: a logit per facility token from [token, pooled context] and a STOP logit from the context;
Scheduling: a logit per (facility, data version) from [facility token, current-class token,
``action_cost[i, d]``]. The value head reads the pooled context.

Use with sb3-contrib: ``MaskablePPO(SetsAttentionPolicy, env, policy_kwargs={...})`` or ``policy:
agents.attention:SetsAttentionPolicy`` in the YAML (hyperparameters ``d_model``, ``n_heads``,
``n_layers`` in ``policy_kwargs``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

NEG = -1e9
PAIR_BASIS = 3  # p, p², √p of the pair cost p


def pair_basis(pair: th.Tensor) -> th.Tensor:
    """[..., 3] basis features of the pair cost (a learned linear map of them biases each head)."""
    return th.stack([pair, pair * pair, pair.clamp(min=0.0).sqrt()], -1)


class DictPassThrough(BaseFeaturesExtractor):
    """Hands the (preprocessed) Dict observation on unchanged; the encoder is :class:`SetsEncoder`."""

    def __init__(self, observation_space: gym.spaces.Dict):
        super().__init__(observation_space, features_dim=1)

    def forward(self, observations: dict[str, th.Tensor]) -> dict[str, th.Tensor]:
        return observations


def mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


class PairCrossAttention(nn.Module):
    """Queries attend to keys over the feasible pairs; the logit bias and an extra value channel come
    from the pair cost p [B, Nq, Nk] (in [0, 1); 1 = infeasible)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.bias = nn.Linear(PAIR_BASIS, heads)  # on the pair cost's basis features (cheap per pair)
        self.out = nn.Linear(d + heads, d)
        self.norm = nn.LayerNorm(d)

    def forward(
        self, xq: th.Tensor, xk: th.Tensor, pair: th.Tensor, basis: th.Tensor, ok: th.Tensor
    ) -> th.Tensor:
        B, Nq, _ = xq.shape
        Nk = xk.shape[1]
        q = self.q(self.norm(xq)).view(B, Nq, self.h, self.dh).transpose(1, 2)
        k = self.k(xk).view(B, Nk, self.h, self.dh).transpose(1, 2)
        v = self.v(xk).view(B, Nk, self.h, self.dh).transpose(1, 2)
        logits = q @ k.transpose(-1, -2) / self.dh ** 0.5 + self.bias(basis).permute(0, 3, 1, 2)
        okh = ok.unsqueeze(1)
        logits = logits.masked_fill(~okh, NEG)
        attn = th.softmax(logits, dim=-1) * okh.any(-1, keepdim=True)  # no feasible key: zero message
        msg = (attn @ v).transpose(1, 2).reshape(B, Nq, -1)
        cost = (attn * pair.unsqueeze(1)).sum(-1).transpose(1, 2)    # [B, Nq, heads]
        return self.out(th.cat([msg, cost], dim=-1))


class SetsEncoder(nn.Module):
    """Encoder and heads; ``forward(obs) -> (logits [B, n_actions], context [B, 2d])``."""

    def __init__(self, space: gym.spaces.Dict, d_model: int = 64, n_heads: int = 4, n_layers: int = 2):
        super().__init__()
        d = d_model
        self.scheduling = "action_cost" in space.spaces
        self.max_fac = space["facilities"].shape[0]
        self.max_data = space["action_cost"].shape[1] if self.scheduling else 0
        n_glob = space["globals"].shape[0]
        self.fac_in = mlp(space["facilities"].shape[1] + n_glob, d, d)
        self.cls_in = mlp(space["classes"].shape[1] + n_glob, d, d)
        self.c_from_f = nn.ModuleList(PairCrossAttention(d, n_heads) for _ in range(n_layers))
        self.f_from_c = nn.ModuleList(PairCrossAttention(d, n_heads) for _ in range(n_layers))
        self.ff_c = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), mlp(d, 2 * d, d)) for _ in range(n_layers))
        self.ff_f = nn.ModuleList(nn.Sequential(nn.LayerNorm(d), mlp(d, 2 * d, d)) for _ in range(n_layers))
        self.context_dim = 2 * d + n_glob
        if self.scheduling:
            self.pick = mlp(2 * d, d, d)
            self.score = nn.Sequential(nn.ReLU(), nn.Linear(d, 1))
            self.cost_in = nn.Linear(2, d)
        else:
            self.pick = mlp(d + self.context_dim, d, 1)
            self.stop = mlp(self.context_dim, d, 1)

    def forward(self, obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        fv, cv = obs["facility_valid"] > 0.5, obs["class_valid"] > 0.5
        nf = max(int(fv.sum(1).max()), 1)  # trim the padding every row of the batch shares
        nc = max(int(cv.sum(1).max()), 1)
        fv, cv = fv[:, :nf], cv[:, :nc]
        glob = obs["globals"]
        B = glob.shape[0]
        pair = obs["pair_cost"][:, :nc, :nf]
        ok = (pair < 1.0) & cv[:, :, None] & fv[:, None, :]
        f = self.fac_in(th.cat([obs["facilities"][:, :nf], glob[:, None].expand(B, nf, -1)], -1))
        c = self.cls_in(th.cat([obs["classes"][:, :nc], glob[:, None].expand(B, nc, -1)], -1))
        pair_t, ok_t = pair.transpose(1, 2), ok.transpose(1, 2)
        basis = pair_basis(pair)
        basis_t = basis.transpose(1, 2)
        for layer in range(len(self.c_from_f)):
            c = c + self.c_from_f[layer](c, f, pair, basis, ok)
            f = f + self.f_from_c[layer](f, c, pair_t, basis_t, ok_t)
            c = c + self.ff_c[layer](c)
            f = f + self.ff_f[layer](f)
        fw, cw = fv.float().unsqueeze(-1), cv.float().unsqueeze(-1)
        pooled_f = (f * fw).sum(1) / fw.sum(1).clamp(min=1.0)
        pooled_c = (c * cw).sum(1) / cw.sum(1).clamp(min=1.0)
        context = th.cat([pooled_f, pooled_c, glob], -1)
        if self.scheduling:
            cur = (c * obs["classes"][:, :nc, 1:2]).sum(1)              # the current class's token
            h = self.pick(th.cat([f, cur[:, None].expand(B, nf, -1)], -1))  # [B, nf, d]
            ac = obs["action_cost"][:, :nf]                             # [B, nf, D]
            z = h.unsqueeze(2) + self.cost_in(th.stack([ac, (ac < 1.0).float()], -1))
            logits = th.zeros(B, self.max_fac, self.max_data, device=glob.device)
            logits[:, :nf] = self.score(z).squeeze(-1)
            return logits.reshape(B, -1), context
        logits = th.zeros(B, self.max_fac + 1, device=glob.device)
        logits[:, :nf] = self.pick(th.cat([f, context[:, None].expand(B, nf, -1)], -1)).squeeze(-1)
        logits[:, self.max_fac] = self.stop(context).squeeze(-1)
        return logits, context


class _Extractor(nn.Module):
    """The ``mlp_extractor`` SB3 expects: latent_pi = the logits, latent_vf = the pooled context."""

    def __init__(self, encoder: SetsEncoder, n_actions: int):
        super().__init__()
        self.encoder = encoder
        self.latent_dim_pi, self.latent_dim_vf = n_actions, encoder.context_dim

    def forward(self, obs: dict[str, th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        return self.encoder(obs)

    def forward_actor(self, obs: dict[str, th.Tensor]) -> th.Tensor:
        return self.encoder(obs)[0]

    def forward_critic(self, obs: dict[str, th.Tensor]) -> th.Tensor:
        return self.encoder(obs)[1]


class SetsAttentionPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy over the sets observation (see the module docstring).

    ``policy_kwargs``: ``d_model`` (token width, default 64), ``n_heads`` (4), ``n_layers`` (2).
    """

    def __init__(self, observation_space: gym.spaces.Space, action_space: gym.spaces.Space, lr_schedule: Any,
                 d_model: int = 64, n_heads: int = 4, n_layers: int = 2, **kwargs: Any):
        if not isinstance(observation_space, gym.spaces.Dict) or "pair_cost" not in observation_space.spaces:
            raise ValueError(
                f"SetsAttentionPolicy needs the observation='sets' Dict space, got {observation_space}"
            )
        self.d_model, self.n_heads, self.n_layers = d_model, n_heads, n_layers
        kwargs.setdefault("ortho_init", False)
        kwargs["features_extractor_class"] = DictPassThrough
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        encoder = SetsEncoder(self.observation_space, self.d_model, self.n_heads, self.n_layers)
        self.mlp_extractor = _Extractor(encoder, int(self.action_space.n))

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()  # the encoder's logits are the action logits
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(d_model=self.d_model, n_heads=self.n_heads, n_layers=self.n_layers)
        data.pop("features_extractor_class", None)
        return data

    def logits(self, obs: dict[str, th.Tensor]) -> th.Tensor:
        """Unmasked action logits [B, n_actions] of a batch of (tensor) observations."""
        return self.mlp_extractor.encoder(obs)[0]
