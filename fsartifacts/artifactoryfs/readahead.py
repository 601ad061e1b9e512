"""The read cache of ``artifactory://`` files: read ahead only while reading on.

fsspec's ``readahead`` cache fetches a whole block (5 MiB) beyond every read
that misses it. That suits reading a file from start to end, and wastes most
of what it moves on random access: a parquet reader that asks for the footer
and then one column chunk gets the rest of the file with it.

This cache fetches exactly the bytes asked for when a read jumps elsewhere,
and reads ahead only when a read starts where the previous one ended: 64 KiB
after the first such read, then twice as much each time, up to the file's
``block_size``. A reader that goes on sequentially soon fetches full blocks (a
few requests per 5 MiB, as before); one that jumps moves what it asked for
plus at most as much as it read sequentially since its last jump (so at most
about twice its bytes). The price: a reader that jumps to many places and
reads a little on from each makes more, smaller requests than a block cache.
"""

from __future__ import annotations

from typing import Any

from fsspec.caching import BaseCache, register_cache

FIRST_WINDOW = 64 * 1024


class GrowingReadAhead(BaseCache):
    """One cached span; the read-ahead window doubles on sequential reads, resets on a jump."""

    name = "growing-readahead"

    def __init__(self, blocksize: int, fetcher: Any, size: int) -> None:
        super().__init__(blocksize, fetcher, size)
        self.cache = b""
        self.start = 0
        self.end = 0
        self.window = 0  # read-ahead of the next fetch
        self.position = 0  # where the previous read ended

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        start = 0 if start is None else start
        end = self.size if end is None or end > self.size else end
        if start >= self.size or start >= end:
            return b""
        sequential = start == self.position
        self.position = end
        if self.start <= start and end <= self.end:
            self.hit_count += 1
            return self.cache[start - self.start : end - self.start]
        self.miss_count += 1
        part = b""
        if self.start <= start < self.end:  # the cached span holds the beginning
            part = self.cache[start - self.start :]
            start = self.end
        if sequential:
            self.window = min(max(2 * self.window, FIRST_WINDOW), self.blocksize)
        else:
            self.window = 0
        stop = min(self.size, end + self.window)
        self.total_requested_bytes += stop - start
        self.cache = self.fetcher(start, stop)
        self.start = start
        self.end = start + len(self.cache)
        return part + self.cache[: end - start]


register_cache(GrowingReadAhead, clobber=True)
