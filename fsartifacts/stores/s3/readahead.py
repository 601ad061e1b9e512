"""A response body read on s3fs's event loop ahead of the thread that writes it out.

Read one block per crossing to the loop, a body's connection sat unread while the
calling thread wrote the block it had just got: aiohttp stops reading a connection once
128 KiB of its body wait unread, so receiving and writing took turns, and each pause
and resume cost the loop a reader's removal and return. Here one coroutine on the loop
reads the body into blocks as they arrive, up to ``ahead`` blocks beyond those the
caller has taken (memory: ``ahead`` blocks per body), and the caller takes them from a
queue, in order. A failure of the read reaches the caller after every block read before
it, as the read's own exception, so what arrived is exact.
"""

from __future__ import annotations

import asyncio
import queue
from typing import Any

from fsartifacts.stores.s3.objects import DOWNLOAD_BLOCK, read_block

READ_AHEAD = 4  # blocks of DOWNLOAD_BLOCK read before the caller takes them, per body
_LOOK = 1.0  # seconds between looks at whether the reading coroutine ended unheard


class ReadAhead:
    """The blocks of ``body`` (an aiobotocore streaming body), read on ``loop`` ahead of
    :meth:`next`; :meth:`stop` ends the reading (the body itself is the caller's to
    close)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, body: Any, *, block: int = DOWNLOAD_BLOCK,
        ahead: int = READ_AHEAD,
    ) -> None:  # fmt: skip
        self._loop = loop
        self._blocks: queue.SimpleQueue[bytes | BaseException] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(ahead)
        self._ended = self._at_end = False
        self._future = asyncio.run_coroutine_threadsafe(self._read(body, block), loop)

    async def _read(self, body: Any, size: int) -> None:
        try:
            while True:
                await self._room.acquire()
                data = await read_block(body, size)
                self._blocks.put(data)
                if len(data) < size:  # the end: a short block is the whole rest
                    if data:
                        self._blocks.put(b"")
                    return
        except BaseException as exc:  # the caller's to raise, after the blocks before it
            self._blocks.put(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    def next(self) -> bytes:
        """The next block of the body; ``b""`` at its end. A failure of the read is raised
        here, once the blocks read before it have been taken."""
        if self._at_end:
            return b""
        while True:
            try:
                item = self._blocks.get(timeout=_LOOK)
                break
            except queue.Empty:
                if self._future.done() and self._blocks.empty():
                    # Cancelled before it could say so (the loop stopped under it).
                    raise ConnectionError("the response stopped being read") from None
        if isinstance(item, BaseException):
            raise item
        if item:
            self._loop.call_soon_threadsafe(self._room.release)
        else:
            self._at_end = True
        return item

    def stop(self) -> None:
        """End the reading (idempotent): nothing more is read from the body."""
        if not self._ended:
            self._ended = True
            self._future.cancel()
