"""The leaderboard: fixed test suites, episode records, eval, replay-validation, scores and the table.

* :mod:`~a2gym.leaderboard.suite`: the test suite ``a2-test-v0`` (envs, kwargs, scenario files, seeds);
* :mod:`~a2gym.leaderboard.record`: the JSONL episode record;
* :mod:`~a2gym.leaderboard.episode`: run an episode, replay a record in a fresh env;
* :mod:`~a2gym.leaderboard.evaluate`: ``a2gym eval`` (policy specs, integrity checks);
* :mod:`~a2gym.leaderboard.validate`: ``a2gym validate``;
* :mod:`~a2gym.leaderboard.distributed`: both as Ray tasks (``--ray``, optional extra ``a2gym[ray]``);
* :mod:`~a2gym.leaderboard.score`, :mod:`~a2gym.leaderboard.bounds`: scores, intervals, lower bounds;
* :mod:`~a2gym.leaderboard.table`, :mod:`~a2gym.leaderboard.build`: ``LEADERBOARD.md`` and its chart.
"""

from a2gym.leaderboard.record import EpisodeRecord, read_records, write_records
from a2gym.leaderboard.suite import A2_TEST_V0, SUITES, Suite, SuiteEntry, get_suite

__all__ = ["A2_TEST_V0", "SUITES", "EpisodeRecord", "Suite", "SuiteEntry", "get_suite", "read_records",
           "write_records"]
