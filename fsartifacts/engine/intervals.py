"""The byte intervals of a staged file that hold their bytes, kept as they arrive.

A download in ranges (:mod:`fsartifacts.engine.ranged`) adds to them as its writers
land their blocks; its journal (:mod:`fsartifacts.engine.partial`) records them, so a
later attempt or run asks only for what is :func:`missing`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

Interval = tuple[int, int]  # [start, end) in bytes


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """``intervals`` sorted, with those that touch or overlap joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def missing(done: Iterable[Interval], size: int) -> list[Interval]:
    """The parts of ``[0, size)`` outside ``done``."""
    gaps, at = [], 0
    for start, end in merged(done):
        if start > at:
            gaps.append((at, min(start, size)))
        at = max(at, end)
    if at < size:
        gaps.append((at, size))
    return [(s, e) for s, e in gaps if e > s]


def split(intervals: Iterable[Interval], size_each: int) -> list[Interval]:
    """``intervals`` cut into pieces of at most ``size_each`` bytes, in order."""
    pieces = []
    for start, end in intervals:
        pieces += [(at, min(at + size_each, end)) for at in range(start, end, size_each)]
    return pieces


class Received:
    """The intervals of the staged file that hold their bytes, shared by the writers,
    the hasher and whoever records them (thread-safe)."""

    def __init__(self, done: Iterable[Interval] = ()) -> None:
        self.changed = threading.Condition()
        self._done = merged(done)

    def add(self, start: int, end: int) -> None:
        with self.changed:
            at = bisect.bisect_left(self._done, (start, end))
            self._done.insert(at, (start, end))
            self._done = merged(self._done)
            self.changed.notify_all()

    def snapshot(self) -> list[Interval]:
        with self.changed:
            return list(self._done)

    def prefix(self) -> int:
        """How many bytes from the start of the file are all written."""
        with self.changed:
            return self._done[0][1] if self._done and self._done[0][0] == 0 else 0

    def total(self) -> int:
        with self.changed:
            return sum(end - start for start, end in self._done)
