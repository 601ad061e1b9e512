"""The user's home folder, where the system knows one.

A container run under a bare uid (no entry in the password database) with ``$HOME``
unset has none: ``~`` then stays ``~``, a folder of that name relative to wherever the
command runs, and ``Path.home()`` raises. What lives in the home folder (the hash cache,
``~/.netrc``) is then done without, never written or read beside the project.
"""

from __future__ import annotations

import os


def user_home() -> str | None:
    """The home folder ``~`` names, or None where the system cannot say."""
    home = os.path.expanduser("~")
    return None if home.startswith("~") else home
