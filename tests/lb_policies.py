"""Policies for the leaderboard tests, importable as ``tests.lb_policies:NAME`` specs."""

from __future__ import annotations

from typing import Any

import numpy as np


def first_valid(obs: Any, info: dict) -> int:
    """A policy object: the first unmasked action (Discrete envs)."""
    return int(np.flatnonzero(info["action_mask"])[0])


def raise_on_third_seed(ctx: Any):
    """A factory whose policy raises in the episode of seed 10002."""
    def policy(obs: Any, info: dict) -> int:
        if ctx.seed == 10_002:
            raise RuntimeError("boom")
        return first_valid(obs, info)
    return policy


def no_args() -> int:
    return 0


def peek_env(ctx: Any):
    """A factory that tries to reach the env: the context has no env to reach."""
    if hasattr(ctx, "env") or hasattr(ctx, "unwrapped"):
        raise AssertionError("the policy context exposes the env")
    return first_valid
