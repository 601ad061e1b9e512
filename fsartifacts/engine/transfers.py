"""The one bound on transfers in flight: ``jobs`` for the whole run.

Artifacts run ``jobs`` at a time (see :meth:`Engine.run`), and the files of a
folder artifact run ``jobs`` at a time too; both draw on the same slots, so
``-j 8`` means at most 8 files moving at once in total, however artifacts and
their files nest; the further ranges of a large file downloaded in ranges take
spare slots too, and so does each worker process a folder store copies small files in
beside a folder's pull (:meth:`Transfers.slots_beside`): ``-j 1`` starts none.
A thread that waits for file transfers (an artifact's job) never holds a slot while
it waits: only a transfer itself does, so nesting cannot deadlock.

On a store on this machine (the folder store) a small file's transfer is a few
syscalls in the page cache with Python around each, so threads buy no overlap for it:
they only take the interpreter's lock from one another at every syscall (2.4 million
futex calls on a pull of 20,000 files of 1 KiB with 8 threads). There the small files
of a folder run one after another on the artifact's own thread, and only its large
files (whose copies and hashing run outside the interpreter's lock) on the other
``jobs - 1`` threads beside it: :meth:`Transfers.files` with ``size_of``.

The first file of a folder that fails for good (its tries spent) fails the folder: the
others in flight are stopped (:mod:`fsartifacts.engine.folderstop`), and those of a pull
from a remote store waited for only a short grace (:meth:`Transfers.each` with ``leave``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from fsspec.callbacks import Callback

from fsartifacts.engine.folderstop import Stop, StopsBetweenBlocks
from fsartifacts.inflight import leave_stopped
from fsartifacts.progressbars import Tally
from fsartifacts.sizes import MiB
from fsartifacts.stores.filerunner import FileRunner

T = TypeVar("T")

# A file below this size on a store on this machine is copied by the artifact's thread.
LOCAL_SMALL = 1 * MiB


class SlotsBeside:
    """Slots of the run held beside its transfers (:meth:`Transfers.slots_beside`), at most
    ``limit`` of them: ``jobs - 1``, so that whatever waits for the transfers beside them
    (the files of the folder they copy for) always has a slot to run in."""

    def __init__(self, slots: threading.BoundedSemaphore, limit: int) -> None:
        self._slots = slots
        self._limit = limit
        self.held = 0

    def take(self, wanted: int) -> int:
        """Up to ``wanted`` more slots, those free now: how many were taken."""
        taken = 0
        while taken < wanted and self.held < self._limit and self._slots.acquire(blocking=False):
            taken += 1
            self.held += 1
        return taken

    def give_back(self) -> None:
        for _ in range(self.held):
            self._slots.release()
        self.held = 0


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

    @contextlib.contextmanager
    def slots_beside(self) -> Iterator[SlotsBeside]:
        """Slots for work beside the run's transfers (a store's worker processes, each a
        transfer in flight for as long as it runs): each taken only if free, none waited
        for, given back when the block ends."""
        beside = SlotsBeside(self._slots, self.jobs - 1)
        try:
            yield beside
        finally:
            beside.give_back()

    def files(
        self, tally: Tally, size_of: Callable[[T], int] | None = None, *, leave: bool = False
    ) -> FileRunner:
        """A runner for the files of the artifact whose progress is ``tally``. ``size_of``
        (given for a store on this machine): the files it sizes below :data:`LOCAL_SMALL`
        run on the calling thread, one after another, the others beside them. ``leave``:
        once stopped, the files still in flight may be left (see :meth:`each`)."""
        return _Files(self, tally, size_of, leave)

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
        stop: Stop | None = None,
        small: Callable[[T], bool] | None = None,
        leave: bool = False,
    ) -> None:
        """``action(item)`` for every item, each holding a slot while it runs.

        Items are taken from ``items`` only as slots free up, so a folder of
        100,000 files never has more than ``jobs`` of them in flight or queued.
        The first failure stops the starting of more and sets ``stop`` (which the
        actions running watch, to end early); those running are waited for (so
        nothing writes once this returns), then the failure is raised.

        With ``leave`` (the files of a folder pulled from a remote store), those still
        running are waited for only :data:`~fsartifacts.inflight.STOP_GRACE`: one whose
        request waits for the server's first answer would hold the failure until its
        timeout. Those left write only within ``stop.in_flight.writing``, settled before
        the failure is raised, and hold their slots until their requests end. A folder's
        uploads are waited for: one left would land in the version after its push has
        dropped the claim, where the next push of that version could publish it among its
        own files. So are the lanes of a store on this machine (``small``, the items this
        thread runs itself, see :class:`_Lanes`): their reads do not wait on a server.
        """
        stop = stop or Stop()
        if small is not None and self.jobs > 1:
            _Lanes(self._slots, action, stop, self.jobs - 1).run(items, small)
            return
        if self.jobs == 1:
            for item in items:
                with self._slots:  # the semaphore itself: no context manager made a file
                    action(item)
            return
        # ``jobs`` threads each take the next item as they finish one: no future, queue
        # or wake-up of this thread per item, which a folder of 20,000 files paid for each.
        work = _Work(self._slots, action, iter(items), stop, self.jobs)
        # Daemons: a thread left once stopped does not hold the process's exit.
        workers = [
            threading.Thread(target=work.run, name=f"fsartifacts-file-{n}", daemon=True)
            for n in range(self.jobs)
        ]
        for worker in workers:
            worker.start()
        try:
            if leave:
                work.wait_ended_or_stopped()
            if stop.is_set() and leave:
                leave_stopped(workers, stop.in_flight)
            else:
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
        threads: int,
    ) -> None:
        self.slots, self.action, self.items = slots, action, items
        self.taking = threading.Lock()  # a generator cannot be advanced by two threads
        self.failures: list[BaseException] = []
        self.stopped = stopped
        self.changed = threading.Condition()  # a thread ended, or the stop was set
        self.running = threads

    def stop(self) -> None:
        self.stopped.set()
        with self.changed:
            self.changed.notify_all()

    def wait_ended_or_stopped(self) -> None:
        """Until every thread has ended, or the first failure has set the stop."""
        with self.changed:
            self.changed.wait_for(lambda: not self.running or self.stopped.is_set())

    def run(self) -> None:
        try:
            self._take_and_run()
        finally:
            with self.changed:
                self.running -= 1
                self.changed.notify_all()

    def _take_and_run(self) -> None:
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
                    self.stop()


class _Lanes(Generic[T]):
    """The items of one :meth:`Transfers.each` in two lanes: the small ones run by the
    calling thread, one after another, each holding a slot; the others handed to up to
    ``threads`` threads (started when the first comes) through a queue of ``threads``
    places, each holding a slot while it runs. The first failure stops both lanes."""

    def __init__(
        self,
        slots: threading.BoundedSemaphore,
        action: Callable[[T], None],
        stopped: threading.Event,
        threads: int,
    ) -> None:
        self.slots, self.action, self.stopped, self.threads = slots, action, stopped, threads
        self.failures: list[BaseException] = []
        self.queue: queue.Queue[T] = queue.Queue(threads)
        self.workers: list[threading.Thread] = []
        self.ended = threading.Event()  # no more items will be queued

    def run(self, items: Iterable[T], small: Callable[[T], bool]) -> None:
        try:
            for item in items:
                if self.stopped.is_set():
                    break
                if small(item):
                    with self.slots:
                        self._do(item)
                else:
                    self._hand_over(item)
        except BaseException:
            # An interrupt: start nothing more, and do not wait for what runs.
            self.stopped.set()
            raise
        finally:
            self.ended.set()
        for worker in self.workers:
            worker.join()
        if self.failures:
            raise self.failures[0]

    def _do(self, item: T) -> None:
        try:
            self.action(item)
        except BaseException as exc:
            # Recorded before the others are told to stop (see _Work.run).
            self.failures.append(exc)
            self.stopped.set()

    def _hand_over(self, item: T) -> None:
        if len(self.workers) < self.threads and not self.queue.empty():
            self._start_worker()
        if not self.workers:
            self._start_worker()
        while not self.stopped.is_set():
            with contextlib.suppress(queue.Full):
                self.queue.put(item, timeout=0.1)
                return

    def _start_worker(self) -> None:
        worker = threading.Thread(target=self._work, name=f"fsartifacts-file-{len(self.workers)}")
        self.workers.append(worker)
        worker.start()

    def _work(self) -> None:
        while not self.stopped.is_set():
            try:
                item = self.queue.get(timeout=0.1)
            except queue.Empty:
                if self.ended.is_set():
                    return
                continue
            with self.slots:
                if not self.stopped.is_set():
                    self._do(item)


class _Files:
    def __init__(
        self,
        transfers: Transfers,
        tally: Tally,
        size_of: Callable[[Any], int] | None = None,
        leave: bool = False,
    ) -> None:
        self.transfers = transfers
        self.tally = tally
        self.size_of = size_of
        self.leave = leave

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None:
        tally, stop = self.tally, Stop()
        # Without a bar every file shares one silent callback: one stopping wrapper for all.
        silent = None if tally.shown else StopsBetweenBlocks(tally.share(), stop)

        def one(item: T) -> None:
            _counted(tally, action, item, stop=stop, silent=silent)  # no closure made a file

        size_of = self.size_of
        small = None if size_of is None else (lambda item: size_of(item) < LOCAL_SMALL)
        self.transfers.each(one, items, stop, small, self.leave)

    @contextlib.contextmanager
    def beside(self) -> Iterator[SlotsBeside]:
        # The caller's own copies are a transfer in flight: a slot, waited for as one is;
        # the workers' places beside it only if free, so -j 1 starts none.
        with self.transfers.slot(), self.transfers.slots_beside() as slots:
            yield slots

    def moved(self, files: int, size: int) -> None:
        self.tally.files_moved(files, size)


def _counted(
    tally: Tally,
    action: Callable[..., None],
    *args: object,
    stop: Stop | None = None,
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
