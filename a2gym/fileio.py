"""Reading and writing files safely: regular files only, bounded reads, atomic writes.

Every file the library reads from a user (a scenario, a results file) or writes for one (an exported
scenario, a record file, a plot) goes through these functions, so that

* a FIFO, a device (``/dev/zero``) or a directory given as input is refused before anything reads it
  (no blocking, no endless read), and a regular file larger than the limit is refused;
* an output is written to a temporary file in the same folder and renamed over the target, so it is
  never half written; a target that exists but is not a regular file (``/dev/full``, a directory, a
  FIFO) or is a symbolic link is refused instead of being replaced.

Errors are :class:`FileError` (an :class:`~a2gym.errors.A2GymError`) with one line naming the path.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from a2gym.errors import FileError

__all__ = ["FileError", "atomic_write_bytes", "atomic_write_text", "check_output_path", "read_text_bounded"]


def read_text_bounded(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of the regular file ``path``, at most ``max_bytes`` bytes long.

    Raises :class:`FileError` if it does not exist, is not a regular file (checked with ``stat`` before
    opening, so a FIFO never blocks), or is longer than ``max_bytes``; ``UnicodeDecodeError`` propagates.
    """
    p = Path(path)
    if str(path) == "":
        raise FileError(f"{what}: the path is empty")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileError(f"{what} not found: {p}") from None
    except OSError as e:
        raise FileError(f"{what} {p} cannot be read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"{what} {p} is not a regular file ({_kind(st.st_mode)})")
    if st.st_size > max_bytes:
        raise FileError(f"{what} {p} is {st.st_size} bytes, more than the limit of {max_bytes} bytes")
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced between stat and open
            raise FileError(f"{what} {p} is not a regular file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileError(f"{what} {p} is more than the limit of {max_bytes} bytes")
    return data.decode("utf-8")


def check_output_path(path: str | os.PathLike[str], what: str = "output", suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as a :class:`Path` if a file may be (re)placed there, else :class:`FileError`.

    The folder must exist (nothing is created silently), the target must not be a symbolic link and,
    if it exists, must be a regular file; with ``suffixes`` (e.g. ``(".png", ".pdf")``) the name must end
    in one of them.  Call it before expensive work, so a bad output path fails before the work is done.
    """
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise FileError(f"{what} path {str(path)!r} does not name a file")
    if suffixes and p.suffix.lower() not in suffixes:
        raise FileError(f"{what} {p} must end in {' or '.join(suffixes)}, not {p.suffix or 'no suffix'!r}")
    parent = p.parent
    if not parent.is_dir():
        raise FileError(f"{what} folder {parent} does not exist")
    if p.is_symlink():
        raise FileError(f"{what} {p} is a symbolic link; refusing to replace it (give the real path)")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    except OSError as e:
        raise FileError(f"{what} {p} cannot be written: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"{what} {p} exists and is not a regular file ({_kind(st.st_mode)}); refusing to replace it")
    return p


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, what: str = "output",
                       make_parents: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace`` (never half written).

    The target is checked with :func:`check_output_path` (regular file or absent, no symlink); with
    ``make_parents`` a missing folder is created first.
    """
    p = Path(path)
    if make_parents and str(p.parent) not in ("", "."):
        p.parent.mkdir(parents=True, exist_ok=True)
    p = check_output_path(p, what)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; an output is an ordinary readable file
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_text(path: str | os.PathLike[str], text: str, what: str = "output",
                      make_parents: bool = True) -> Path:
    """UTF-8 ``text`` written like :func:`atomic_write_bytes` (creates missing folders by default)."""
    return atomic_write_bytes(path, text.encode("utf-8"), what, make_parents)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"
