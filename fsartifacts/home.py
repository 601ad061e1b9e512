"""The user's home folder (and another user's, for ``~user``), where the system knows one.

A container run under a bare uid (no entry in the password database) with ``$HOME``
unset has none: ``~`` then stays ``~``, a folder of that name relative to wherever the
command runs, and ``Path.home()`` raises. What lives in the home folder (the hash cache,
``~/.netrc``) is then done without, never written or read beside the project.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_home() -> str | None:
    """The home folder ``~`` names, or None where the system cannot say."""
    home = os.path.expanduser("~")
    return None if home.startswith("~") else home


def expand_home(value: str | os.PathLike[str]) -> Path | None:
    """``value`` with a leading ``~`` or ``~user`` made that home folder; None when the
    system knows no such home folder (no such user, or no home for this one)."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        return None


def no_home(value: str | os.PathLike[str]) -> str:
    """What is wrong with a path :func:`expand_home` could not expand."""
    user = os.fspath(value)[1:].split("/", 1)[0]
    whose = f"the user {user}" if user else "this user"
    return f"{os.fspath(value)} starts with ~, but the system knows no home folder of {whose}"
