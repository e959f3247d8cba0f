"""Load a Stable-Baselines3 / sb3-contrib model for acting: one loader, one behaviour everywhere.

Used by ``a2gym eval --policy sb3:…`` (the leaderboard), ``python -m agents.evaluate`` and the agent
scripts' algorithm table. :func:`load_model` returns a :class:`LoadedModel` whose :meth:`~LoadedModel.act`
always applies the run's frozen VecNormalize observation statistics when the model was trained with
them (found beside the zip: ``vecnormalize.pkl`` for ``model.zip``, ``best_vecnormalize.pkl`` for
``best_model.zip``, ``rl_model_vecnormalize_<N>_steps.pkl`` for a checkpoint), acts deterministically,
and passes the action mask to MaskablePPO. A run whose ``config.yml`` says ``normalize`` but whose
statistics are missing is refused rather than fed unnormalised observations.

Re-execution is exact across CPUs: torch's CPU kernels (oneDNN / BLAS blocking chosen per instruction
set) may change a logit in its last bits from one machine to another, so a plain argmax flips wherever two
logits tie up to rounding, which symmetric inputs (two identical facilities, padded classes) make common.
:meth:`LoadedModel.act` therefore decides discrete actions by :func:`stable_argmax`: among the allowed actions
whose logit is within :data:`TIE_TOL` of the best, the lowest index. An action then changes between machines
only if some logit gap lies within the kernels' noise (about 1e-6 in float32) of the band's edge, where no
structure puts gaps; ``tests/test_exactmath.py`` perturbs logits by a few ulps and checks the decisions hold.

``PATH`` may be a model zip or a run directory written by ``python -m agents.train`` (then its
``best_model.zip``, else ``model.zip``, with the algorithm from ``config.yml``). Loading a model
unpickles its files: only load checkpoints you trust (the leaderboard pins each by its SHA-256).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from a2gym.errors import A2GymError

ALGORITHMS: dict[str, tuple[str, str]] = {
    "ppo": ("stable_baselines3", "PPO"), "a2c": ("stable_baselines3", "A2C"),
    "dqn": ("stable_baselines3", "DQN"), "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
    "qrdqn": ("sb3_contrib", "QRDQN"), "trpo": ("sb3_contrib", "TRPO"),
    "recurrent_ppo": ("sb3_contrib", "RecurrentPPO"),
    "vec_ppo": ("sb3_contrib", "MaskablePPO"),  # agents.vec_ppo saves MaskablePPO zips
}
"""Algorithm name -> (module, class)."""

TIE_TOL = 1e-5
"""Logits within ``TIE_TOL * max(1, |best logit|)`` of the best count as tied (:func:`stable_argmax`)."""


def stable_argmax(logits: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """The lowest allowed index, per row of ``logits`` [..., n], among the logits within :data:`TIE_TOL`
    (relative, at least absolute) of the row's best allowed logit: an argmax whose answer does not depend on
    the last bits of the logits (see the module docstring). ``allowed`` (bool, same shape) defaults to all;
    a row with nothing allowed is a ValueError."""
    z = np.asarray(logits, dtype=np.float64)
    ok = np.ones(z.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    if z.shape != ok.shape:
        raise ValueError(f"logits of shape {z.shape} and a mask of shape {ok.shape}")
    if not ok.any(axis=-1).all():
        raise ValueError("a row of the action mask allows no action")
    z = np.where(ok, z, -np.inf)
    best = z.max(axis=-1, keepdims=True)
    tied = z >= best - TIE_TOL * np.maximum(1.0, np.abs(best))
    return tied.argmax(axis=-1)


def policy_logits(policy: Any, obs: Any) -> np.ndarray:
    """Unmasked logits [n] (Discrete) or [sum(nvec)] (MultiDiscrete) of an SB3 / sb3-contrib policy for
    one observation."""
    import torch as th

    obs_t, _ = policy.obs_to_tensor(obs)
    with th.no_grad():
        dist = policy.get_distribution(obs_t)
    d = getattr(dist, "distributions", None) or dist.distribution  # sb3-contrib's multi / SB3's list / one
    parts = d if isinstance(d, list) else [d]
    return th.cat([p.logits for p in parts], dim=-1)[0].numpy()


CHECKPOINT_RE = re.compile(r"^rl_model_(\d+)_steps\.zip$")


class ModelError(A2GymError, ValueError):
    """A model file or run directory cannot be loaded (missing, unreadable, unknown algorithm)."""


def algorithm_class(algo: str) -> type:
    """The SB3 class of ``algo`` (imported on demand: torch is slow to import)."""
    if algo not in ALGORITHMS:
        raise ModelError(f"unknown SB3 algorithm {algo!r} (known: {', '.join(ALGORITHMS)})")
    module, cls = ALGORITHMS[algo]
    return getattr(importlib.import_module(module), cls)


def stats_path(model_path: Path) -> Path:
    """Where the VecNormalize statistics of a saved model are (model.zip, best_model.zip or a checkpoint)."""
    m = CHECKPOINT_RE.match(model_path.name)
    if m:
        return model_path.parent / f"rl_model_vecnormalize_{m.group(1)}_steps.pkl"
    if model_path.name == "best_model.zip":
        return model_path.parent / "best_vecnormalize.pkl"
    return model_path.parent / "vecnormalize.pkl"


def algo_of_zip(path: Path) -> str:
    """Guess the algorithm from the policy class stored in the zip's ``data`` entry."""
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise ModelError(f"sb3 model {str(path)!r} cannot be read: {e}") from None
    policy = json.dumps(data.get("policy_class", "")).lower() if isinstance(data, dict) else ""
    for key, algo in (("maskable", "maskable_ppo"), ("recurrent", "recurrent_ppo"), ("qrdqn", "qrdqn"),
                      ("dqn", "dqn")):
        if key in policy:
            return algo
    return "ppo"


