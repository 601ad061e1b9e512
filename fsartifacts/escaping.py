"""Text from the store, escaped before it reaches a terminal.

Names, paths and checksums read from a store are data anyone with write
access to it chose. Printed raw, ``\\x1b]0;...\\x07`` retitles the terminal and
other sequences move the cursor, recolour or hide lines. Every text line the
CLI prints (results, listings, errors, log records) goes through
:func:`printable`; JSON output is escaped by ``json.dumps`` already.
"""

from __future__ import annotations

import logging
import re

from fsartifacts.redaction import redact_urls

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
# Control characters, and the bidirectional overrides that reorder what a terminal shows.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a C0 or C1 control character (newline, escape, NUL, ...)."""
    return _CONTROL.search(text) is not None


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``).

    ``lines=True`` keeps the newlines between the lines of a block the CLI
    composed itself (a listing), escaping everything else.
    """
    if lines:
        return "\n".join(_UNPRINTABLE.sub(_escape, line) for line in text.split("\n"))
    return _UNPRINTABLE.sub(_escape, text)


class PrintableFormatter(logging.Formatter):
    """The CLI's log formatter: each record's message escaped, and any password inside a
    URL in it hidden, as in error messages. A traceback (``-v -v``) keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(redact_urls(super().formatMessage(record)))
