"""Files made durable one by one, on a thread of their own, beside the transfers writing them.

A folder pulled from a remote store is written a file at a time while most of the time
goes to waiting for the store. Made durable at the end with one ``syncfs`` (see
:func:`~fsartifacts.atomic.sync_tree`), the folder waits for the whole filesystem: every
dirty page of every other process on it too, 0.15 s on a quiet machine and seconds
beside a large write. An fsync of one small file just written costs a fraction of a
millisecond: done here, while the transfers wait on the network, the folder is on the
disk by the time its last file is, and only its folders are left to sync.

It never slows the transfers down: a file is handed over by name, and whatever is
still waiting when the pull ends is left to the one ``syncfs`` as before (see
:meth:`FileSyncer.settle`), so a slow disk costs at most what it cost without it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# Files still waiting when the pull ends that are synced rather than given up: at a
# fraction of a millisecond each, a few tens of milliseconds at most.
SETTLE_BACKLOG = 64


class FileSyncer:
    """fsyncs the files handed to :meth:`add`, in order, on a thread started by the first.

    :meth:`settle` (or :meth:`close`) ends it; it ends with the process too (a daemon
    thread), so a pull interrupted part way never waits for it.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._ended = False
        self.synced: set[str] = set()  # the paths on the disk, once settled

    def add(self, path: str | os.PathLike[str]) -> None:
        """Make the complete file ``path`` durable soon (never waited for here)."""
        with self._lock:
            if self._ended:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fsartifacts-sync",
                                                daemon=True)  # fmt: skip
                self._thread.start()
        self._queue.put(os.fspath(path))

    def _run(self) -> None:
        while (path := self._queue.get()) is not None:
            if self._stopping:
                continue  # given up: the caller syncs the whole tree instead
            try:
                fd = os.open(path, _FLAGS)
            except OSError:
                continue  # gone (the pull failed and its folder went): nothing to keep
            try:
                os.fsync(fd)
            except OSError:
                continue  # not synced: the caller's sync of the tree covers it
            finally:
                os.close(fd)
            self.synced.add(path)

    def settle(self, backlog: int = SETTLE_BACKLOG) -> set[str]:
        """End the thread and return the paths made durable: every one handed over when at
        most ``backlog`` were still waiting, else those done by then (the rest is left to
        the caller's sync of the tree, which is quicker than them one by one)."""
        with self._lock:
            self._ended = True
            thread = self._thread
        if thread is None:
            return self.synced
        if self._queue.qsize() > backlog:
            self._stopping = True
        self._queue.put(None)
        thread.join()
        return self.synced

    def close(self) -> None:
        """End it without syncing what waits (the files are of no use any more)."""
        self._stopping = True
        with self._lock:
            self._ended = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            with contextlib.suppress(RuntimeError):
                thread.join()
