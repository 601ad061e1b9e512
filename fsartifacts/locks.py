"""Locks between the processes of one machine: an advisory ``flock`` on a small hidden file.

The kernel releases a lock when its process dies, however it dies, so a lock that can
be taken proves that no live process holds it. The last holder removes the file as it
lets go; a lock taken on a file no longer at its path (removed meanwhile by the holder
before) guards nothing, so the file at the path is opened again.

The holder writes its process id into the file, so that a process waiting for the lock
can say who holds it (and whether that process is stopped, Ctrl-Z or SIGSTOP).

Where the filesystem has no locks at all (NFS without its lock service answers every
``flock`` with ENOLCK) the lock is taken as if no one else held it, with a warning: a run
there goes on unguarded against a second run at once rather than not at all.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fsartifacts.localfiles import read_small_file

log = logging.getLogger("fsartifacts")

POLL = 0.05  # seconds between tries of a lock waited for

# What flock answers where the filesystem keeps no locks.
NO_LOCKS = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS})
_warned: set[str] = set()  # the folders already warned about, one warning each


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
        except OSError as exc:
            if exc.errno not in NO_LOCKS:
                os.close(fd)
                raise
            _warn_unguarded(path, exc)
            return fd
        except BaseException:
            os.close(fd)
            raise
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                _write_pid(fd)
                return fd
        os.close(fd)


def _write_pid(fd: int) -> None:
    # Written first, then cut to its length: never a truncation to nothing, after which
    # ext4 (replace-by-truncate) writes the file out at its close, and the release of
    # every lock waited 1-10 ms for the disk (under load, up to 70) for a file it removes.
    pid = f"{os.getpid()}\n".encode()
    with contextlib.suppress(OSError):  # only ever read to name the holder in a message
        os.pwrite(fd, pid, 0)
        os.ftruncate(fd, len(pid))


def holder(path: Path) -> str:
    """Who holds the lock of ``path``, as a message names it: "process 1234 (stopped)"."""
    try:
        # A regular file only, never waited on: a FIFO at the path would hold the read.
        text = read_small_file(path, 32).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    if not text.isdigit():
        return "another process"
    state = ""
    # Linux: the process's state follows "(name) " in its stat line.
    with contextlib.suppress(OSError, IndexError), open(f"/proc/{text}/stat", "rb") as f:
        state = f.read(4096).rsplit(b")", 1)[1].split()[0].decode()
    return f"process {text}" + (" (stopped)" if state in ("T", "t") else "")


def wait_to_take(
    path: Path,
    *,
    bound: float,
    waiting: Callable[[str], None],
    announce_after: float = 2.0,
    stop: threading.Event | None = None,
) -> int | None:
    """:func:`take` the lock of ``path``, waiting for another holder at most ``bound``
    seconds: the descriptor, or None once the bound has passed (or ``stop`` is set).
    ``waiting(holder)`` is called once the wait has lasted ``announce_after`` seconds, so a
    user is told who holds it. The wait sleeps in short steps: Ctrl-C ends it at once."""
    start = time.monotonic()
    announced = False
    while (fd := take(path)) is None:
        waited = time.monotonic() - start
        if waited >= bound or (stop is not None and stop.is_set()):
            return None
        if not announced and waited >= min(announce_after, bound / 2):
            announced = True
            waiting(holder(path))
        time.sleep(POLL)
    return fd


def _warn_unguarded(path: Path, exc: OSError) -> None:
    folder = str(path.parent)
    if folder not in _warned:
        _warned.add(folder)
        log.warning("the filesystem of %s has no file locks (%s; NFS without its lock "
                    "service?): this run is not kept apart from another one at once",
                    folder, exc.strerror)  # fmt: skip


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
