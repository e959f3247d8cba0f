"""What a code entry pins: every repository file its policy loads, hashed into one digest.

An entry's header pins its module's file (``policy_sha256``) and, for ``MODULE:OBJECT`` and
``FILE.py:OBJECT`` policies, ``policy_files_sha256``: the digest
(:func:`~a2gym.leaderboard.worker.closure_digest`, computed by the scorer from the files' content)
of every file under the repository that the entry's worker loaded when it imported the module and
made its policy for the first episode of each env: the module, the repository modules it imports
(the transitive closure, e.g. ``agents/attention.py`` for ``agents.generalist_entry``) and its data
files (checkpoints). The ``a2gym`` package (the scorer itself) and installed packages are not part of
it. A policy that loads another repository file later, while playing, fails its run: everything it
depends on must be loaded when it is imported or made.

``a2gym leaderboard pin FILE`` (:func:`pin_entry`) re-executes an entry, requires identical actions,
and writes the digest into its header.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from a2gym.errors import RecordError
from a2gym.heuristics import PolicyContext
from a2gym.leaderboard.policy import ResolvedPolicy
from a2gym.leaderboard.worker import closure_digest


@dataclasses.dataclass(frozen=True)
class Closure:
    """The repository files a policy loaded (relative paths) and their digest."""

    files: frozenset[str]
    digest: str

    def check_no_new(self, policy: ResolvedPolicy) -> None:
        """RecordError if the policy's worker has loaded a repository file outside the closure."""
        new = sorted(set(policy.loaded_files()) - self.files)
        if new:
            raise RecordError(f"policy {policy.spec!r} loaded {', '.join(new[:3])}"
                              f"{' …' if len(new) > 3 else ''} while playing, after its files were pinned: "
                              "load every file the policy needs when it is imported or made")


def contexts(episodes: Iterable[tuple[str, dict[str, Any], str, int]]) -> list[PolicyContext]:
    """The context of the first episode of each env among (env id, env kwargs, scenario URI, seed)."""
    from a2gym.leaderboard.episode import load_fresh, suite_env

    out, seen = [], set()
    for env_id, kwargs, uri, seed in episodes:
        if env_id in seen:
            continue
        seen.add(env_id)
        env = suite_env(env_id, uri, kwargs)
        try:
            out.append(PolicyContext(env_id, dict(kwargs), env.observation_space, env.action_space,
                                     load_fresh(uri), int(seed)))
        finally:
            env.close()
    return out


def policy_closure(policy: ResolvedPolicy, ctxs: list[PolicyContext]) -> Closure | None:
    """Make the policy for each context (in its worker) and pin what it loaded; None for a policy
    without a worker (a built-in heuristic)."""
    if policy.worker is None:
        return None
    for ctx in ctxs:
        try:
            policy.factory(ctx)
        except RecordError as e:
            raise RecordError(f"making the policy for {ctx.env_id} seed {ctx.seed} failed: {e}") from None
    files = frozenset(policy.loaded_files())
    return Closure(files, closure_digest(files))
