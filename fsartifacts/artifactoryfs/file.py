"""The file object of ``artifactory://``: ranged reads, writes deployed as one PUT."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from fsartifacts.artifactoryfs.upload import SPOOL_IN_MEMORY, Reopened

if TYPE_CHECKING:
    from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem


class ArtifactoryFile(AbstractBufferedFile):
    """Ranged reads; writes spooled locally and deployed as ONE PUT on commit.

    ``ab`` starts the spool with the current content (Artifactory cannot append).
    A ``with`` block left by an exception discards the file: a half-written
    file is never deployed. (A handle never closed is still deployed when it
    is garbage-collected, as fsspec does: ``open(..., compression=...)``
    relies on that.)
    """

    fs: ArtifactoryFileSystem
    _spool: Any = None

    def _initiate_upload(self) -> None:
        self._spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0
        if self.mode == "ab":
            with contextlib.suppress(FileNotFoundError):
                self.fs.download(self.path, _HashingWriter(self), restartable=False)

    def _upload_chunk(self, final: bool = False) -> bool:
        self.buffer.seek(0)
        writer = _HashingWriter(self)
        shutil.copyfileobj(self.buffer, writer)
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        spool = self._spool
        if spool is None:
            return
        try:
            self.fs._deploy(
                self.path,
                lambda: Reopened(spool),
                self._size,
                self._sha1.hexdigest(),
                self._sha256.hexdigest(),
            )
        finally:
            self.discard()

    def discard(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True
            return
        self.close()


class _HashingWriter:
    """Writes into a file's spool while hashing and counting."""

    def __init__(self, target: ArtifactoryFile) -> None:
        self._target = target

    def write(self, data: bytes) -> int:
        target = self._target
        target._spool.write(data)
        target._sha1.update(data)
        target._sha256.update(data)
        target._size += len(data)
        return len(data)
