"""Reading the small local files fsartifacts keeps: config, lock file, hash cache, VERSION.

Only regular files are read, and only up to a bound. A FIFO would block the
open or the read forever and ``/dev/zero`` would never end, so anything that
is not a regular file is refused before a byte is read, and a file above the
bound is refused rather than loaded. The file is opened non-blocking, so that
even opening a FIFO with no writer returns at once.
"""

from __future__ import annotations

import errno
import os
import stat

KiB = 1024
MiB = 1024 * KiB

CONFIG_LIMIT = 1 * MiB  # fsartifacts.yaml, skelebot.yaml, their overlays, pyproject.toml
LOCK_LIMIT = 16 * MiB
CACHE_LIMIT = 256 * MiB  # the hash cache: one entry per local file ever hashed
VERSION_LIMIT = 64 * KiB  # the VERSION file


class UnreadableFile(OSError):
    """A local file fsartifacts will not read: not a regular file, or above its bound.

    ``strerror`` says which, in words a user can act on.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(errno.EINVAL, problem, os.fspath(path))


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, for messages: "a directory", "a FIFO (named pipe)", ..."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def not_regular_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` (which exists) is not a readable regular file, or None when it is one."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return f"is {file_kind(mode)}, not a regular file"


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing anything else or more than ``limit``.

    Raises :class:`UnreadableFile` (an OSError) for a FIFO, a device, a directory or
    a file above ``limit``, and the OSError of the system for a missing file.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFile(path, f"is {file_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, min(MiB, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(path, f"is larger than {_bound(limit)}, too large to be read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_small_text(path: str | os.PathLike[str], limit: int) -> str:
    """:func:`read_small_file` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_small_file(path, limit).decode("utf-8")


def _bound(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit // KiB} KiB"
