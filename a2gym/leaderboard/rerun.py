"""Re-execution: run an entry's policy again on every recorded episode and require the same actions.

Replay proves only that the stored actions give the stored cost. Re-execution proves that the entry's
policy, as pinned by its header (a built-in heuristic, a checkpoint or a module file with its SHA-256),
chose them: each episode is run afresh (new env from the pinned scenario file, the policy made from a
:class:`~a2gym.heuristics.PolicyContext` whose seed, the record's, is its only randomness) and its
actions must equal the record's, step by step (the outcome of those actions is the replay's job, which
validation runs anyway).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

from a2gym.errors import RecordError
from a2gym.leaderboard.closure import contexts, policy_closure
from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.episode import Outcome
from a2gym.leaderboard.evaluate import new_pools, run_policy
from a2gym.leaderboard.policy import resolve_policy
from a2gym.leaderboard.record import EpisodeRecord


def first_difference(recorded: list, chosen: list) -> str | None:
    """None if equal, else which step differs (or which sequence is longer)."""
    for t, (a, b) in enumerate(zip(recorded, chosen, strict=False)):
        if a != b:
            return f"re-run differs at step {t}: recorded {str(a)[:40]}, the policy chose {str(b)[:40]}"
    if len(recorded) != len(chosen):
        return f"re-run has {len(chosen)} actions, the record {len(recorded)}"
    return None


def rerun_problems(path: str, header: EntryHeader, records: list[EpisodeRecord],
                  outcomes: dict[int, Outcome] | None = None) -> Iterator[list[str]]:
    """Per record of one file (in order): its re-execution problems.

    The entry's code runs in its own worker process (:mod:`a2gym.leaderboard.worker`), started for this
    file and stopped at the end; a code entry must pin the files it loads (``policy_files_sha256``,
    :mod:`a2gym.leaderboard.closure`). With ``outcomes``, the re-executed episode's outcome (as its env
    reported it) is stored under the record's index, for the scorer.
    """
    policy = None
    try:
        policy = resolve_policy(header.policy)
        if policy.sha256 != header.policy_sha256:
            raise RecordError(f"policy {header.policy!r} has SHA-256 {policy.sha256}, the header pins "
                              f"{header.policy_sha256}")
        closure = None
        if policy.worker is not None:
            if header.policy_files_sha256 is None:
                raise RecordError(f"policy {header.policy!r} is code, but the header pins no "
                                  "policy_files_sha256 (the files it loads); run `a2gym leaderboard pin "
                                  f"{path}`")
            closure = policy_closure(policy, contexts(
                (r.env_id, r.env_kwargs, r.scenario_uri, r.seed) for r in records))
            if closure is not None and closure.digest != header.policy_files_sha256:
                shown = ", ".join(sorted(closure.files)[:4]) + (" …" if len(closure.files) > 4 else "")
                raise RecordError(f"the {len(closure.files)} repository file(s) policy {header.policy!r} "
                                  f"loads ({shown}) "
                                  f"hash to {closure.digest[:12]}…, the header pins "
                                  f"{header.policy_files_sha256[:12]}…: a file it loads has changed")
    except RecordError as e:
        if policy is not None:
            policy.close()
        msg = f"cannot re-run the entry's policy: {e}"
        for j in range(len(records)):
            yield [msg] if j == 0 else []
        return
    try:
        pools = new_pools()
        for j, rec in enumerate(records):
            try:
                again = run_policy(rec.env_id, rec.env_kwargs, rec.scenario_uri, rec.seed, policy, pools)
                if closure is not None:
                    closure.check_no_new(policy)
            except RecordError as e:
                yield [f"re-run failed: {e}"]
                continue
            if outcomes is not None:
                outcomes[j] = again
            diff = first_difference(rec.actions, again.actions)
            yield [diff] if diff else []
    finally:
        policy.close()


def pin_entry(path: str | os.PathLike[str]) -> str:
    """Re-execute the entry of results file ``path`` (identical actions required) and write its closure
    digest into its header (atomically); returns the digest. RecordError if a record does not re-run."""
    from a2gym.leaderboard.record import read_records, write_records

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
