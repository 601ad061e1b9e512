"""A large local file copied by the kernel, read back behind the copy, written back as it goes.

``copy_file_range`` moves the bytes inside the kernel while a thread of
:func:`kernel_copy` reads each copied block back from the page cache for the
caller's hashing (so the hashing overlaps the copy instead of following it)
and hands the destination's blocks to the disk as they are copied (starting
their write-back, never waiting for it), so the fsync that makes the file durable
finds little left to write.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
import threading
from collections.abc import Callable
from typing import Protocol

# The kernel copies this much at a time.
KERNEL_STEP = 8 * 1024 * 1024
# The thread reads the copy back in blocks of this size: with the blocks queued for the
# digests' threads, the memory a copy holds stays a few of them.
READ_BACK = 1024 * 1024
# The destination is written back to disk every this many copied bytes.
WRITEBACK_STEP = 32 * 1024 * 1024


class Progress(Protocol):
    """What is told of the bytes as they are copied (an fsspec Callback)."""

    def relative_update(self, inc: int = 1) -> None: ...


def file_descriptor(out: object) -> int | None:
    """The file descriptor behind ``out``, or None (a stream in memory, a wrapper)."""
    fileno = getattr(out, "fileno", None)
    try:
        return int(fileno()) if fileno is not None else None
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None


def kernel_copies() -> bool:
    """Whether this system has ``copy_file_range`` (Linux)."""
    return hasattr(os, "copy_file_range")


def kernel_copy(
    src: int,
    dst: int,
    size: int,
    *,
    src_at: int,
    dst_at: int,
    feed: Callable[[bytes], None] | None = None,
    progress: Progress | None = None,
) -> int:
    """Copy up to ``size`` bytes from the descriptor ``src`` at ``src_at`` to ``dst`` at
    ``dst_at``, inside the kernel (neither descriptor's offset moves); the bytes copied,
    fewer than ``size`` where the kernel cannot copy between these two files (the
    caller goes on by other means from there) or ``src`` ends first.

    ``feed`` is given every copied byte, in order, read back from ``src`` by a thread
    behind the copy; it has had all of them when this returns.
    """
    behind = _Behind(src, dst, src_at, dst_at, feed)
    copied = 0
    try:
        while copied < size:
            try:
                step = os.copy_file_range(
                    src, dst, min(KERNEL_STEP, size - copied), src_at + copied, dst_at + copied
                )
            except OSError:
                break  # not between these files (or their filesystems): the caller goes on
            if step == 0:
                break
            copied += step
            behind.advance(step)
            if progress is not None:
                progress.relative_update(step)
    finally:
        behind.finish()
    return copied


class _Behind:
    """The thread that reads the copied blocks back for ``feed`` and writes ``dst`` back."""

    def __init__(
        self, src: int, dst: int, start: int, dst_start: int, feed: Callable[[bytes], None] | None
    ) -> None:
        self.src, self.dst, self.start, self.feed = src, dst, start, feed
        self.dst_start = dst_start
        self.copied = 0
        self.done = False
        self.failure: BaseException | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="fsartifacts-copy", daemon=True)
        self.thread.start()

    def advance(self, step: int) -> None:
        with self.changed:
            self.copied += step
            self.changed.notify()

    def finish(self) -> None:
        with self.changed:
            self.done = True
            self.changed.notify()
        self.thread.join()
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        fed = written_back = 0
        try:
            while True:
                with self.changed:
                    while self.copied == fed and not self.done:
                        self.changed.wait()
                    copied, done = self.copied, self.done
                fed = self._feed(fed, copied)
                if copied - written_back >= WRITEBACK_STEP:
                    _write_back(self.dst, self.dst_start + written_back, copied - written_back)
                    written_back = copied
                if done and fed == copied:
                    return
        except BaseException as exc:  # raised in the copying thread by finish()
            self.failure = exc

    def _feed(self, fed: int, copied: int) -> int:
        if self.feed is None:
            return copied
        while fed < copied:
            block = os.pread(self.src, min(READ_BACK, copied - fed), self.start + fed)
            if not block:  # cut short since it was copied: what was copied is unknown
                raise OSError(errno.EIO, "the file was truncated while it was being copied")
            self.feed(block)
            fed += len(block)
        return fed


def _write_back(fd: int, start: int, length: int) -> None:
    """Start the disk on the ``length`` bytes written at ``start``, without waiting for it;
    the final fsync still decides. Not an ``fdatasync``: on ext4 without a journal an
    fsync holds the file's lock until the disk is done, and the copy into the file
    stops for it (about a fifth of a 1 GiB copy's time, measured here)."""
    start_write = _sync_file_range()
    with contextlib.suppress(OSError):  # one that cannot be synced is reported by that fsync
        if start_write is None:
            os.fdatasync(fd)
        elif start_write(fd, start, length, _SYNC_FILE_RANGE_WRITE) != 0:
            os.fdatasync(fd)  # refused (a filesystem without it): the waiting way


# sync_file_range(2)'s flag that starts the write-back of the range's dirty pages.
_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's ``sync_file_range`` from the C library, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only here: most commands never copy a large local file

    call = getattr(ctypes.CDLL(None, use_errno=True), "sync_file_range", None)
    if call is None:
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call
