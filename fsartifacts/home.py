"""The user's home folder (and another user's, for ``~user``), where the system knows one.

A container run under a bare uid (no entry in the password database) with ``$HOME``
unset has none: ``~`` then stays ``~``, a folder of that name relative to wherever the
command runs, and ``Path.home()`` raises. ``$HOME`` set but empty, or not an absolute
path, names no folder either: the standard library would make ``~`` the root folder
(``/.cache``, ``/.netrc``) or a folder relative to wherever the command runs. What
lives in the home folder (the hash cache, ``~/.netrc``) is then done without, never
written or read beside the project or at the root.

Every reader of the home folder in the package goes through this module.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path


def user_home(environ: Mapping[str, str] | None = None) -> str | None:
    """The home folder ``~`` names, or None where the system cannot say.

    ``$HOME`` wins when set (as for the shell); when unset, the password database's entry
    for this uid. An empty or relative value (of either) is no home folder."""
    env = os.environ if environ is None else environ
    if "HOME" in env:
        return _absolute(env["HOME"])
    try:
        return _absolute(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        return None


def home_of(user: str) -> str | None:
    """The home folder of ``user`` (``~user``), or None for no such user or no home."""
    try:
        return _absolute(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return None


def expand_home(
    value: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> Path | None:
    """``value`` with a leading ``~`` or ``~user`` made that home folder; None when the
    system knows no such home folder (no such user, or no home for this one)."""
    text = os.fspath(value)
    if not text.startswith("~"):
        return Path(text)
    user, _, rest = text[1:].partition("/")
    home = home_of(user) if user else user_home(environ)
    if home is None:
        return None
    return Path(home, rest)


def no_home(value: str | os.PathLike[str]) -> str:
    """What is wrong with a path :func:`expand_home` could not expand."""
    user = os.fspath(value)[1:].split("/", 1)[0]
    whose = f"the user {user}" if user else "this user ($HOME unset, empty or relative)"
    return f"{os.fspath(value)} starts with ~, but the system knows no home folder of {whose}"


def _absolute(path: str) -> str | None:
    """``path`` without its trailing slashes when it names a folder from the root."""
    if not os.path.isabs(path):
        return None
    return path.rstrip("/") or "/"
