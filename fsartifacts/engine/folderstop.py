"""The stop of one folder's transfers, once one of its files has failed for good.

The files in flight beside the one that failed are of no use any more: each is stopped
at its next block (:class:`~fsartifacts.inflight.Stopped`, raised by the callback every
store's transfer reports its blocks to), and a download waiting for a block that does not
come (a stalled server) has its response closed under it (:class:`Stop`, through
:func:`in_flight_of`), so the folder's failure is raised once they have ended, not at
their read timeout.

A download whose request still waits for the server's first answer has no response yet
to close. A folder pulled from a remote store waits for such a file only
:data:`~fsartifacts.inflight.STOP_GRACE` (:meth:`~fsartifacts.engine.transfers.Transfers.each`
with ``leave``), and a file left so changes nothing more: its store writes each block it
keeps (and reports its progress) within the stop's
:meth:`~fsartifacts.inflight.InFlight.writing`, the pull makes and keeps the files of its
staged folder within it too, and the stop settles those under way before the failure is
raised (:func:`~fsartifacts.inflight.leave_stopped`). The file keeps its slot of the run
until its request ends, so ``-j`` still counts it.
"""

from __future__ import annotations

import threading

from fsspec.callbacks import Callback

from fsartifacts.inflight import InFlight, Stopped


class Stop(threading.Event):
    """The stop of one folder's transfers: once set, each stops at its next block, and
    the responses they read meanwhile (registered in ``in_flight`` by the stores that can
    end a read from another thread) are closed, so a read blocked on a stalled server
    returns too."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = InFlight()

    def set(self) -> None:
        super().set()
        self.in_flight.close_all()


class StopsBetweenBlocks(Callback):
    """The callback of one file's transfer, which forwards to ``inner`` (its progress) and
    raises :class:`Stopped` at the next block once ``stop`` is set. Every store reports
    each block it moves (``relative_update``); the start over of a retried transfer
    (``absolute_update``) and its size are never refused, so a transfer's cleanup that
    resets its progress does not raise."""

    def __init__(self, inner: Callback, stop: Stop) -> None:
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


def in_flight_of(callback: Callback) -> InFlight:
    """Where a transfer reporting to ``callback`` registers the responses it reads, for
    the stop of its folder to close them, and writes what it keeps (the folder's gate);
    outside a folder's transfers, a new one that nothing closes."""
    return callback.stop.in_flight if isinstance(callback, StopsBetweenBlocks) else InFlight()
