"""Optional warm start: behaviour cloning of the reference policy before RL (``pretrain_episodes > 0``).

The reference policy (:func:`a2gym.policies.reference_policy`, mode ``pretrain_mode``) plays
``pretrain_episodes`` episodes in the training env's configuration; the SB3 policy is then fitted to
its actions by maximum likelihood (``-log π(a_ref | s)``, with the env's masks for MaskablePPO) for
``pretrain_epochs`` epochs of minibatches of the algorithm's ``batch_size``, with Adam at
``pretrain_lr``. RL then continues from that policy (the value function is left to RL). Only the
actor is cloned; everything else is the ordinary algorithm, so a warm-started run is directly
comparable with a cold one at the same step budget (the cloning episodes are *not* counted as env
steps of the run and are reported separately in TensorBoard under ``pretrain/``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from agents.common import action_mask, make_env


def collect_reference(env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int, mode: str | None,
                      masks: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(observations, reference actions, masks or None) of ``episodes`` reference episodes (seeds seed,
    seed+1, …)."""
    from a2gym.policies import reference_policy
    from a2gym.rollout import rollout

    env = make_env(env_id, env_kwargs)
    obs_l: list[np.ndarray] = []
    act_l: list[np.ndarray] = []
    mask_l: list[np.ndarray] = []
    try:
        def observe(obs: Any, info: dict, action: Any) -> None:
            obs_l.append(np.asarray(obs, dtype=np.float32))
            act_l.append(np.asarray(action))
            if masks:
                mask_l.append(action_mask(env))

        for i in range(episodes):
            rollout(env, seed=seed + i, make=lambda: reference_policy(env, mode=mode), observe=observe)
    finally:
        env.close()
    return np.stack(obs_l), np.stack(act_l), (np.stack(mask_l) if masks else None)


def behaviour_clone(model: Any, env_id: str, env_kwargs: dict[str, Any], hp: dict[str, Any], seed: int,
                    masks: bool) -> dict[str, float]:
    """Fit ``model.policy``'s actor to the reference's actions; log and return loss, accuracy and time."""
    import torch as th

    t0 = time.perf_counter()
    obs, actions, mask = collect_reference(env_id, env_kwargs, int(hp["pretrain_episodes"]), seed + 20_000,
                                           hp.get("pretrain_mode"), masks)
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None and vec_normalize.norm_obs:
        obs = vec_normalize.normalize_obs(obs)
    policy = model.policy
    policy.set_training_mode(True)
    optimizer = th.optim.Adam(policy.parameters(), lr=float(hp["pretrain_lr"]))
    rng = np.random.default_rng(seed)
    n = len(obs)
    batch = min(int(hp.get("batch_size") or 64), n)
    obs_t = th.as_tensor(obs, device=policy.device)
    act_t = th.as_tensor(actions, device=policy.device)
    loss_value = float("nan")
    for _ in range(int(hp["pretrain_epochs"])):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            kw = {"action_masks": mask[idx]} if mask is not None else {}
            _, log_prob, _ = policy.evaluate_actions(obs_t[idx], act_t[idx], **kw)
            loss = -log_prob.mean()
            optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()
            loss_value = float(loss.detach())
    policy.set_training_mode(False)
    with th.no_grad():
        kw = {"action_masks": mask} if mask is not None else {}
        predicted, _ = model.predict(obs, deterministic=True, **kw)
    same = np.all(np.asarray(predicted).reshape(n, -1) == actions.reshape(n, -1), axis=1)
    stats = {
        "pretrain/samples": float(n),
        "pretrain/loss": loss_value,
        "pretrain/action_accuracy": float(same.mean()),
        "pretrain/seconds": time.perf_counter() - t0,
    }
    for key, value in stats.items():
        model.logger.record(key, value)
    model.logger.dump(0)
    return stats
