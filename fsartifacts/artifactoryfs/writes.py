"""Writes of whole files to ``artifactory://``: ``pipe_file``, ``put_file`` and the
checksum deploy of content the server already holds.

A mixin of :class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`,
which gives it ``client``. Every deploy carries the content's sha1 and sha256, so
the server refuses a corrupted upload and stores nothing; a large file is offered
by checksum first (:mod:`fsartifacts.artifactoryfs.upload`), unless it is hashed as it
is sent (``put_file_hashing``: to a hidden name, published once checked). ``mode="create"``
asks whether the path exists just before the content is published there (Artifactory has
no conditional deploy): after a long upload, through a hidden copy
(:func:`~fsartifacts.artifactoryfs.hidden.deploy_new`). Files being written while open
are :class:`~fsartifacts.artifactoryfs.file.ArtifactoryFile`.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem

from fsartifacts.artifactoryfs import upload as uploads
from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.hashingdeploy import deploy_hashing
from fsartifacts.artifactoryfs.hidden import deploy_new, may_delete
from fsartifacts.artifactoryfs.upload import Readable, Reopened, size_and_digests
from fsartifacts.hashing import FileIdentity


class WriteOperations(AbstractFileSystem):
    """pipe_file, put_file and deploy_by_checksum over ``self.client``."""

    client: ArtifactoryClient

    if TYPE_CHECKING:

        def _exists_on_server(self, path: str) -> bool: ...

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        data = bytes(value)
        size, sha1, sha256 = size_and_digests(io.BytesIO(data))
        self._deploy(path, lambda: io.BytesIO(data), size, sha1, sha256, create=mode == "create")

    def put_file(
        self,
        lpath: Any,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        sha256: str | None = None,
        sha1: str | None = None,
        hashed_stat: os.stat_result | FileIdentity | None = None,
        **kwargs: Any,
    ) -> None:
        """Deploy a local file with its sha1 and sha256, so a corrupted upload is refused.

        Files of 1 MiB or more are first offered by checksum alone: when the
        server already holds the content, no byte is sent.

        ``sha256`` (and ``sha1``), when given, are what the caller hashed
        earlier; a file changed since then is not uploaded
        (:class:`ArtifactoryIntegrityError`). With ``sha256`` alone the file
        is read once first, for its sha1 and to check its sha256. With both,
        it is not read before sending: the server checks every byte against
        them (409 on a mismatch, nothing stored), and ``hashed_stat``, the
        file's ``os.stat`` (or its :class:`FileIdentity`) when it was hashed,
        refuses before any byte is sent a file whose size, mtime or inode
        changed since.

        ``mode="create"``: FileExistsError, and ``rpath`` left as it is, when it exists
        just before the file is published there, after its upload
        (:func:`~fsartifacts.artifactoryfs.hidden.deploy_new`).
        """
        rpath = self._strip_protocol(rpath)
        lpath = os.fspath(lpath)
        now = os.stat(lpath)  # one stat: a folder here, and the file's identity as sent
        if stat.S_ISDIR(now.st_mode):
            if mode == "create" and self._exists_on_server(rpath):
                raise FileExistsError(errno.EEXIST, "already exists", rpath)
            self.makedirs(rpath, exist_ok=True)
            return
        size, sha1, sha256, reopen = uploads.file_to_deploy(
            rpath, lpath, sha256, sha1, hashed_stat, now=now
        )
        self._deploy(rpath, reopen, size, sha1, sha256, callback, create=mode == "create")

    def put_file_hashing(
        self,
        src: Any,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
    ) -> dict[str, str]:
        """Deploy the open local file ``src`` (read from its start), its sha256 computed
        from the bytes as they are sent, not in a read of the file first: that sha256
        and the sha1 of the server's copy, ``{"sha256": ..., "sha1": ...}``.

        The request carries no checksum, so the server cannot refuse a corrupted
        upload: it goes to a hidden name beside ``rpath``, and reaches ``rpath`` by a
        checksum deploy only once the checksums the server gives for what it stored
        are those hashed on the way; else :class:`ArtifactoryIntegrityError`, and
        nothing is at ``rpath`` (:mod:`fsartifacts.artifactoryfs.hidden`).
        ``mode="create"``: FileExistsError when ``rpath`` exists, before any byte is
        sent or by the time the bytes are checked.

        Credentials the server does not let delete (asked once, before the first such
        deploy: :func:`~fsartifacts.artifactoryfs.hidden.may_delete`) have the file
        hashed first and deployed with its checksums instead: the hidden copy could not
        be removed.
        """
        rpath = self._strip_protocol(rpath)
        exclusive = mode == "create"
        if exclusive and self._exists_on_server(rpath):
            raise FileExistsError(errno.EEXIST, "already exists", rpath)
        if not may_delete(self.client, rpath):
            size, sha1, sha256 = size_and_digests(Reopened(src))
            self._deploy(
                rpath, lambda: Reopened(src), size, sha1, sha256, callback, create=exclusive
            )
            return {"sha256": sha256, "sha1": sha1}
        size = os.fstat(src.fileno()).st_size
        try:
            return deploy_hashing(
                self.client, rpath, lambda: Reopened(src), size, callback, exclusive=exclusive
            )
        finally:
            self.invalidate_cache(rpath)

    def deploy_by_checksum(
        self, path: str, sha256: str, sha1: str, mode: str = "overwrite"
    ) -> bool:
        """Create ``path`` from content the server already holds, named by its checksums.

        No byte of content is sent: the server links the binary it keeps with that
        sha256 (a checksum deploy), so what ``path`` holds is that content by
        construction. False when the server holds no such content. ``mode="create"``
        raises FileExistsError when ``path`` exists.
        """
        path = self._strip_protocol(path)
        if mode == "create" and self._exists_on_server(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        try:
            return uploads.deploy_by_checksum(self.client, path, {"sha256": sha256, "sha1": sha1})
        finally:
            self.invalidate_cache(path)

    def _deploy(
        self,
        path: str,
        open_body: Callable[[], Readable],
        size: int,
        sha1: str,
        sha256: str,
        callback: Callback = DEFAULT_CALLBACK,
        *,
        create: bool = False,
    ) -> None:
        """PUT a whole file (checksum deploy first when worth it), retrying by reopening.
        ``create``: never over a path that exists by the time it is published."""
        try:
            if create:
                deploy_new(self.client, path, open_body, size, sha1, sha256, callback)
            else:
                uploads.deploy(self.client, path, open_body, size, sha1, sha256, callback)
        finally:
            self.invalidate_cache(path)
