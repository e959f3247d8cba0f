"""Learned entries make the same actions on another CPU: decisions by ``a2gym.sb3.stable_argmax`` do not move
when torch's kernels move the logits by a few ulps (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from a2gym import sb3
from a2gym.sb3 import TIE_TOL, stable_argmax

REPO = Path(__file__).resolve().parent.parent


def _ulps32(z: np.ndarray, pattern: int) -> np.ndarray:
    """``z`` moved by -3..+3 float32 ulps per element (another CPU's float32 kernels), in a pattern."""
    z32 = np.asarray(z, dtype=np.float32)
    k = ((np.arange(z32.size).reshape(z32.shape) * (2 * pattern + 1)) % 7) - 3
    return (z32 + k * np.spacing(np.abs(z32))).astype(np.float32)


def test_stable_argmax_takes_the_lowest_of_the_tied_allowed() -> None:
    z = np.array([[0.5, 2.0, 2.0 - 1e-7, 1.0], [3.0, 3.0 + 1e-3, -1.0, 3.0 + 1e-3]])
    assert stable_argmax(z).tolist() == [1, 1]
    allowed = np.array([[True, False, True, True], [True, False, True, True]])
    assert stable_argmax(z, allowed).tolist() == [2, 3]
    assert stable_argmax(np.array([5.0, 5.0 + 0.9 * TIE_TOL * 5.0])) == 0  # inside the band: the lower
    with pytest.raises(ValueError, match="allows no action"):
        stable_argmax(z, np.zeros_like(allowed))


def test_near_ties_that_flip_a_plain_argmax_do_not_flip_the_rule() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 40)).astype(np.float32)
    # symmetric inputs: the best logit duplicated up to rounding noise, as identical facilities give
    j = rng.integers(0, 40, size=2000)
    base[np.arange(2000), j] = base.max(axis=1) * (1 + 1e-7)
    plain_flips = rule_flips = 0
    ref = stable_argmax(base)
    for pattern in range(5):
        moved = _ulps32(base, pattern)
        plain_flips += int((moved.argmax(axis=1) != base.argmax(axis=1)).sum())
        rule_flips += int((stable_argmax(moved) != ref).sum())
    assert plain_flips > 0  # the perturbation is one that matters for a plain argmax
    assert rule_flips == 0


@contextmanager
def _logits_moved(pattern: int) -> Iterator[None]:
    """Every logit a learned entry computes comes back moved by a few float32 ulps."""
    from agents import fleet

    mp = pytest.MonkeyPatch()
    real_policy_logits = sb3.policy_logits
    mp.setattr(sb3, "policy_logits", lambda policy, obs: _ulps32(real_policy_logits(policy, obs), pattern))
    from agents import search
    real_batch = search.policy_logits_batch
    mp.setattr(search, "policy_logits_batch",
               lambda model, obs: _ulps32(real_batch(model, obs), pattern).astype(np.float64))
    model = fleet.load_checkpoint(fleet.RUN_DIR / "best_model.zip", fleet.CHECKPOINT_SHA256)
    policy_cls = model.policy.__class__
    real_fleet_logits = policy_cls.logits

    def moved(self, x):  # noqa: ANN001, ANN202
        import torch as th

        return th.as_tensor(_ulps32(real_fleet_logits(self, x).numpy(), pattern))

    mp.setattr(policy_cls, "logits", moved)
    try:
        yield
    finally:
        mp.undo()


@pytest.mark.parametrize("name", ["placement-general", "scheduling-general", "geoserve-v1-fleet",
                                  "placement-general-search"])
def test_committed_learned_entries_keep_their_recorded_actions_with_logits_moved(name: str) -> None:
    """The first recorded episode of each learned entry, re-played by its policy three times with the logits
    moved in different ulp patterns: the actions are the recorded ones every time."""
    pytest.importorskip("sb3_contrib")
    from a2gym.heuristics import PolicyContext
    from a2gym.leaderboard.episode import play_episode, suite_env
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.record import read_records

    header, records = read_records(REPO / "leaderboard" / f"{name}.jsonl")
    rec = records[0]
    factory = resolve_policy(header.policy).factory
    for pattern in range(3):
        env = suite_env(rec.env_id, rec.scenario_uri, rec.env_kwargs)
        ctx = PolicyContext(rec.env_id, dict(rec.env_kwargs), env.observation_space, env.action_space,
                            env.unwrapped.scenario, rec.seed)
        with _logits_moved(pattern):
            out = play_episode(env, factory, ctx)
        env.close()
        assert out.actions == rec.actions, f"{name}: pattern {pattern} changed an action"