@dataclasses.dataclass(frozen=True)
class ModelFiles:
    """The files of a model: the zip, its VecNormalize statistics (or None), its algorithm."""

    zip: Path
    stats: Path | None
    algo: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the zip's bytes followed by the statistics' bytes (if any): what the leaderboard
        pins."""
        h = hashlib.sha256(self.zip.read_bytes())
        if self.stats is not None:
            h.update(self.stats.read_bytes())
        return h.hexdigest()


def _run_config(folder: Path) -> dict[str, Any] | None:
    cfg = folder / "config.yml"
    if not cfg.is_file():
        return None
    import yaml

    try:
        d = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ModelError(f"{cfg} cannot be read: {e}") from None
    return d if isinstance(d, dict) else None


def model_files(path: str | Path, algo: str | None = None) -> ModelFiles:
    """Resolve a zip or run directory to its :class:`ModelFiles` (see the module docstring)."""
    p = Path(path)
    cfg = _run_config(p if p.is_dir() else p.parent)
    if p.is_dir():
        if cfg is None:
            raise ModelError(f"{p} is a folder without config.yml (not a run directory of agents.train)")
        p = p / "best_model.zip" if (p / "best_model.zip").is_file() else p / "model.zip"
    if not p.is_file():
        raise ModelError(f"sb3 model {str(p)!r} does not exist or is not a regular file")
    if algo is None:
        algo = str(cfg["algo"]) if cfg is not None and "algo" in cfg else algo_of_zip(p)
    algo = algo.lower()
    if algo not in ALGORITHMS:
        raise ModelError(f"unknown SB3 algorithm {algo!r} (known: {', '.join(ALGORITHMS)})")
    stats = stats_path(p)
    normalize = bool((cfg or {}).get("hyperparams", {}).get("normalize")) if cfg else None
    if normalize and not stats.is_file():
        raise ModelError(f"{p} was trained with normalize: true but its VecNormalize statistics {stats.name} "
                         "are missing; refusing to feed it unnormalised observations")
    return ModelFiles(p, stats if stats.is_file() else None, algo)


@dataclasses.dataclass
class LoadedModel:
    """A model ready to act: ``act(obs, mask)`` normalises (if trained so), masks (MaskablePPO), predicts."""

    model: Any
    files: ModelFiles
    normalizer: Any | None

    @property
    def masked(self) -> bool:
        return self.files.algo == "maskable_ppo"

    def normalize(self, obs: Any) -> Any:
        """The observation as the model saw it in training (frozen VecNormalize statistics, if any)."""
        return self.normalizer.normalize_obs(obs) if self.normalizer is not None else obs

    def act(self, obs: Any, mask: np.ndarray | None = None) -> Any:
        """The deterministic action for ``obs`` (``mask`` = valid actions, used by MaskablePPO).

        Discrete and MultiDiscrete actions are the :func:`stable_argmax` of the policy's logits (per
        sub-action), so they are the same on every CPU; other action spaces use SB3's ``predict``."""
        from gymnasium import spaces

        space = self.model.action_space
        allowed = np.asarray(mask, dtype=bool) if self.masked and mask is not None else None
        if isinstance(space, spaces.Discrete) and hasattr(self.model.policy, "get_distribution"):
            logits = policy_logits(self.model.policy, self.normalize(obs))
            return np.int64(stable_argmax(logits, allowed) + space.start)
        if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1 and hasattr(
                self.model.policy, "get_distribution"):
            logits = policy_logits(self.model.policy, self.normalize(obs))
            cuts = np.cumsum(space.nvec)[:-1]
            rows = np.split(logits, cuts)
            masks = np.split(allowed, cuts) if allowed is not None else [None] * len(rows)
            return np.array([stable_argmax(r, m) for r, m in zip(rows, masks, strict=True)],
                            dtype=np.int64) + space.start
        kw = {"action_masks": allowed} if allowed is not None else {}
        action, _ = self.model.predict(self.normalize(obs), deterministic=True, **kw)
        return action


def load_model(path: str | Path, algo: str | None = None) -> LoadedModel:
    """Load a model zip or run directory for acting on the CPU (one torch thread)."""
    import torch

    torch.set_num_threads(1)
    files = model_files(path, algo)
    cls = algorithm_class(files.algo)
    try:
        model = cls.load(str(files.zip), device="cpu")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError) as e:
        raise ModelError(f"sb3 model {str(files.zip)!r} cannot be loaded as {cls.__name__}: "
                         f"{type(e).__name__}: {e}") from None
    norm = None
    if files.stats is not None:
        try:
            with files.stats.open("rb") as f:
                norm = pickle.load(f)  # noqa: S301  (a pinned, reviewed checkpoint's statistics)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as e:
            raise ModelError(f"VecNormalize statistics {files.stats} cannot be read: {e}") from None
        norm.training = False
        norm.norm_reward = False
    return LoadedModel(model, files, norm)
