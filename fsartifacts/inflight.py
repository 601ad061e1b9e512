"""The responses one transfer has in flight, closed at once from another thread when it
stops: a read blocked on a server that stalled returns (raising) then, not at its timeout.

A read that :meth:`InFlight.close_all` ended raises :class:`Stopped`, whatever the
transport made of the closed connection (an error, or an end that looks like a short
body): not a failure of its own, and never worth another try.

A request still waiting for the server's first answer has no response yet to close: only
that answer or the transfer's timeout ends it. So whatever stops a transfer waits for the
threads it runs on at most :data:`STOP_GRACE`, and a thread left so must never write once
the stop has returned: each block it keeps (the bytes written where they go, their digest,
the progress reported) is written within :meth:`InFlight.writing`, which refuses every
block once the stop is set, and :meth:`InFlight.settle` waits for those already under way.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# Seconds a stopped transfer (another file or range failed for good, Ctrl-C) waits for the
# threads it runs on: enough for one whose response was closed under it, far less than a
# request waiting for a stalled server's answer (its timeout).
STOP_GRACE = 1.0


class Stopped(Exception):
    """A transfer stopped part way: the run it belongs to failed (another file of its
    folder, another range of its file, failed for good) or was interrupted. Not a failure
    of its own, and not worth another try."""


class InFlight:
    """Closers of the responses being read, registered while each is read (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closers: dict[int, Callable[[], None]] = {}
        self._next = 0
        self.closed = False
        # The blocks being written now (see writing): counted only while not closed,
        # both under the lock.
        self._written = threading.Condition(self._lock)
        self._writing = 0

    @contextlib.contextmanager
    def reading(self, close: Callable[[], None]) -> Iterator[None]:
        """Around the read of one response, which ``close()`` ends from any thread. Once
        :meth:`close_all` was called, the response is closed before it is read, and the
        read raises :class:`Stopped` (also when it had ended before the close took)."""
        with self._lock:
            key, self._next = self._next, self._next + 1
            if not self.closed:
                self._closers[key] = close
        if self.closed:
            _quietly(close)
        try:
            yield
        except Exception as exc:
            if self.closed and not isinstance(exc, Stopped):
                raise Stopped("stopped: the transfers it ran beside have failed") from exc
            raise
        finally:
            with self._lock:
                self._closers.pop(key, None)
        if self.closed:
            raise Stopped("stopped: the transfers it ran beside have failed")

    def close_all(self) -> None:
        """Close every response being read, and every one registered from now on."""
        with self._lock:
            self.closed = True
            closers, self._closers = list(self._closers.values()), {}
        for close in closers:
            _quietly(close)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around one block kept of what the transfer received (written where it goes,
        hashed, reported to its progress), or any other local change it makes: raises
        :class:`Stopped` instead once :meth:`close_all` was called."""
        with self._lock:
            if self.closed:
                raise Stopped("stopped: the transfers it ran beside have failed")
            self._writing += 1
        try:
            yield
        finally:
            with self._lock:
                self._writing -= 1
                if not self._writing:
                    self._written.notify_all()

    def settle(self) -> None:
        """Close everything (:meth:`close_all`), then wait for the blocks being written to
        land: once this returns, nothing of the transfer writes anything, whichever thread
        it runs on and however long its request still waits."""
        self.close_all()
        with self._lock:
            self._written.wait_for(lambda: not self._writing)


def leave_stopped(threads: Iterable[threading.Thread], in_flight: InFlight) -> None:
    """The end of the threads of a stopped transfer: each waited for within
    :data:`STOP_GRACE` in all (one whose request still waits for the server's first answer
    is left to it), then ``in_flight`` settled, so that none of them writes anything once
    this returns. A thread left keeps what it holds (a slot of the run's ``-j``) until its
    request ends."""
    deadline = time.monotonic() + STOP_GRACE
    for thread in threads:
        if thread.ident is not None:  # started
            thread.join(max(0.0, deadline - time.monotonic()))
    in_flight.settle()


class Current:
    """The one response a transfer reads now, which it replaces as it goes (a download
    resumed from where its connection broke), for :meth:`InFlight.reading`: ``end`` is
    its closer, registered before the first response exists; the response of the moment
    is closed then, and any that comes after at once. ``close(response)`` must be safe
    from any thread and must not block."""

    def __init__(self, close: Callable[[Any], None]) -> None:
        self._close = close
        self._lock = threading.Lock()
        self._response: Any = None
        self.ended = False

    def now(self, response: Any) -> None:
        """``response`` is the one read from now on."""
        with self._lock:
            self._response, ended = response, self.ended
        if ended:
            _quietly(lambda: self._close(response))

    def end(self) -> None:
        with self._lock:
            self.ended, response = True, self._response
        if response is not None:
            _quietly(lambda: self._close(response))

    def check(self) -> None:
        """Raise :class:`Stopped` once ended: a read that broke then is not tried again."""
        if self.ended:
            raise Stopped("stopped: the transfers it ran beside have failed")


def _quietly(close: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # a response already closed, a dead connection
        close()
