"""The request log of the local Artifactory server: what each request looked like.

Each record carries when the server started handling the request and when it sent
the response's headers (``time.monotonic()`` seconds), so a test can tell requests
that were in flight together from requests sent one after another: a client that
waits for each answer before it sends the next request can never produce two
records whose ``[started, answered]`` spans overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. ``status`` is 0 when no response was sent."""

    method: str
    path: str  # the raw request target, query included
    headers: dict[str, str]
    status: int
    bytes_in: int  # request body bytes read
    bytes_out: int  # response body bytes sent
    started: float = 0.0  # time.monotonic() when the server began handling it
    answered: float = 0.0  # time.monotonic() when its response headers went out (or it ended)


class RequestLog:
    """The thread-safe list of requests a server handled."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._records: list[RequestRecord] = []
        self._handling = 0  # requests begun and not yet ended

    def begin(self) -> None:
        """A request is being handled (until :meth:`end`)."""
        with self._lock:
            self._handling += 1

    def end(self) -> None:
        with self._lock:
            self._handling -= 1
            self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (at most ``timeout`` seconds): then every
        record is final (a response the client stopped reading has its ``bytes_out``
        amended once the server's write fails). True once idle."""
        with self._lock:
            return self._lock.wait_for(lambda: self._handling == 0, timeout)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def amend(self, old: RequestRecord, new: RequestRecord) -> None:
        with self._lock:
            for i in range(len(self._records) - 1, -1, -1):
                if self._records[i] is old:
                    self._records[i] = new
                    return

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def peak_overlap(records: Iterable[RequestRecord]) -> int:
    """The most requests whose ``[started, answered]`` spans overlap at one moment."""
    events = []
    for record in records:
        events.append((record.started, 1))
        events.append((record.answered, -1))
    # At equal times an answer comes before a start: touching spans do not overlap.
    events.sort()
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
