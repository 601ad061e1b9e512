"""A large file downloaded as several ranges at once, written in place, hashed in order.

The file is cut into ranges of ``transfer.range_size``; up to ``transfer.ranges`` of
them are in flight at once, each one ranged GET pinned to the object's revision
(:meth:`~fsartifacts.stores.base.StoreOps.read_range`), written where it belongs in the
staged file through a file handle of its own (``os.pwrite``). The first range runs in
the slot the file's transfer holds; each further one takes a spare slot of the run, so
``-j`` still bounds the requests in flight (a stopped download's, below, aside).

The file is hashed in order as the run of written bytes from its start grows
(:class:`InOrder`): a block written just where the digest has got to is hashed on its
way to the disk, by its writer, when the digests can take it at once (a writer never
waits for them); bytes written ahead of it (by the other ranges, or while the digests
were busy), and those an earlier attempt wrote, are read back from the staged file by
the calling thread once the bytes before them are in, so what a journal claims is never
taken on trust. The file's digests are ready when its last range lands, without a second read
at the end. Memory stays at about one block per range in flight.

What arrived is kept as byte intervals
(:class:`~fsartifacts.engine.intervals.Received`): an attempt that fails keeps
them, so the next attempt (a retry, or a later run through the journal of
:mod:`fsartifacts.engine.partial`) asks only for the rest.

The first failure of a range (or an interrupt of the calling thread) stops the others
at once: each writer checks the stop before each block (and raises
:class:`~fsartifacts.inflight.Stopped`, as any transfer told to stop does), and
the responses in flight are closed (:class:`~fsartifacts.inflight.InFlight`), so a read
blocked on a stalled server returns too. The stop of the folder a file belongs to (another
of its files failed for good) stops its ranges the same way. A download that completes
returns once every writer has ended and closed its handle of the staged file.

A stopped download waits for its writers only a short grace
(:data:`~fsartifacts.inflight.STOP_GRACE`): a request still waiting for the server's first
answer has no response yet to close under it, and would hold the failure (or Ctrl-C)
back until the transfer's timeout. A writer left so writes nothing more, ever: each block
is written within the run's :meth:`~fsartifacts.inflight.InFlight.writing`, which the stop
and its settle exclude (:func:`~fsartifacts.inflight.leave_stopped`), so once the download
has returned, nothing of it reaches the staged file, its intervals, its digests or the
progress, whichever attempt or later pull uses that file next (it only keeps its handle
open until its request ends). It keeps the
spare slot of the run it took, if any, until then too, so ``-j`` still counts its request
in flight; a retry of the file is not held back by it, as its first range runs in the
slot the file's transfer holds, as every first range does, and its further ranges take
spare slots as they come free. The one request ``-j`` does not count so is a left first
range's, which has no slot of its own: it runs beside the file's next try, or the next
transfer, until its answer or its timeout, since waiting for it is the very wait this
spares.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from fsspec.callbacks import Callback

from fsartifacts.engine.folderstop import in_flight_of
from fsartifacts.engine.install import local_writes
from fsartifacts.engine.intervals import Interval, Received, missing, split
from fsartifacts.engine.transfers import Transfers
from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import CHUNK, Digests
from fsartifacts.inflight import InFlight, Stopped, leave_stopped
from fsartifacts.stores.base import StoreOps

SLOT_WAIT = 0.2  # seconds between looks for a spare slot or for more bytes to hash


@dataclass(frozen=True)
class RangedJob:
    """One file to download in ranges into ``path`` (the staged file, already ``size``
    bytes long), pinned to ``revision``."""

    ops: StoreOps
    rpath: str
    path: str
    size: int
    revision: str | None
    ranges: int  # in flight at most
    range_size: int
    algorithms: tuple[str, ...]
    what: str  # the copy's URL, for messages


class InOrder:
    """The file's digests, fed each byte once, in order, from whichever comes first: the
    writer of the block that starts where they have got to (:meth:`offer`), or the
    staged file read back (:meth:`read_back`).

    A writer never waits for the digests: a block they cannot take at once (still busy
    with earlier bytes) is left on the disk, to be read back. Held back to the pace of
    the hash, the writer at the front of the file let the other ranges run ahead of it,
    and the hash then started late on most of the file, alone, after the last range.
    """

    def __init__(self, digests: Digests, stop: threading.Event) -> None:
        self.digests, self.stop = digests, stop
        self.at = 0  # bytes hashed, from the start of the file
        self.lock = threading.Lock()  # held by a feeder only while it feeds without waiting

    def offer(self, start: int, data: bytes) -> None:
        """Bytes written at ``start``: hashed now when the digests have got just there and
        can take them without waiting."""
        with self.lock:
            if start == self.at and not self.stop.is_set() and self.digests.offer(data):
                self.at += len(data)

    def read_back(self, fd: int, ready: int, what: str) -> None:
        """Hash the staged file from where the digests are up to ``ready`` (written)."""
        while True:
            self.digests.wait_for_room()  # outside the lock: an offer meanwhile never waits
            with self.lock:
                if self.at >= ready:
                    return
                data = os.pread(fd, min(CHUNK, ready - self.at), self.at)
                if not data:
                    raise IntegrityError(f"{what}: the staged file was cut short")
                if self.digests.offer(data):  # else a writer's offer took the room first
                    self.at += len(data)


class _Journal:
    """Journals the progress on a thread of its own, as ranges complete: the journal's
    write begins with an fsync of the staged file (the bytes it claims must be on the
    disk first), which takes as long as the disk needs for every byte written since the
    last one. The writers go on meanwhile instead of waiting for it (and for one another
    behind it); ranges that complete during a write share the next one. Writing back
    as the ranges arrive, rather than all at the end, also leaves the final fsync little
    to do."""

    def __init__(self, run: _Run, recorded: Callable[[], None]) -> None:
        self.run, self.recorded = run, recorded
        self.due = self.done = False
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name="fsartifacts-journal", daemon=True)

    def note(self) -> None:
        """A range completed: journal it (soon, without waiting)."""
        with self.changed:
            self.due = True
            self.changed.notify()

    def _loop(self) -> None:
        try:
            while True:
                with self.changed:
                    self.changed.wait_for(lambda: self.due or self.done)
                    if not self.due:
                        return
                    self.due = False
                self.recorded()
        except BaseException as exc:  # a journal that cannot be written fails the download
            self.run.fail(exc)

    def finish(self) -> None:
        """Write what is still due, and end the thread."""
        with self.changed:
            self.done = True
            self.changed.notify()
        if self.thread.ident is not None:
            self.thread.join()


class _Run:
    def __init__(
        self,
        job: RangedJob,
        received: Received,
        transfers: Transfers,
        callback: Callback,
        recorded: Callable[[], None],
        folder: InFlight,
    ) -> None:
        self.job = job
        self.received = received
        self.transfers = transfers
        self.journal = _Journal(self, recorded)
        self.todo = split(missing(received.snapshot(), job.size), job.range_size)
        self.todo.reverse()  # popped from the end: the file's start first
        self.failures: list[BaseException] = []
        self.stop = threading.Event()
        self.hashed = InOrder(Digests(job.algorithms), self.stop)
        self.in_flight = InFlight()
        # The stop of the folder the file belongs to (closed once another of its files
        # failed for good). It reaches the runs of its files one after another: a slot
        # that a run already stopped gives back meanwhile must not start a range of one
        # not told yet, so a range is taken only while it is open too.
        self.folder = folder
        self._lock = threading.Lock()
        self._callback = callback
        self.running = 0

    def stopped(self) -> bool:
        return self.stop.is_set() or self.folder.closed

    def take(self) -> Interval | None:
        with self._lock:
            return self.todo.pop() if self.todo and not self.stopped() else None

    def progress(self, n: int) -> None:
        with self._lock:
            self._callback.relative_update(n)

    def fail(self, exc: BaseException) -> None:
        """Stop every writer for ``exc``; only the first failure counts (what the others
        raise once stopped, their responses closed under them, follows from it)."""
        with self.received.changed:
            if not isinstance(exc, Stopped) and not self.stop.is_set():
                self.failures.append(exc)
            self.stop.set()
            self.received.changed.notify_all()
        self.in_flight.close_all()

    def worker(self, spare: bool) -> None:
        try:
            if spare:
                while not self.transfers.spare_slot(SLOT_WAIT):
                    with self._lock:
                        if not self.todo or self.stopped():
                            return
            try:
                fd = os.open(self.job.path, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    while (span := self.take()) is not None:
                        self.fetch(fd, *span)
                        self.journal.note()
                finally:
                    os.close(fd)
            finally:
                if spare:
                    self.transfers.release_spare()
        except BaseException as exc:  # handed to the hashing thread, which raises it
            self.fail(exc)
        finally:
            with self.received.changed:
                self.running -= 1
                self.received.changed.notify_all()

    def fetch(self, fd: int, start: int, end: int) -> None:
        writer = _RangeWriter(self, fd, start, end)
        self.job.ops.read_range(self.job.rpath, start, end, writer, revision=self.job.revision,
                                in_flight=self.in_flight)  # fmt: skip
        if writer.at != end:
            raise IntegrityError(
                f"{self.job.what}: the range of bytes {start}-{end - 1} ended after "
                f"{writer.at - start} of its {end - start} bytes: the transfer was cut short"
            )


class _RangeWriter:
    """Where one range's bytes go: its place in the staged file, and nowhere past it."""

    def __init__(self, run: _Run, fd: int, start: int, end: int) -> None:
        self.run, self.fd, self.at, self.end = run, fd, start, end

    def write(self, data: bytes) -> int:
        run = self.run
        if self.at + len(data) > self.end:
            raise IntegrityError(
                f"{run.job.what}: the store sent more than the bytes "
                f"{self.at}-{self.end - 1} asked for; the download was stopped",
                transient=False,
            )
        # Refused once the run is stopped; a stop's settle waits for the one under way.
        with run.in_flight.writing():
            view, at = memoryview(data), self.at
            with local_writes(Path(run.job.path)):  # a full disk names the file, not errno
                while view:
                    written = os.pwrite(self.fd, view, at)
                    view, at = view[written:], at + written
            run.hashed.offer(self.at, data)
            run.received.add(self.at, at)
            self.at = at
            run.progress(len(data))
        return len(data)


