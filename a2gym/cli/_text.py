"""Text from a scenario or a record, made safe to print: control characters escaped, then rich markup."""

from __future__ import annotations

from rich.markup import escape as _markup_escape


def printable(text: object) -> str:
    """``text`` with every non-printable character (ESC, NUL, newlines, bidi overrides such as U+202E)
    written as its Python escape (``\\x1b``, ``\\x00``, ``\\u202e``), so it cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def escape(text: object) -> str:
    """:func:`printable`, then rich's markup escape (for ``Console.print`` with markup)."""
    return _markup_escape(printable(text))
