"""Reward normalisers solved once per scenario, found again by the scenario's SHA-256.

An env made with ``resample=True`` draws a fresh scenario object at every reset, so a value cached on the
object (:func:`a2gym.cache.cached_on`) is lost with it and A2-Greedy is solved again (tens of ms against
tens of µs per step).  :func:`normaliser` keeps each env's reference cost [$] per (kind, scenario
SHA-256) for the life of the process, so a scenario that comes back (the same seeds in another env, a
second training run in the same process, an evaluation suite) is not solved again; with the environment
variable ``A2GYM_CACHE_DIR`` set to a folder (e.g. ``~/.cache/a2gym``; never inside the repository) the
values are also stored there as small JSON files and shared between processes.

The value is the same float either way: computed by the same function, kept as a Python float in memory
and as ``float.hex`` on disk.  A disk entry names :data:`REFERENCE_VERSION` and the SHA-256 of the
package's source files, and is ignored unless both match, so a changed solver or env is solved again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from a2gym.cache import cached_on
from a2gym.scenario import Scenario

REFERENCE_VERSION = 1
"""Version of the reference computations; disk entries of another version are ignored."""
CACHE_ENV = "A2GYM_CACHE_DIR"
MAX_IN_MEMORY = 100_000
"""Most values kept in memory (a float each); the oldest are dropped beyond it."""

_memory: dict[tuple[str, str], float] = {}


def normaliser(scenario: Scenario, kind: str, compute: Callable[[], float]) -> float:
    """``compute()`` (a reference cost [$]) of ``scenario``, solved once per (``kind``, SHA-256): cached on
    the scenario object, then in this process, then in ``$A2GYM_CACHE_DIR`` when that is set."""
    return cached_on(scenario, kind, lambda: _lookup(scenario, kind, compute))


def _lookup(scenario: Scenario, kind: str, compute: Callable[[], float]) -> float:
    key = (kind, scenario.sha256)
    hit = _memory.get(key)
    if hit is not None:
        return hit
    path = _disk_path(kind, key[1])
    value = _read(path) if path is not None else None
    if value is None:
        value = float(compute())
        if path is not None:
            _write(path, value)
    if len(_memory) >= MAX_IN_MEMORY:
        _memory.pop(next(iter(_memory)))
    _memory[key] = value
    return value


def clear_memory() -> None:
    """Forget the values kept in this process (tests; the disk cache is left alone)."""
    _memory.clear()


def _disk_path(kind: str, sha: str) -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    return Path(folder).expanduser() / "normalisers" / kind / f"{sha}.json"


@functools.lru_cache(maxsize=1)
def _stamp() -> dict[str, object]:
    """What a disk entry must match: :data:`REFERENCE_VERSION` and the SHA-256 of the package's source
    (every ``.py`` file under ``a2gym/``), so an edited solver or env never reads a stale value."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return {"reference_version": REFERENCE_VERSION, "code_sha256": h.hexdigest()}


def _read(path: Path) -> float | None:
    """The stored value, or None if absent, unreadable or of another version."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or any(doc.get(k) != v for k, v in _stamp().items()):
            return None
        return float.fromhex(doc["value"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, value: float) -> None:
    """Store ``value`` atomically (a failure to write only costs a later re-solve)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({**_stamp(), "value": value.hex()}, f)
        os.replace(tmp, path)
    except OSError:
        pass
