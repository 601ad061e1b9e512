"""The responses one transfer has in flight, closed at once from another thread when it
stops: a read blocked on a server that stalled returns (raising) then, not at its timeout.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class InFlight:
    """Closers of the responses being read, registered while each is read (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closers: dict[int, Callable[[], None]] = {}
        self._next = 0
        self.closed = False

    @contextlib.contextmanager
    def reading(self, close: Callable[[], None]) -> Iterator[None]:
        """Around the read of one response, which ``close()`` ends from any thread. Once
        :meth:`close_all` was called, the response is closed before it is read."""
        with self._lock:
            key, self._next = self._next, self._next + 1
            if not self.closed:
                self._closers[key] = close
        if self.closed:
            _quietly(close)
        try:
            yield
        finally:
            with self._lock:
                self._closers.pop(key, None)

    def close_all(self) -> None:
        """Close every response being read, and every one registered from now on."""
        with self._lock:
            self.closed = True
            closers, self._closers = list(self._closers.values()), {}
        for close in closers:
            _quietly(close)


def _quietly(close: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # a response already closed, a dead connection
        close()