def download_ranges(
    job: RangedJob,
    received: Received,
    transfers: Transfers,
    callback: Callback,
    recorded: Callable[[], None],
) -> dict[str, str]:
    """Download what ``received`` lacks of ``job``'s file, and return the digests of the
    whole file (hashed from the staged file, in order, while the ranges arrive).

    ``recorded`` is called on a thread of its own after ranges complete (to journal the
    progress), once for all those that completed since its last call began.
    The first failure of a range stops the others and is raised; what arrived stays
    in ``received``.
    """
    # The folder's stop ends the ranges as a failed range does (``callback`` reports to
    # that folder's transfers).
    folder = in_flight_of(callback)
    run = _Run(job, received, transfers, callback, recorded, folder)
    callback.relative_update(received.total())
    workers = [
        threading.Thread(target=run.worker, args=(i > 0,), name="fsartifacts-range", daemon=True)
        for i in range(min(job.ranges, len(run.todo)))
    ]
    run.running = len(workers)
    digests = run.hashed.digests
    try:
        with folder.reading(partial(run.fail, Stopped("stopped: the folder's transfers failed"))):
            run.journal.thread.start()
            for thread in workers:
                thread.start()
            _hash_behind(run)
    except BaseException as exc:
        run.fail(exc)
        digests.close()
        raise
    finally:
        # Done, every writer is ending. Stopped, each ends soon (a read blocked on the
        # network was closed under it), but one whose request still waits for the
        # server's answer has nothing to close yet: it is not waited for past the
        # grace, and writes nothing after this returns.
        if run.stop.is_set():
            leave_stopped(workers, run.in_flight)
        else:
            for thread in workers:
                if thread.ident is not None:  # started
                    thread.join()
        run.journal.finish()
    if run.failures:  # the journal's last write failed, once every byte was in
        digests.close()
        raise run.failures[0]
    return digests.hexdigests()


def _hash_behind(run: _Run) -> None:
    size, hashed = run.job.size, run.hashed
    fd = os.open(run.job.path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        while hashed.at < size:
            with run.received.changed:
                while (not run.stop.is_set() and run.running
                       and run.received.prefix() <= hashed.at):  # fmt: skip
                    run.received.changed.wait(SLOT_WAIT)
                if run.failures:
                    raise run.failures[0]
                if run.stop.is_set():
                    raise Stopped("stopped: another range of the file failed")
                ready = run.received.prefix()
                if hashed.at >= size:  # the last bytes were hashed by their writer
                    return
                if ready <= hashed.at:  # every writer is done, and bytes are still missing
                    raise IntegrityError(
                        f"{run.job.what}: received {run.received.total()} bytes of the "
                        f"{size} it lists: the transfer was cut short"
                    )
            hashed.read_back(fd, ready, run.job.what)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
