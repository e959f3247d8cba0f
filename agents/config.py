"""What every agents script shares and the trainers need without the rest of :mod:`agents.common`: the
script-level keys of a hyperparameter section and the error a bad configuration raises (so that
:mod:`agents.vec_ppo` and :mod:`agents.common` do not import each other)."""

from __future__ import annotations

from typing import Any

#: Script-level keys of a hyperparameter section with their defaults (see agents.common's docstring).
SCRIPT_KEYS: dict[str, Any] = {
    "policy": None,
    "n_envs": 1,
    "vec_env": "dummy",
    "normalize": False,
    "n_timesteps": 20_000,
    "checkpoint_freq": 10_000,
    "eval_freq": 5_000,
    "n_eval_episodes": 5,
    "eval_env_kwargs": {},
    "eval_seed_offset": 10_000,
    "invalid_action_penalty": 0.1,
    "invalid_failure_penalty": 10.0,
    "max_invalid_actions": 16,
    "scenario_pool": 0,
    "pretrain_episodes": 0,
    "pretrain_epochs": 20,
    "pretrain_lr": 1e-3,
    "pretrain_mode": None,
    "mixed_sizes": None,
}


class AgentConfigError(ValueError):
    """A bad command line, hyperparameter or env id; raised before any training starts."""
