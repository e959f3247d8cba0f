"""Training and evaluation scripts for learned a2gym policies (Stable-Baselines3 + sb3-contrib).

Thin, RL-Zoo-style wiring; no training logic lives in the ``a2gym`` library itself::

    python -m agents.train --algo maskable_ppo --env a2gym/Placement-v0 --seed 0 --total-timesteps 20000
    python -m agents.evaluate --run runs/maskable_ppo/a2gym-Placement-v0_s0 --episodes 5 --out eval.jsonl

Modules:
    common      hyperparameter loading/validation (``hyperparams/<algo>.yml`` keyed by env id), env factories
    callbacks   TensorBoard callback: steps/s, the episode's cost breakdown and score versus the reference
    train       ``python -m agents.train``: train, checkpoint, keep the best model, resume
    evaluate    ``python -m agents.evaluate``: JSONL episode records for a run, the reference or a baseline
    rllib       ``python -m agents.rllib``: RLlib PPO with action masking, local Ray or a cluster

Run directory layout (written by :mod:`agents.train`)::

    RUN_DIR/
      config.yml              resolved arguments, hyperparameters and package versions (resume reads it)
      model.zip               the latest model (end of training, or when interrupted with Ctrl-C)
      vecnormalize.pkl        VecNormalize statistics of model.zip (only when ``normalize`` is on)
      best_model.zip          best mean return on the held-out evaluation env
      best_vecnormalize.pkl   VecNormalize statistics saved with best_model.zip
      checkpoints/            rl_model_<N>_steps.zip (+ rl_model_vecnormalize_<N>_steps.pkl,
                              rl_model_replay_buffer_<N>_steps.pkl for DQN) every ``checkpoint_freq`` steps
      eval/evaluations.npz    the evaluation history (EvalCallback)
      tb/                     TensorBoard event files (one directory for the whole run, resumes included)
"""

from __future__ import annotations
