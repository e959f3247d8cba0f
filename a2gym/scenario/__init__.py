"""Scenarios: the validated, immutable A² instances, and where they come from.

``read_scenario(uri_or_path)`` reads and validates (``a2gym.load_scenario`` also checks that every class
can be served, a cost-model question asked above this package); both accept

* ``scenario://paper-default-v0``: the bundled real-data scenario (9 AWS regions),
* ``scenario://a2-test-v0/<n>``: the fixed leaderboard suite (pinned by SHA-256); the bundled files
  are also reachable by name: :func:`load_bundled_scenario` (``fresh=True``: a new, uncached object),
  :func:`bundled_scenario_path`, :func:`bundled_manifest`,
* ``generator://synth-v0/<seed>?classes=N&regions=K&models=M&datas=D&types=H``: reproducible
  synthetic scenarios drawn around the real tables,
* a path to a scenario file (see :mod:`a2gym.scenario.types` for the format),
* a :class:`Scenario` (returned unchanged).
"""

from a2gym.fileio import atomic_write_text
from a2gym.scenario.types import Scenario
from a2gym.scenario.uri import (
    bundled_manifest,
    bundled_scenario_names,
    bundled_scenario_path,
    load_bundled_scenario,
    read_scenario,
)

__all__ = ["Scenario", "atomic_write_text", "bundled_manifest", "bundled_scenario_names", "bundled_scenario_path",
           "load_bundled_scenario", "read_scenario"]
