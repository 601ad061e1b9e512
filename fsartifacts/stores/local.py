"""A folder on this machine as a store: its listing and reads, over the writes of
:mod:`fsartifacts.stores.localwrites`."""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import threading
from collections.abc import Iterator, Sequence
from typing import IO, Any

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.copyshares import copy_together
from fsartifacts.copyworker import Copy, Outcome, Slots
from fsartifacts.errors import StoreNotFoundError
from fsartifacts.hashing import HashingWriter
from fsartifacts.inflight import InFlight
from fsartifacts.localfiles import FolderReader, not_a_copy, open_regular
from fsartifacts.stores.base import COPY_CHUNK, Writable
from fsartifacts.stores.localwrites import FolderWrites

log = logging.getLogger("fsartifacts")


class LocalOps(FolderWrites):
    """A folder on this machine: what :class:`FolderWrites` writes, listed and read back
    only as regular files and folders reached without links."""

    on_this_machine = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[str, tuple[FolderReader, int]] = {}  # folder: reader, blocks
        self._readers_lock = threading.Lock()
        self._not_copies: set[str] = set()  # entries a listing left out, already warned of

    def listing(self, path: str) -> list[dict[str, Any]]:
        """As the generic one, without what cannot be a copy (a link, a FIFO: see
        :func:`not_a_copy`), which a warning names; a store folder that does not exist is
        not an empty store (a typo in ``url`` would look like one), though a push creates
        it."""
        if not os.path.lexists(path):
            uri = pathlib.Path(path).as_uri() if os.path.isabs(path) else path
            raise StoreNotFoundError(
                f"nothing at {uri}: the folder does not exist; check `url` (a push creates it)",
                creatable=True,
            )
        copies = []
        for entry in super().listing(path):
            problem = not_a_copy(entry)
            if problem is None:
                copies.append(entry)
            elif entry["name"] not in self._not_copies:  # said once, however often listed
                self._not_copies.add(entry["name"])
                log.warning("%s", problem)
        return copies

    def download(
        self,
        rpath: str,
        out: Writable,
        *,
        callback: Callback | None = None,
        within: str | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        # A read of a local regular file does not stall: ``in_flight`` is not needed.
        callback = callback or NoOpCallback()
        reader = None if within is None else self._readers.get(within)
        if reader is not None and isinstance(out, HashingWriter):
            # Its descriptor only: no file object, whose opening costs more syscalls
            # than a small file's copy.
            fd, st = reader[0].open(rpath)
            try:
                out.copy_fd(fd, 0, st.st_size, callback)
            finally:
                os.close(fd)
            return
        with open_regular(rpath, within) as src:
            if isinstance(out, HashingWriter):
                out.copy_from(src, callback)  # in the kernel, hashed behind the copy
                return
            while chunk := src.read(COPY_CHUNK):
                out.write(chunk)
                callback.relative_update(len(chunk))

    @contextlib.contextmanager
    def reading_folder(self, folder: str) -> Iterator[None]:
        """Downloads ``within=folder`` in the block open its files through one
        :class:`FolderReader`: each of its folders opened once, not once a file."""
        with self._readers_lock:
            reader, blocks = self._readers.get(folder) or (FolderReader(folder), 0)
            self._readers[folder] = (reader, blocks + 1)
        try:
            yield
        finally:
            with self._readers_lock:
                reader, blocks = self._readers.pop(folder)
                if blocks > 1:
                    self._readers[folder] = (reader, blocks - 1)
                else:
                    reader.close()

    def copy_members(
        self, folder: str, copies: Sequence[Copy], slots: Slots
    ) -> Iterator[Outcome | None]:
        """Each file read below ``folder`` without following a link, as :meth:`download`
        reads it, by this thread and workers beside it (see
        :func:`fsartifacts.copyshares.copy_together`), into a new file the caller
        verifies."""
        return copy_together(copies, slots, ("sha256",), keep_mode=False, make_folders=False,
                             within=folder)  # fmt: skip

    def read_bytes(self, rpath: str, *, limit: int | None = None) -> bytes:
        with open_regular(rpath) as src:
            return src.read(-1 if limit is None else limit + 1)

    def open_read(self, rpath: str) -> IO[bytes]:
        return open_regular(rpath)
