"""The leaderboard: fixed test suites, results files, eval, replay and re-execution, scores and the table.

* :mod:`~a2gym.leaderboard.suite`: the suites ``a2-test-v1`` (ranked), ``a2-val-v1`` (validation split),
  ``a2-test-v0`` (kept replayable): envs, kwargs, scenario files, seeds;
* :mod:`~a2gym.leaderboard.entry`, :mod:`~a2gym.leaderboard.record`: a results file (entry header + records);
* :mod:`~a2gym.leaderboard.safeio`: bounded, regular-file-only reading; locked, atomic writing;
* :mod:`~a2gym.leaderboard.policy`: policy specs (heuristics, ``sb3:``, ``MODULE:OBJECT``) and their hashes;
* :mod:`~a2gym.leaderboard.episode`: run an episode, replay a record in a fresh env;
* :mod:`~a2gym.leaderboard.evaluate`: ``a2gym eval`` (integrity checks, no lost records);
* :mod:`~a2gym.leaderboard.validate`, :mod:`~a2gym.leaderboard.rerun`: ``a2gym validate [--rerun]``;
* :mod:`~a2gym.leaderboard.distributed`: both as Ray tasks (``--ray``, optional extra ``a2gym[ray]``);
* :mod:`~a2gym.leaderboard.reserved`: rows the scorer computes (reference, oracle, paper baselines, optimum);
* :mod:`~a2gym.leaderboard.score`, :mod:`~a2gym.leaderboard.table`, :mod:`~a2gym.leaderboard.build`:
  scores, ``LEADERBOARD.md`` and its chart, ``a2gym leaderboard score``.
"""

from a2gym.leaderboard.entry import EntryHeader
from a2gym.leaderboard.record import EpisodeRecord, read_records, write_records
from a2gym.leaderboard.suite import A2_TEST_V0, A2_TEST_V1, A2_VAL_V1, SUITES, Suite, SuiteEntry, get_suite

__all__ = ["A2_TEST_V0", "A2_TEST_V1", "A2_VAL_V1", "SUITES", "EntryHeader", "EpisodeRecord", "Suite", "SuiteEntry",
           "get_suite", "read_records", "write_records"]
