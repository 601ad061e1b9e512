"""The one bound on transfers in flight: ``jobs`` for the whole run.

Artifacts run ``jobs`` at a time (see :meth:`Engine.run`), and the files of a
folder artifact run ``jobs`` at a time too; both draw on the same slots, so
``-j 8`` means at most 8 files moving at once in total, however artifacts and
their files nest; the further ranges of a large file downloaded in ranges take
spare slots too. A thread that waits for file transfers (an artifact's job)
never holds a slot while it waits: only a transfer itself does, so nesting
cannot deadlock.

The first file of a folder that fails for good (its tries spent) fails the folder, so
the files in flight beside it are of no use any more: each is stopped at its next block
(:class:`Stopped`, raised by the callback every store's transfer reports its blocks
to), and the folder's failure is raised once they have ended.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from fsspec.callbacks import Callback

from fsartifacts.progressbars import Tally
from fsartifacts.stores.filerunner import FileRunner

T = TypeVar("T")


class Stopped(Exception):
    """A transfer stopped between two blocks: the run it belongs to failed (another file
    of its folder failed for good) or was interrupted. Not a failure of its own, and not
    worth another try."""


class StopsBetweenBlocks(Callback):
    """The callback of one file's transfer, which forwards to ``inner`` (its progress) and
    raises :class:`Stopped` at the next block once ``stop`` is set. Every store reports
    each block it moves (``relative_update``); the start over of a retried transfer
    (``absolute_update``) and its size are never refused, so a transfer's cleanup that
    resets its progress does not raise."""

    def __init__(self, inner: Callback, stop: threading.Event) -> None:
        super().__init__()
        self.inner, self.stop = inner, stop

    def set_size(self, size: int | None) -> None:
        self.inner.set_size(size)

    def absolute_update(self, value: int) -> None:
        self.inner.absolute_update(value)

    def relative_update(self, inc: int = 1) -> None:
        if self.stop.is_set():
            raise Stopped("stopped: the transfers it ran beside have failed")
        self.inner.relative_update(inc)


class Transfers:
    """At most ``jobs`` transfers in flight at once, shared by every artifact of a run."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._slots = threading.BoundedSemaphore(self.jobs)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the run's slots for the block: around one file's transfer."""
        with self._slots:
            yield

    def spare_slot(self, timeout: float) -> bool:
        """Take one more slot if one is free within ``timeout`` seconds; True once taken
        (give it back with :meth:`release_spare`). For the further ranges of a file whose
        transfer already holds a slot: the file goes on in that one whatever happens, so
        waiting here for more cannot deadlock, and ``jobs`` still bounds every range."""
        return self._slots.acquire(timeout=timeout)

    def release_spare(self) -> None:
        self._slots.release()

    def files(self, tally: Tally) -> FileRunner:
        """A runner for the files of the artifact whose progress is ``tally``."""
        return _Files(self, tally)

    def one(self, tally: Tally, action: Callable[[Callback], None]) -> None:
        """One file's transfer, holding a slot, reporting to ``tally``."""
        with self.slot():
            _counted(tally, action)

    def copied(self, tally: Tally, copy: Callable[[], bool], size: int) -> bool:
        """A copy made in place of a transfer (on the store, or of a local file), holding a
        slot: True once made, and then on ``tally`` as the ``size`` bytes it spared moving,
        as the transfer would have been; False (nothing counted) when it could not be."""
        with self.slot():
            if not copy():
                return False
        share = tally.share()
        share.relative_update(size)
        tally.file_done(share)
        return True

    def each(
        self,
        action: Callable[[T], None],
        items: Iterable[T],
        stop: threading.Event | None = None,
    ) -> None:
        """``action(item)`` for every item, each holding a slot while it runs.

        Items are taken from ``items`` only as slots free up, so a folder of
        100,000 files never has more than ``jobs`` of them in flight or queued.
        The first failure stops the starting of more and sets ``stop`` (which the
        actions running watch, to end early); those running are waited for (so
        nothing writes once this returns), then the failure is raised.
        """
        if self.jobs == 1:
            for item in items:
                with self._slots:  # the semaphore itself: no context manager made a file
                    action(item)
            return
        # ``jobs`` threads each take the next item as they finish one: no future, queue
        # or wake-up of this thread per item, which a folder of 20,000 files paid for each.
        work = _Work(self._slots, action, iter(items), stop or threading.Event())
        workers = [
            threading.Thread(target=work.run, name=f"fsartifacts-file-{n}")
            for n in range(self.jobs)
        ]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except BaseException:
            # An interrupt: start nothing more, and do not wait for what runs.
            work.stop()
            raise
        if work.failures:
            raise work.failures[0]


class _Work(Generic[T]):
    """The items of one :meth:`Transfers.each`, taken one at a time by its threads."""

    def __init__(
        self,
        slots: threading.BoundedSemaphore,
        action: Callable[[T], None],
        items: Iterator[T],
        stopped: threading.Event,
    ) -> None:
        self.slots, self.action, self.items = slots, action, items
        self.taking = threading.Lock()  # a generator cannot be advanced by two threads
        self.failures: list[BaseException] = []
        self.stopped = stopped

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            with self.slots:  # held from taking an item to its end: never more in flight
                if self.stopped.is_set():
                    return
                try:
                    with self.taking:
                        try:
                            item = next(self.items)
                        except StopIteration:
                            return
                    self.action(item)
                except BaseException as exc:
                    # Recorded before the others are told to stop: what they raise once
                    # stopped comes after it, and the first failure is the one raised.
                    self.failures.append(exc)
                    self.stopped.set()


class _Files:
    def __init__(self, transfers: Transfers, tally: Tally) -> None:
        self.transfers = transfers
        self.tally = tally

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None:
        tally, stop = self.tally, threading.Event()
        # Without a bar every file shares one silent callback: one stopping wrapper for all.
        silent = None if tally.shown else StopsBetweenBlocks(tally.share(), stop)

        def one(item: T) -> None:
            _counted(tally, action, item, stop=stop, silent=silent)  # no closure made a file

        self.transfers.each(one, items, stop)


def _counted(
    tally: Tally,
    action: Callable[..., None],
    *args: object,
    stop: threading.Event | None = None,
    silent: Callback | None = None,
) -> None:
    """``action(*args, callback)`` with a callback of its own on ``tally`` (stopping at
    the next block once ``stop`` is set): a file done once it returns, its bytes taken
    back from the bar if it fails."""
    share = tally.share()
    callback: Callback = share
    if stop is not None:
        callback = silent or StopsBetweenBlocks(share, stop)
    try:
        action(*args, callback)
    except BaseException:
        tally.undo(share)
        raise
    tally.file_done(share)
