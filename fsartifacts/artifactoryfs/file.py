"""The file object of ``artifactory://``: ranged reads; writes sent as one PUT or streamed."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import download
from fsartifacts.artifactoryfs.hidden import deploy_new
from fsartifacts.artifactoryfs.streaming import StreamingUpload
from fsartifacts.artifactoryfs.upload import deploy, size_and_digests


class ArtifactoryFile(AbstractBufferedFile):
    """Ranged reads. A write that ends within its first block (``block_size``,
    5 MiB by default) is deployed as ONE PUT with its checksums on commit; a
    bigger one is streamed to the server while it is written, in bounded memory
    and with nothing on local disk, and published on commit once the server's
    checksums match (:mod:`fsartifacts.artifactoryfs.streaming`).

    ``ab`` starts with the current content (Artifactory cannot append). ``xb`` is
    refused (FileExistsError) when the path exists as the file is opened, and again
    when it exists as it is published: Artifactory has no conditional deploy, so the
    window left between that last check and the deploy is one round trip.
    A ``with`` block left by an exception discards the file: a half-written
    file is never deployed. (A handle never closed is still deployed when it
    is garbage-collected, as fsspec does: ``open(..., compression=...)``
    relies on that.)

    ``fs`` reads (through its ``cat_file``) and forgets what it cached of the
    path once the file is deployed; ``client`` sends the deploy.
    """

    _whole: bytes | None = None  # a file that fitted in one block, kept for commit
    _stream: StreamingUpload | None = None  # a bigger one, on its way
    _base: bytes = b""  # ``ab``: the current content, when it fits in one block

    def __init__(
        self, fs: AbstractFileSystem, path: str, *, client: ArtifactoryClient, **kwargs: Any
    ) -> None:
        self.client = client
        super().__init__(fs, path, **kwargs)

    def _initiate_upload(self) -> None:
        self._whole, self._stream, self._base = None, None, b""
        if self.mode != "ab":
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                if self.fs.info(self.path)["size"] <= self.blocksize:
                    current = io.BytesIO()
                    download(self.client, self.path, current)
                    self._base = current.getvalue()
                else:
                    download(self.client, self.path, self._start_stream().writer)
        except BaseException:
            self.discard()
            raise

    def _start_stream(self) -> StreamingUpload:
        self._stream = StreamingUpload(self.client, self.path)
        return self._stream

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getbuffer()
        try:
            if self._stream is None and final:
                self._whole = self._base + bytes(data)
            else:
                stream = self._stream or self._start_stream()
                if self._base:
                    stream.write(self._base)
                    self._base = b""
                stream.write(data)
                if final:
                    stream.finish()
        except BaseException:
            self.discard()
            raise
        finally:
            data.release()
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        whole, stream = self._whole, self._stream
        # ``xb``: the path was absent when it was opened, but another writer may have
        # created it since (while this one wrote, for as long as it liked): asked again
        # just before the content is published, so that writer's file stays.
        exclusive = self.mode == "xb"
        try:
            if whole is not None:
                size, sha1, sha256 = size_and_digests(io.BytesIO(whole))
                if exclusive:
                    deploy_new(self.client, self.path, lambda: io.BytesIO(whole), size, sha1,
                               sha256)  # fmt: skip
                else:
                    deploy(self.client, self.path, lambda: io.BytesIO(whole), size, sha1, sha256)
            elif stream is not None:
                stream.publish(exclusive=exclusive)
        finally:
            self.fs.invalidate_cache(self.path)
            self.discard()

    def discard(self) -> None:
        stream, self._stream, self._whole = self._stream, None, None
        if stream is not None:
            stream.abort()

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True
            return
        self.close()
