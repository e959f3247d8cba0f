"""Shared wiring of the agent scripts: algorithms, YAML hyperparameters, env factories and masks.

Hyperparameters live in ``agents/hyperparams/<algo>.yml``, one section per env id (RL Zoo style),
with a ``default`` section used for ids that have no section of their own. Besides the keyword
arguments of the SB3 algorithm (``learning_rate``, ``n_steps``, ``policy_kwargs`` …) a section may hold
these script-level keys:

======================  =======================================================================
key                     meaning
======================  =======================================================================
policy                  SB3 policy name; default ``MlpPolicy`` (``MultiInputPolicy`` for Dict observations)
n_envs                  number of training envs (default 1)
vec_env                 ``dummy`` (default) or ``subproc``
normalize               ``false`` / ``true`` / a dict of VecNormalize kwargs (``norm_obs``, ``norm_reward``…)
n_timesteps             training steps used when ``--total-timesteps`` is not given
checkpoint_freq         save a checkpoint every this many env steps (default 10000)
eval_freq               evaluate on the held-out env every this many env steps (default 5000; 0 = never)
n_eval_episodes         episodes per evaluation (default 5)
eval_env_kwargs         kwargs that override ``--env-kwargs`` for the held-out evaluation env
eval_seed_offset        the evaluation env is seeded with ``seed + eval_seed_offset`` (default 10000)
invalid_action_penalty  algorithms without masks, Discrete actions: a masked action is a no-op with
                        this negative reward (default 0.1; the env's ``invalid_penalty``, see
                        :mod:`a2gym.envs.invalid`) …
invalid_failure_penalty …and the ``max_invalid_actions``-th (default 16) masked action in a row ends
max_invalid_actions     the episode as a failure with this negative reward (default 10)
scenario_pool           N > 0: training envs draw from N generated scenarios (seeds s … s+N-1 of the
                        ``generator://…/s`` URI in ``--env-kwargs``) instead of a fresh one per
                        episode (see :class:`~agents.wrappers.ScenarioPool`); the evaluation env does not
pretrain_episodes       N > 0: warm-start the actor by behaviour cloning N episodes of the reference
pretrain_epochs         policy (mode ``pretrain_mode``, e.g. GeoServe ``myopic``) for ``pretrain_epochs``
pretrain_lr             epochs at learning rate ``pretrain_lr`` before RL (fresh runs only; see
pretrain_mode           :mod:`agents.pretrain`); default 0 = off
mixed_sizes             vec_ppo with ``observation=sets``: ``true`` (or a dict of inclusive size ranges)
                        draws a fresh generated scenario of random training sizes at every reset
                        (:class:`~agents.wrappers.FreshMixedSizes`), the evaluation env from the
                        validation seed range; default null = off (other algorithms refuse it)
======================  =======================================================================

Values may use ``lin_<x>`` for a schedule decaying linearly from x to 0 (e.g. ``learning_rate: lin_3e-4``)
and ``policy_kwargs.activation_fn`` may be ``tanh``, ``relu``, ``elu`` or ``leaky_relu``.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from agents.config import SCRIPT_KEYS, AgentConfigError

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"

#: Constructor arguments the scripts set themselves; not allowed in YAML or ``--hyperparams``.
_RESERVED = {"self", "policy", "env", "tensorboard_log", "verbose", "seed", "device", "_init_setup_model"}

_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU"}


def algorithms() -> dict[str, type]:
    """Algorithm name on the command line -> SB3 class (the library's table, :mod:`a2gym.sb3`), and
    ``vec_ppo`` -> :class:`agents.vec_ppo.VecPPO` (whose saved models are MaskablePPO zips)."""
    from a2gym.sb3 import algorithm_class

    table = {name: algorithm_class(name) for name in ALGO_NAMES if name != "vec_ppo"}
    from agents.vec_ppo import VecPPO

    table["vec_ppo"] = VecPPO
    return table


ALGO_NAMES = ("ppo", "a2c", "dqn", "maskable_ppo", "vec_ppo")


def saved_algo(algo: str) -> str:
    """The SB3 algorithm whose zips a run of ``algo`` saves (vec_ppo saves MaskablePPO zips)."""
    return "maskable_ppo" if algo == "vec_ppo" else algo


def uses_masks(algo: str) -> bool:
    """Whether the algorithm acts with the env's action masks."""
    return algo in ("maskable_ppo", "vec_ppo")


def parse_key_values(items: Iterable[str] | None, what: str = "argument") -> dict[str, Any]:
    """Parse ``k=v`` strings; values are read as YAML (``3e-4`` → float, ``[64,64]`` → list, ``true`` → bool).

    A dotted key sets a nested dict entry: ``policy_kwargs.net_arch=[64,64]``.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise AgentConfigError(f"{what} {item!r} must look like key=value")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str):  # YAML 1.1 reads 3e-4 as a string
            with contextlib.suppress(ValueError):
                value = float(value)
        target = out
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
            if not isinstance(target, dict):
                raise AgentConfigError(f"{what} {item!r}: {p!r} is not a mapping")
        target[leaf] = value
    return out


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def check_env_id(env_id: str) -> gym.envs.registration.EnvSpec:
    """Return the env's registered spec, or raise :class:`AgentConfigError` listing the a2gym ids."""
    import a2gym  # noqa: F401  (registers the a2gym namespace)

    try:
        return gym.spec(env_id)
    except gym.error.Error as exc:
        known = sorted(k for k in gym.registry if k.startswith("a2gym/"))
        hint = difflib.get_close_matches(env_id, known, n=1)
        raise AgentConfigError(
            f"unknown env id {env_id!r} ({exc}); registered a2gym envs: {', '.join(known) or 'none'}"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
        ) from None


def _hyperparams_section(env_id: str) -> str:
    """The YAML section of ``env_id``: its spec's ``hyperparams`` (the env id unless the spec names another),
    or ``env_id`` itself for an id that is not an a2gym env."""
    from a2gym.envs.registration import spec_of

    try:
        return spec_of(env_id).hyperparams
    except ValueError:
        return env_id


def load_hyperparams(algo: str, env_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The env's section of ``hyperparams/<algo>.yml`` (its spec's ``hyperparams``: the env id by default;
    else ``default``) merged with ``overrides``, validated.

    Returns a flat dict holding both the script keys (with defaults filled in) and the algorithm kwargs.
    Raises :class:`AgentConfigError` for an unknown algorithm or hyperparameter name.
    """
    if algo not in ALGO_NAMES:
        raise AgentConfigError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGO_NAMES)}")
    path = HYPERPARAMS_DIR / f"{algo}.yml"
    table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = _hyperparams_section(env_id)
    if name in table:
        section = table[name] or {}
    elif "default" in table:
        section = table["default"] or {}
    else:
        raise AgentConfigError(f"{path} has no section for {env_id!r} and no 'default' section")
    hp = _merge({**SCRIPT_KEYS, **section}, overrides or {})
    validate_hyperparams(algo, hp)
    return hp


def validate_hyperparams(algo: str, hp: dict[str, Any]) -> None:
    """Raise :class:`AgentConfigError` if a key is neither a script key nor an argument of the algorithm."""
    cls = algorithms()[algo]
    allowed = set(inspect.signature(cls.__init__).parameters) - _RESERVED
    for key in hp:
        if key in SCRIPT_KEYS or key in allowed:
            continue
        hint = difflib.get_close_matches(key, sorted(allowed | set(SCRIPT_KEYS)), n=1)
        raise AgentConfigError(
            f"unknown hyperparameter {key!r} for {algo} ({cls.__name__})"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
            + f"; allowed: {', '.join(sorted(allowed | set(SCRIPT_KEYS)))}"
        )
    if hp["vec_env"] not in ("dummy", "subproc"):
        raise AgentConfigError(f"vec_env={hp['vec_env']!r} must be 'dummy' or 'subproc'")
    if not isinstance(hp["n_envs"], int) or hp["n_envs"] < 1:
        raise AgentConfigError(f"n_envs={hp['n_envs']!r} must be a positive integer")


def algo_kwargs(hp: dict[str, Any]) -> dict[str, Any]:
    """The algorithm's constructor kwargs from a hyperparameter dict: schedules and activations resolved."""
    from stable_baselines3.common.utils import LinearSchedule

    out: dict[str, Any] = {}
    for key, value in hp.items():
        if key in SCRIPT_KEYS:
            continue
        if isinstance(value, str) and value.startswith("lin_"):
            start = float(value[4:])
            value = LinearSchedule(start, 0.0, 1.0)
        if key == "policy_kwargs" and isinstance(value, dict):
            value = dict(value)
            act = value.get("activation_fn")
            if isinstance(act, str):
                import torch.nn as nn

                if act not in _ACTIVATIONS:
                    raise AgentConfigError(
                        f"policy_kwargs.activation_fn={act!r}: use one of {', '.join(_ACTIVATIONS)}"
                    )
                value["activation_fn"] = getattr(nn, _ACTIVATIONS[act])
        out[key] = value
    return out


def check_action_space(algo: str, space: gym.Space, env_id: str) -> None:
    """Raise :class:`AgentConfigError` if the algorithm cannot act in ``space`` (e.g. DQN on MultiBinary)."""
    supported: dict[str, tuple[type, ...]] = {
        "dqn": (gym.spaces.Discrete,),
        "maskable_ppo": (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
        "vec_ppo": (gym.spaces.Discrete, gym.spaces.MultiDiscrete),
        "ppo": (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary, gym.spaces.Box),
        "a2c": (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary, gym.spaces.Box),
    }
    if not isinstance(space, supported[algo]):
        names = ", ".join(t.__name__ for t in supported[algo])
        raise AgentConfigError(
            f"{algo} cannot act in {env_id}: its action space is {space} but {algo} needs {names}"
            + (" (DQN needs a Discrete action space; use ppo, a2c or maskable_ppo)" if algo == "dqn" else "")
        )


def action_mask(env: gym.Env) -> np.ndarray:
    """The env's action mask in the layout sb3-contrib expects.

    For ``Discrete(n)`` that is the env's own ``action_masks()`` (n booleans). For ``MultiBinary(n)``
    sb3-contrib wants 2·n booleans (may-be-0, may-be-1 per component); an env mask of n booleans
    means "component i may be 1", and 0 is always allowed.
    """
    mask = np.asarray(env.unwrapped.action_masks(), dtype=bool)
    space = env.action_space
    if isinstance(space, gym.spaces.MultiBinary):
        n = int(np.prod(space.shape))
        if mask.size == n:
            return np.stack([np.ones(n, dtype=bool), mask.reshape(n)], axis=1).reshape(-1)
    return mask.reshape(-1)


def invalid_action_settings(hp: dict[str, Any]) -> dict[str, Any]:
    """The env's masked-action make-kwargs (:mod:`a2gym.envs.invalid`) from a hyperparameter dict."""
    return {"invalid_penalty": float(hp.get("invalid_action_penalty", SCRIPT_KEYS["invalid_action_penalty"])),
            "invalid_failure_penalty": float(hp.get("invalid_failure_penalty",
                                                    SCRIPT_KEYS["invalid_failure_penalty"])),
            "max_invalid_actions": int(hp.get("max_invalid_actions", SCRIPT_KEYS["max_invalid_actions"]))}


def invalid_env_kwargs(invalid: dict[str, Any] | None) -> dict[str, Any]:
    """The masked-action settings that differ from the library's defaults: only those go to ``make`` (and
    into records), so a default run's records keep ``env_kwargs`` as the suite's and GeoServe, whose day has
    no failure run, accepts them."""
    from a2gym.envs.invalid import DEFAULT_FAILURE_PENALTY, DEFAULT_INVALID_PENALTY, DEFAULT_MAX_INVALID

    defaults = {"invalid_penalty": DEFAULT_INVALID_PENALTY,
                "invalid_failure_penalty": DEFAULT_FAILURE_PENALTY,
                "max_invalid_actions": DEFAULT_MAX_INVALID}
    return {k: v for k, v in (invalid or {}).items() if v != defaults[k]}


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None, masks: bool = False,
             invalid: dict[str, Any] | None = None, pool: int = 0) -> gym.Env:
    """``gymnasium.make`` plus, with ``masks``, sb3-contrib's ActionMasker over :func:`action_mask`.

    Masked actions of agents without masks are the env's own business (``invalid_action="noop"``, the
    default: a penalised no-op, a run of them ends the episode as a failure); ``invalid`` holds the
    settings of :func:`invalid_action_settings`."""
    import a2gym  # noqa: F401

    env = gym.make(env_id, **{**(env_kwargs or {}), **invalid_env_kwargs(invalid)})
    if pool:
        from agents.wrappers import ScenarioPool, pool_uris

        env = ScenarioPool(env, pool_uris(str((env_kwargs or {}).get("scenario", "")), pool))
    if masks:
        from sb3_contrib.common.wrappers import ActionMasker

        env = ActionMasker(env, action_mask)
    return env


def make_vec(env_id: str, env_kwargs: dict[str, Any], n_envs: int, seed: int, masks: bool,
             vec_env: str = "dummy", invalid: dict[str, Any] | None = None, pool: int = 0) -> Any:
    """A Monitor-wrapped SB3 VecEnv of ``n_envs`` copies seeded ``seed, seed+1, …`` (see :func:`make_env`)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    def factory(**kw: Any) -> gym.Env:
        return make_env(env_id, kw, masks=masks, invalid=invalid, pool=pool)

    return make_vec_env(factory, n_envs=n_envs, seed=seed, env_kwargs=dict(env_kwargs),
                        vec_env_cls=SubprocVecEnv if vec_env == "subproc" else DummyVecEnv)


def default_policy(observation_space: gym.Space) -> str:
    """``MultiInputPolicy`` for Dict observations, ``MlpPolicy`` otherwise."""
    return "MultiInputPolicy" if isinstance(observation_space, gym.spaces.Dict) else "MlpPolicy"


def env_slug(env_id: str) -> str:
    """A file-system friendly name of an env id: ``a2gym/Placement-v0`` → ``a2gym-Placement-v0``."""
    return env_id.replace("/", "-")


def versions() -> dict[str, str]:
    """Versions of the packages a run depends on (written into config.yml)."""
    import sb3_contrib
    import stable_baselines3
    import torch

    import a2gym

    return {"a2gym": a2gym.__version__, "stable_baselines3": stable_baselines3.__version__,
            "sb3_contrib": sb3_contrib.__version__, "torch": torch.__version__, "gymnasium": gym.__version__,
            "numpy": np.__version__}


def to_plain(obj: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to plain Python for YAML/JSON."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, str) and type(obj) is not str:  # e.g. torch.__version__ (a str subclass)
        return str(obj)
    return obj


PolicyFn = Callable[[Any, dict[str, Any]], Any]
