"""Hostile leaderboard policies (one per class of attack), importable as ``tests.lb_attacks:NAME``.

Each tries to change a score or a check's outcome from inside the policy; the entry's worker process
(:mod:`a2gym.leaderboard.worker`) must contain it. None of them may have any effect on the scorer.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from tests import lb_helper


def _first(obs: Any, info: dict) -> int:
    return int(np.flatnonzero(info["action_mask"])[0])


def exits(ctx: Any):
    """Kills its own process (as a policy that wants ``build --check`` to exit 0 would)."""
    def policy(obs: Any, info: dict) -> int:
        os._exit(0)
    return policy


def system_exit(obs: Any, info: dict) -> int:
    raise SystemExit(7)


def patch_scorer(ctx: Any):
    """Replaces the scorer's functions in whatever process it runs in, then plays honestly."""
    import a2gym.leaderboard.build as build
    import a2gym.leaderboard.rerun as rerun
    import a2gym.leaderboard.validate as validate

    build.score_env = lambda *a, **k: []
    validate.close = lambda a, b: True
    rerun.first_difference = lambda a, b: None
    return _first


def walk_frames(ctx: Any):
    """Looks for the live env in its callers' frames; raises if it finds one (it must not)."""
    def policy(obs: Any, info: dict) -> int:
        f = sys._getframe(1)
        while f is not None:
            for v in list(f.f_locals.values()):
                if hasattr(v, "unwrapped") or type(v).__name__ in ("ScenarioCache", "Worker"):
                    raise AssertionError(f"found {type(v).__name__} in a caller's frame")
            f = f.f_back
        return _first(obs, info)
    return policy


def sleeps(obs: Any, info: dict) -> int:
    time.sleep(600)
    return 0


def prints(obs: Any, info: dict) -> int:
    """Writes to stdout (which must not break the protocol) and plays the first valid action."""
    print("hello from the policy", flush=True)
    os.write(1, b"\x00\x00\x00\x00garbage")
    return _first(obs, info)


def bad_action(obs: Any, info: dict) -> Any:
    return "not an action"


def uses_helper(ctx: Any):
    """Plays through a helper module of the repository (part of its pinned closure)."""
    return lb_helper.first_valid


def slow_third(ctx: Any):
    """Honest, but slow on seed 10002 (so a test can interrupt ``eval`` after two finished episodes)."""
    def policy(obs: Any, info: dict) -> int:
        if ctx.seed == 10_002:
            time.sleep(2)
        return _first(obs, info)
    return policy


def hog_memory(ctx: Any):
    """Allocates 4 GiB when made (the worker's address-space limit must stop it)."""
    block = bytearray(4 * 2**30)
    return lambda obs, info: len(block)


def where_am_i(ctx: Any):
    """Raises if it runs in the repository folder or inherited more than the protocol's descriptors."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    here = Path(os.getcwd()).resolve()
    if here == root or root in here.parents:
        raise AssertionError(f"the worker runs in the repository ({here})")
    return _first
