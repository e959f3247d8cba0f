"""The minibatch loop of behaviour cloning, shared by the cloning warm starts that fit a policy's logits
to a reference's labels (:func:`agents.generalist.fit`, ``experiments/geoserve_v1_fleet.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def fit_minibatches(policy: Any, data: list, epochs: int, lr: float, batch: int, rng: np.random.Generator,
                    loss_of: Callable[[list], Any], clip: float = 1.0) -> float:
    """``epochs`` passes of Adam (learning rate ``lr``) over ``data`` in shuffled minibatches of ``batch``
    samples, minimising ``loss_of(chunk)`` (a scalar torch tensor for a list of samples), gradients
    clipped to norm ``clip``; the policy is left in evaluation mode. Returns the last minibatch's loss."""
    import torch as th

    opt = th.optim.Adam(policy.parameters(), lr=lr)
    policy.set_training_mode(True)
    loss_v = float("nan")
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for s in range(0, len(data), batch):
            loss = loss_of([data[j] for j in order[s:s + batch]])
            opt.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), clip)
            opt.step()
            loss_v = float(loss.detach())
    policy.set_training_mode(False)
    return loss_v
