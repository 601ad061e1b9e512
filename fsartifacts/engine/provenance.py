"""Who and where: the user and host that changes on a store are recorded under."""

from __future__ import annotations

import getpass
import socket


def user() -> str:
    """The local user name (from the environment or the password database), or "unknown"."""
    try:
        return _printable(getpass.getuser()) or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"


def host() -> str:
    return _printable(socket.gethostname()) or "unknown"


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:255]
