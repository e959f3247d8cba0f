"""Bounded, regular-file-only reading and locked, atomic writing of the leaderboard's files.

Every file the leaderboard reads that an entrant could supply goes through :func:`read_bounded_text`:
it opens without blocking (``O_NONBLOCK``, so a FIFO with no writer does not hang), refuses anything
that is not a regular file (FIFOs, ``/dev/zero``, sockets, folders) and refuses files larger than a
limit before reading them, so a 1 GB line cannot be read into memory. JSON is parsed with
:func:`loads_strict`, which refuses repeated keys (a reviewer would see one value and the parser count
another) and NaN/Infinity.

Writers take an exclusive lock file ``.<name>.lock`` beside the target (:func:`exclusive_lock`), so a
second concurrent writer of the same file is refused with a clear error instead of silently replacing
the first one's records; the write itself goes through a temp file and ``os.replace``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from a2gym.errors import FileError, RecordError

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest results file read [bytes] (a full a2-test-v1 entry with 20 seeds is about 6 MB)."""


def read_bounded_text(
    path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES, what: str = "file"
) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes
    (:func:`a2gym.fileio.read_text_bounded`);
    RecordError naming the path otherwise. Never blocks on a FIFO and never reads a device."""
    from a2gym.fileio import read_text_bounded

    try:
        return read_text_bounded(path, max_bytes, what)
    except FileError as e:
        raise RecordError(str(e)) from None
    except UnicodeDecodeError as e:
        raise RecordError(f"{path}: not UTF-8 text: {e}") from None


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"repeated key {k!r} in one JSON object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses repeated keys and NaN/Infinity (ValueError with the reason).

    Nesting is bounded by the caller's line-size limit (Python's parser raises RecursionError on very
    deep nesting, which is reported as a ValueError here).
    """
    try:
        return json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


@contextlib.contextmanager
def exclusive_lock(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the writer's lock of ``target`` (the file ``.<name>.lock`` beside it) for the block.

    The lock is an ``flock`` on that file (which holds the writer's pid, for people): a second writer
    gets a RecordError; the kernel releases it when the holder dies, however (``kill -9`` included), so a
    stale lock file is simply taken over, and taking it over is safe (after locking, the file must still
    be the one at the path, else the lock is retried). The file is removed when the block ends (also
    on an exception, Ctrl-C, or SIGTERM where the caller turns it into one). Also checks up front that
    the folder exists and is writable, so a command fails before its work, not after.
    """
    import fcntl

    t = Path(target)
    folder = t.parent if str(t.parent) else Path(".")
    if not folder.is_dir():
        raise RecordError(f"output folder {folder} does not exist")
    if t.exists() and not t.is_file():
        raise RecordError(f"output {t} exists and is not a regular file")
    lock = folder / f".{t.name}.lock"
    for _ in range(20):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise RecordError(f"cannot write in {folder}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RecordError(f"another writer holds {t} (lock {lock}); wait for it to finish") from None
        try:
            same = os.stat(lock, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed it between our open and flock: try the new file
    else:
        raise RecordError(f"cannot take the lock {lock}")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield lock
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)
