"""The one bound on transfers in flight: ``jobs`` for the whole run.

Artifacts run ``jobs`` at a time (see :meth:`Engine.run`), and the files of a
folder artifact run ``jobs`` at a time too; both draw on the same slots, so
``-j 8`` means at most 8 files moving at once in total, however artifacts and
their files nest; the further ranges of a large file downloaded in ranges take
spare slots too. A thread that waits for file transfers (an artifact's job)
never holds a slot while it waits: only a transfer itself does, so nesting
cannot deadlock.
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

    def each(self, action: Callable[[T], None], items: Iterable[T]) -> None:
        """``action(item)`` for every item, each holding a slot while it runs.

        Items are taken from ``items`` only as slots free up, so a folder of
        100,000 files never has more than ``jobs`` of them in flight or queued.
        The first failure stops the starting of more; those running are waited
        for (so nothing writes once this returns), then the failure is raised.
        """
        if self.jobs == 1:
            for item in items:
                with self._slots:  # the semaphore itself: no context manager made a file
                    action(item)
            return
        # ``jobs`` threads each take the next item as they finish one: no future, queue
        # or wake-up of this thread per item, which a folder of 20,000 files paid for each.
        work = _Work(self._slots, action, iter(items))
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
        self, slots: threading.BoundedSemaphore, action: Callable[[T], None], items: Iterator[T]
    ) -> None:
        self.slots, self.action, self.items = slots, action, items
        self.taking = threading.Lock()  # a generator cannot be advanced by two threads
        self.failures: list[BaseException] = []
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def run(self) -> None:
        while not self.stopped:
            with self.slots:  # held from taking an item to its end: never more in flight
                if self.stopped:
                    return
                try:
                    with self.taking:
                        try:
                            item = next(self.items)
                        except StopIteration:
                            return
                    self.action(item)
                except BaseException as exc:
                    self.failures.append(exc)
                    self.stopped = True


class _Files:
    def __init__(self, transfers: Transfers, tally: Tally) -> None:
        self.transfers = transfers
        self.tally = tally

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None:
        tally = self.tally

        def one(item: T) -> None:
            _counted(tally, action, item)  # no closure made a file

        self.transfers.each(one, items)


def _counted(tally: Tally, action: Callable[..., None], *args: object) -> None:
    """``action(*args, callback)`` with a callback of its own on ``tally``: a file done
    once it returns, its bytes taken back from the bar if it fails."""
    share = tally.share()
    try:
        action(*args, share)
    except BaseException:
        tally.undo(share)
        raise
    tally.file_done(share)
