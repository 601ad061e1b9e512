"""The request log of the local Artifactory server: what each request looked like."""

from __future__ import annotations

import threading
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


class RequestLog:
    """The thread-safe list of requests a server handled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

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
