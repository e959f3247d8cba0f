"""SB3 callbacks of the training script: a2gym episode metrics in TensorBoard, VecNormalize next to the best
model.

Scalars written by :class:`A2MetricsCallback` (besides SB3's own ``rollout/``, ``train/``, ``time/``
and ``eval/``):

==============================  ====================================================================
tag                             meaning
==============================  ====================================================================
a2gym/steps_per_second          env steps per second since training (or the resumed segment) started
a2gym/episode_cost              mean total cost of the episodes that ended in the logging window [$]
a2gym/cost_<part>               its breakdown: compute, bandwidth, deployment, slo_penalty [$]
a2gym/reference_cost            the reference policy's cost on the same scenario [$]
a2gym/score                     reference_cost / policy_cost (> 1 beats the reference)
a2gym/violations                number of violated constraints at episode end
a2gym/episodes                  episodes finished so far (in this process)
==============================  ====================================================================
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from agents.metrics import episode_metrics


class A2MetricsCallback(BaseCallback):
    """Log steps per second and, for each finished episode, its cost breakdown and score versus the reference.

    Reads the ``info`` of the final step of every episode (SB3 VecEnvs hand it over before auto-reset).
    """

    def __init__(self, verbose: int = 0):
        super().__init__(verbose)
        self._t0 = 0.0
        self._steps0 = 0
        self.episodes = 0

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self._steps0 = self.num_timesteps

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if not done:
                continue
            self.episodes += 1
            for key, value in episode_metrics(info).items():
                self.logger.record_mean(f"a2gym/{key}", value)
        self.logger.record("a2gym/episodes", self.episodes)
        return True

    def _record_speed(self) -> None:
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        self.logger.record("a2gym/steps_per_second", (self.num_timesteps - self._steps0) / elapsed)

    def _on_rollout_end(self) -> None:
        self._record_speed()

    def _on_training_end(self) -> None:
        self._record_speed()
        self.logger.dump(self.num_timesteps)


class SaveVecNormalizeCallback(BaseCallback):
    """Save the training env's VecNormalize statistics (used as ``callback_on_new_best`` of EvalCallback)."""

    def __init__(self, path: str | Path, verbose: int = 0):
        super().__init__(verbose)
        self.path = Path(path)

    def _on_step(self) -> bool:
        vec_normalize = self.model.get_vec_normalize_env()
        if vec_normalize is not None:
            vec_normalize.save(str(self.path))
        return True


def restore_eval_history(eval_callback: Any, npz_path: Path) -> None:
    """Seed an EvalCallback with a previous segment's evaluations so a resumed run keeps its best model.

    Without this the first evaluation after ``--resume`` would overwrite ``best_model.zip`` even if it is
    worse.
    """
    import numpy as np

    if not npz_path.exists():
        return
    data = np.load(npz_path)
    eval_callback.evaluations_timesteps = [int(t) for t in data["timesteps"]]
    eval_callback.evaluations_results = [list(r) for r in data["results"]]
    eval_callback.evaluations_length = [list(r) for r in data["ep_lengths"]]
    if len(data["results"]):
        eval_callback.best_mean_reward = float(np.max(np.mean(data["results"], axis=1)))
