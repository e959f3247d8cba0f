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
import os
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
    from a2gym.leaderboard.episode import load_fresh, make_env

    out, seen = [], set()
    for env_id, kwargs, uri, seed in episodes:
        if env_id in seen:
            continue
        seen.add(env_id)
        env = make_env(env_id, uri, kwargs)
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


def pin_entry(path: str | os.PathLike[str]) -> str:
    """Re-execute the entry of results file ``path`` (identical actions required) and write its closure
    digest into its header (atomically); returns the digest. RecordError if a record does not re-run."""
    from a2gym.leaderboard.evaluate import new_pools, run_policy
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.record import read_records, write_records
    from a2gym.leaderboard.rerun import first_difference

    header, records = read_records(path)
    if not records:
        raise RecordError(f"{path}: no records to re-execute")
    policy = resolve_policy(header.policy)
    try:
        if policy.sha256 != header.policy_sha256:
            raise RecordError(f"{path}: policy {header.policy!r} has SHA-256 {policy.sha256}, the header "
                              f"pins {header.policy_sha256}")
        closure = policy_closure(policy, contexts(
            (r.env_id, r.env_kwargs, r.scenario_uri, r.seed) for r in records))
        if closure is None:
            raise RecordError(f"{path}: policy {header.policy!r} is built in; it pins no files")
        pools = new_pools()
        for n, rec in enumerate(records, start=2):
            again = run_policy(rec.env_id, rec.env_kwargs, rec.scenario_uri, rec.seed, policy, pools)
            diff = first_difference(rec.actions, again.actions)
            if diff:
                raise RecordError(f"{path}:{n}: {diff}")
            closure.check_no_new(policy)
    finally:
        policy.close()
    write_records(path, dataclasses.replace(header, policy_files_sha256=closure.digest), records)
    return closure.digest
