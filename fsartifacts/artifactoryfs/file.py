"""The file object of ``artifactory://``: ranged reads, writes deployed as one PUT."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import download
from fsartifacts.artifactoryfs.upload import SPOOL_IN_MEMORY, Reopened, deploy
from fsartifacts.hashing import HashingWriter


class ArtifactoryFile(AbstractBufferedFile):
    """Ranged reads; writes spooled locally and deployed as ONE PUT on commit.

    ``ab`` starts the spool with the current content (Artifactory cannot append).
    A ``with`` block left by an exception discards the file: a half-written
    file is never deployed. (A handle never closed is still deployed when it
    is garbage-collected, as fsspec does: ``open(..., compression=...)``
    relies on that.)

    ``fs`` reads (through its ``cat_file``) and forgets what it cached of the
    path once the file is deployed; ``client`` sends the deploy.
    """

    _spool: Any = None
    _writer: Any = None  # a HashingWriter into the spool, while writing

    def __init__(
        self, fs: AbstractFileSystem, path: str, *, client: ArtifactoryClient, **kwargs: Any
    ) -> None:
        self.client = client
        super().__init__(fs, path, **kwargs)

    def _initiate_upload(self) -> None:
        self._spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        self._writer = HashingWriter(self._spool, ("sha1", "sha256"))
        if self.mode == "ab":
            with contextlib.suppress(FileNotFoundError):
                download(self.client, self.path, self._writer)

    def _upload_chunk(self, final: bool = False) -> bool:
        self.buffer.seek(0)
        shutil.copyfileobj(self.buffer, self._writer)
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        spool, writer = self._spool, self._writer
        if spool is None:
            return
        digests = writer.digests()
        try:
            deploy(
                self.client,
                self.path,
                lambda: Reopened(spool),
                writer.bytes,
                digests["sha1"],
                digests["sha256"],
            )
        finally:
            self.fs.invalidate_cache(self.path)
            self.discard()

    def discard(self) -> None:
        spool, self._spool, self._writer = self._spool, None, None
        if spool is not None:
            spool.close()

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True
            return
        self.close()
