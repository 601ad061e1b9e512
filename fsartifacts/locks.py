"""Locks between the processes of one machine: an advisory ``flock`` on a small hidden file.

The kernel releases a lock when its process dies, however it dies, so a lock that can
be taken proves that no live process holds it. The last holder removes the file as it
lets go; a lock taken on a file no longer at its path (removed meanwhile by the holder
before) guards nothing, so the file at the path is opened again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def take(path: Path, *, wait: bool = False) -> int | None:
    """The descriptor holding the lock of ``path`` (created if need be); when another
    process holds it, None at once, or with ``wait`` once it lets go."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)


def release(path: Path, fd: int) -> None:
    """Let go of the lock :func:`take` gave, removing its file."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


@contextlib.contextmanager
def held(path: Path) -> Iterator[bool]:
    """Hold the lock of ``path`` for the block: True, or False (nothing held) when another
    process holds it."""
    fd = take(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            release(path, fd)
