"""What the engine may ask of Artifactory beyond plain fsspec.

- A deploy is stored whole or not at all, so uploads go straight to their
  final name (``atomic_writes``).
- Artifactory computes and keeps the sha1 and sha256 of every file, and our
  uploads send both: a corrupted upload is refused (409) and nothing is
  stored, so no ``.sha256`` sidecar is needed (``records_sha256``). The
  engine computes the two in the one read that hashes the file for it
  (``upload_digests``), so a push reads the file once before sending it. A file
  of ``HASHED_AS_SENT_MIN`` bytes or more that the engine has no digests of is
  hashed as it is sent instead (``hashes_uploads``): its first byte leaves at
  once, not after a read of the whole file (about 1 s per GiB). It goes to a
  hidden name beside the path, published there by a checksum deploy only once
  the sha256 of the server's answer is the one hashed on the way, else the
  hidden copy is deleted and the push fails. Such a deploy tells the server no checksum (real
  Artifactory then marks it as one whose client published none), and is not
  first offered by checksum.
- There is no conditional deploy: an exclusive write is a check on the server
  then a PUT, and two pushes racing between the two can both succeed
  (``atomic_create`` is False, which the engine reports at ``-v``).
- A copy is a checksum deploy: the new path is linked on the server to the
  binary it already keeps with that sha256, so no byte is sent and the content
  is verified by construction (``copies_on_store``). Without the sha1 the
  server's copy API does it, checked against the sha256 the server computes.
- A download is one streamed GET, checked against the size the server
  sends with it. Its checksum is left to the engine, which hashes every
  byte it receives anyway and checks it against the recorded sha256. A large
  one is several ranged GETs at once (``serves_ranges``). They are not pinned
  with ``If-Range``: a server that redirects downloads to a CDN or presigned
  URL answers there with another ETag, and the range would be refused. The
  recorded sha256 the whole file is checked against pins the content instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.artifactoryfs.download import stream_range
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConflictError,
    ArtifactoryIntegrityError,
    ArtifactoryNotAnApiError,
    ArtifactoryRangeError,
    ArtifactoryRangesIgnored,
)
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.byteranges import shorter_message
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import (
    IntegrityError,
    RangesNotServed,
    StoreNotFoundError,
    TransferError,
)
from fsartifacts.hashing import FileDigests
from fsartifacts.inflight import InFlight
from fsartifacts.stores.base import StoredCopy, StoreOps, Writable
from fsartifacts.stores.journals import UploadJournals

# From this size a file with no digests yet is hashed as it is sent. Below it, a read
# of the file first costs at most ~20 ms and buys a deploy the server checks before it
# stores anything, and the checksum deploy of content the server already holds.
HASHED_AS_SENT_MIN = 16 * 1024 * 1024


class ArtifactoryOps(StoreOps):
    """StoreOps for :class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`.

    ``atomic_create`` is False: Artifactory has no create-if-absent deploy, so
    ``exclusive=True`` means "checked absent on the server, then written".
    """

    atomic_create = False
    atomic_writes = True
    records_sha256 = True
    upload_digests = ("sha256", "sha1")
    copies_on_store = True
    serves_ranges = True
    hashes_uploads = True
    hashes_uploads_from = HASHED_AS_SENT_MIN

    fs: ArtifactoryFileSystem

    def __init__(self, fs: ArtifactoryFileSystem, transfer: TransferSettings | None = None) -> None:
        super().__init__(fs, transfer)

    def listing(self, path: str) -> list[dict[str, Any]]:
        """As the generic one; an empty answer is checked against the folder and the
        repository themselves, since Artifactory answers a folder it lacks, and a
        repository it lacks, as it answers an empty one here. A folder that does not
        exist is not an empty store (a typo in ``path`` would look like one), though a
        push creates it. A base URL whose REST API answers are not Artifactory's names
        no store either."""
        try:
            entries = super().listing(path)
            if not entries:
                repo, _, folder = path.partition("/")
                # Both asked at once, one round trip: the repository, and the folder in it.
                asked = [repo, path] if folder.strip("/") else [repo]
                found = self.fs.batch_pool.run(lambda p: self.fs.exists(p, refresh=True), asked)
                if isinstance(found[0], Exception):
                    raise found[0]
                if not found[0]:
                    raise StoreNotFoundError(
                        f"nothing at {self.fs.url}/{path}: the repository {repo!r} does not "
                        f"exist on {self.fs.url} (or these credentials may not see it); check "
                        "`repo` and `url` in repository.artifactory"
                    )
                if len(found) > 1 and isinstance(found[1], Exception):
                    raise found[1]
                if len(found) > 1 and not found[1]:
                    raise StoreNotFoundError(
                        f"nothing at {self.fs.url}/{path}: the folder {folder!r} does not exist "
                        f"in the repository {repo!r}; check `path` in repository.artifactory "
                        "(a push creates it)",
                        creatable=True,
                    )
        except ArtifactoryNotAnApiError as exc:
            raise StoreNotFoundError(str(exc)) from None
        return entries

    def upload(
        self,
        lpath: str,
        rpath: str,
        *,
        sha256: str,
        exclusive: bool,
        record: bool = True,
        callback: Callback | None = None,
        digests: Mapping[str, str] | None = None,
        journals: UploadJournals | None = None,
    ) -> None:
        """One deploy with the file's checksums (a checksum deploy when the server has it).

        With the sha1 in ``digests`` the file is not read again before it is
        sent; a :class:`FileDigests` also refuses a file changed since hashing.
        """
        given = digests or {}
        try:
            self.fs.put_file(
                lpath,
                rpath,
                callback=callback or NoOpCallback(),
                mode="create" if exclusive else "overwrite",
                sha256=sha256,
                sha1=given.get("sha1"),
                hashed_stat=digests.identity if isinstance(digests, FileDigests) else None,
            )
        except (ArtifactoryConflictError, ArtifactoryIntegrityError) as exc:
            raise IntegrityError(
                f"{exc}. Nothing was stored; push again (and check the network or proxy "
                "if it keeps happening)."
            ) from exc

    def upload_hashing(
        self,
        src: IO[bytes],
        rpath: str,
        *,
        exclusive: bool,
        callback: Callback | None = None,
        journals: UploadJournals | None = None,
    ) -> FileDigests:
        """:meth:`upload` of the local file open as ``src``, hashed as it is sent (see the
        module docstring); its sha1 the server's for those bytes. A deploy is one request:
        ``journals`` have nothing to keep."""
        opened = os.fstat(src.fileno())
        try:
            digests = self.fs.put_file_hashing(
                src, rpath, callback=callback or NoOpCallback(),
                mode="create" if exclusive else "overwrite",
            )  # fmt: skip
        except ArtifactoryIntegrityError as exc:
            raise IntegrityError(
                f"{exc}. Push again (and check the network or proxy if it keeps happening)."
            ) from exc
        return FileDigests(digests, opened)

    def copy(
        self,
        source: StoredCopy,
        rpath: str,
        *,
        exclusive: bool = False,
        record: bool = False,
        digests: Mapping[str, str] | None = None,
    ) -> bool:
        """A checksum deploy with the content's sha256 and sha1 (one PUT, no body), so the
        new path holds that content by construction, whatever became of ``source`` since
        it was listed. With no sha1 known, the one the server records for ``source``, once
        it still records the sha256 expected there: False when it does not (replaced by a
        forced push, or gone), and nothing is written to ``rpath``. (The server's copy of
        ``source``, checked afterwards, would show another version's bytes at ``rpath``
        until the check removed them, and for good had the pusher died in between.)

        Artifactory keeps the checksums itself, so ``record`` needs nothing more.
        """
        given = digests or {}
        sha1 = given.get("sha1") if given.get("sha256", source.sha256) == source.sha256 else None
        if not sha1:
            try:
                recorded = self.fs.info(source.path, refresh=True)
            except FileNotFoundError:
                return False
            sha1 = str(recorded.get("sha1") or "").lower()
            if str(recorded.get("sha256") or "").lower() != source.sha256 or not sha1:
                return False
        mode = "create" if exclusive else "overwrite"
        return self.fs.deploy_by_checksum(rpath, source.sha256, sha1, mode=mode)

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        try:
            self.fs.pipe_file(rpath, data, mode="create" if exclusive else "overwrite")
        except ArtifactoryConflictError as exc:
            raise IntegrityError(f"{exc}. Nothing was stored; push again.") from exc

    def remove_file(self, rpath: str) -> None:
        """One DELETE: :meth:`remove` first asks whether the path is a folder (a DELETE
        takes a folder with everything in it), which a file the caller knows is not."""
        self.fs.rm_known_file(rpath)

    def download(
        self,
        rpath: str,
        out: Writable,
        *,
        callback: Callback | None = None,
        within: str | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        """One streamed GET (not ranged reads), checked for size, read within
        ``in_flight``.

        Not for checksum: the engine hashes what it receives and checks it
        against the recorded sha256 (or the folder's manifest).
        """
        self.fs.download(rpath, out, callback=callback or NoOpCallback(), verify=False,
                         in_flight=in_flight)  # fmt: skip

    def revision(self, entry: dict[str, Any]) -> str | None:
        sha1 = entry.get("sha1")
        return str(sha1).lower() if sha1 else None

    def read_range(
        self,
        rpath: str,
        start: int,
        end: int,
        out: Writable,
        *,
        revision: str | None,
        in_flight: InFlight | None = None,
    ) -> None:
        path = self.fs._strip_protocol(rpath)
        try:
            stream_range(self.fs.client, path, out, start, end, in_flight)
        except ArtifactoryRangesIgnored as exc:
            raise RangesNotServed(f"{self.fs.url}/{path}: {exc.detail}") from None
        except ArtifactoryRangeError as exc:
            raise TransferError(shorter_message(f"{self.fs.url}/{path}", exc.detail)) from None

    def recorded_sha256(self, rpath: str, entry: dict[str, Any] | None = None) -> str | None:
        """The sha256 Artifactory keeps: from the listing entry, else from the storage API."""
        digest = (entry or {}).get("sha256")
        if not digest:
            try:
                digest = self.fs.info(rpath, refresh=True).get("sha256")
            except FileNotFoundError:
                return None
        return str(digest).lower() if digest else None

    def native_checksum(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        sha1 = entry.get("sha1")
        return ("sha1", str(sha1).lower()) if sha1 else None
