"""The capability hook: what the engine asks of a store beyond plain fsspec.

The engine only ever talks to an fsspec filesystem. Where a kind of store can
do better than the generic way (create-if-absent on the server, a checksum
recorded with the object, a single streamed GET), a :class:`StoreOps` subclass
for that filesystem says so; :func:`fsartifacts.stores.store.ops_for` picks it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import IO, TYPE_CHECKING, Any, ClassVar, Protocol

from fsspec.callbacks import Callback, NoOpCallback
from fsspec.spec import AbstractFileSystem

from fsartifacts.atomic import temp_name
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import FileDigests, HashingWriter, hash_stream
from fsartifacts.inflight import InFlight
from fsartifacts.stores.conditional import ConditionalOps
from fsartifacts.stores.entries import strip_slash
from fsartifacts.stores.filerunner import FileRunner, OneAfterAnother
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.removal import remove_exactly

if TYPE_CHECKING:
    from fsartifacts.copyworker import Copy, Outcome, Slots

SIDECAR_SUFFIX = ".sha256"
SIDECAR_LIMIT = 4096  # bytes read of a sidecar at most: a digest and a name
COPY_CHUNK = 1024 * 1024


class Writable(Protocol):
    """Where downloads stream to: a file, or a writer that hashes on the way."""

    def write(self, data: bytes, /) -> int: ...


# A file of a folder artifact: (local path, path inside the folder, its digests by
# hashlib name, "sha256" always among them: those of upload_digests, computed once).
FolderFile = tuple[str, str, Mapping[str, str]]


@dataclass(frozen=True)
class StoredCopy:
    """A file already on the store whose content a new version may copy: its path, size
    and sha256 (as recorded when it was pushed)."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PendingUpload:
    """An upload the store holds unfinished (an S3 multipart upload), by its last activity."""

    path: str
    upload_id: str
    modified: datetime | None


def _split(rpath: str) -> tuple[str, str]:
    parent, _, base = rpath.rpartition("/")
    return parent, base


class StoreOps(ConditionalOps):
    """The generic way, correct on any fsspec filesystem.

    Subclasses override what their store does better and set the flags:

    - ``atomic_create``: ``exclusive=True`` writes are create-if-absent on the
      store itself, so two racing pushes cannot both win. Without it the engine
      checks first and says so at ``-v``.
    - ``atomic_writes``: a reader never sees a partly written object under its
      final name (object stores). Without it uploads go to a temporary name and
      are renamed.
    - ``records_sha256``: the store keeps the sha256 with the object, so no
      ``.sha256`` sidecar is written.
    - ``atomic_replace``: :meth:`write_if` is atomic on the store itself (a
      conditional PUT, or a create-if-absent claim), so two racing replacements
      of one small object cannot both succeed.
    - ``upload_digests``: the digests (hashlib names) ``upload`` can use, which
      the engine computes in the same read of the file as its sha256 and
      passes as ``digests``.
    - ``copies_on_store``: ``copy`` makes the copy on the store itself (a
      server-side copy, a checksum deploy, a hard link), sending no file bytes
      through this machine. The engine then copies the files an earlier version
      already holds instead of uploading them; without it, uploading the local
      file costs no more than a streamed copy, so it uploads.
    - ``hashes_uploads``: :meth:`upload_hashing` computes a file's sha256 from the
      bytes as it copies them (the folder store's kernel copy, hashed behind it), so
      the engine need not read a file it has no digest of once to hash it, then again
      to upload it; for the sizes :meth:`hashes_upload_of` takes (by default, from
      ``hashes_uploads_from`` bytes).
    - ``serves_ranges``: :meth:`read_range` streams part of an object, and
      :meth:`revision` tells its content from a replacement's, so a large file
      downloads as several ranges at once
      (:mod:`fsartifacts.engine.ranged`) and an interrupted pull resumes.
    - ``on_this_machine``: a download is a copy of a file on this machine's own disk (the
      folder store), so fetching a small file again costs about what keeping it for a
      later run would: an interrupted folder pull keeps only its large members.
    """

    atomic_create: ClassVar[bool] = False
    atomic_writes: ClassVar[bool] = False
    records_sha256: ClassVar[bool] = False
    upload_digests: ClassVar[tuple[str, ...]] = ("sha256",)
    copies_on_store: ClassVar[bool] = False
    hashes_uploads: ClassVar[bool] = False
    hashes_uploads_from: ClassVar[int] = 0
    serves_ranges: ClassVar[bool] = False
    on_this_machine: ClassVar[bool] = False

    def __init__(self, fs: AbstractFileSystem, transfer: TransferSettings | None = None) -> None:
        self.fs = fs
        self.transfer = transfer or TransferSettings()

    # -- listings -------------------------------------------------------------

    def listing(self, path: str) -> list[dict[str, Any]]:
        """Every entry directly under ``path``, fresh from the store; [] when absent."""
        try:
            entries = self.fs.ls(path, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        only = entries[0] if len(entries) == 1 else None
        if (
            only
            and strip_slash(only["name"]) == strip_slash(path)
            and only.get("type") != "directory"
        ):
            return []  # ``path`` is a file, not a folder of artifacts
        return entries

    # -- writes ---------------------------------------------------------------

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
        """Upload ``lpath`` to ``rpath`` so no reader sees it half written.

        Raises ``FileExistsError`` when ``exclusive`` and ``rpath`` exists.
        ``record`` writes the sha256 where the store keeps it. ``digests``: the
        file's digests the caller computed (those of ``upload_digests``; a
        :class:`~fsartifacts.hashing.FileDigests` also carries the file's stat
        then), for stores that send them with the upload. ``journals``: where an
        upload that a later run can continue (an S3 multipart upload) keeps its
        journal, and whether to continue one found there; stores whose uploads are
        one request ignore it.
        """
        callback = callback or NoOpCallback()
        if exclusive and self.fs.exists(rpath):
            raise FileExistsError(rpath)
        if record and not self.records_sha256:
            self.write_sidecar(rpath, sha256)
        if self.atomic_writes:
            self.fs.put_file(lpath, rpath, callback=callback)
            return
        parent, base = _split(rpath)
        staging = f"{parent}/{temp_name(base)}" if parent else temp_name(base)
        self.fs.put_file(lpath, staging, callback=callback)
        try:
            self.fs.mv(staging, rpath)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(staging)
            raise

    def hashes_upload_of(self, size: int) -> bool:
        """Whether :meth:`upload_hashing` hashes a file of ``size`` bytes as it sends it."""
        return self.hashes_uploads and size >= self.hashes_uploads_from

    def upload_hashing(
        self,
        src: IO[bytes],
        rpath: str,
        *,
        exclusive: bool,
        callback: Callback | None = None,
        journals: UploadJournals | None = None,
    ) -> FileDigests:
        """:meth:`upload` of the local file open as ``src`` (its sha256 recorded), that
        sha256 computed on the way: the file's digests, with its identity as it was opened.
        Here, hashed first, then uploaded; a store with ``hashes_uploads`` hashes the very
        bytes it copies. ``journals`` as for :meth:`upload`."""
        opened = os.fstat(src.fileno())
        digests = FileDigests(hash_stream(src, self.upload_digests)[1], opened)
        self.upload(src.name, rpath, sha256=digests["sha256"], exclusive=exclusive,
                    callback=callback, digests=digests, journals=journals)  # fmt: skip
        return digests

    def upload_folder(
        self,
        files: Iterable[FolderFile],
        rpath: str,
        run: FileRunner | None = None,
        sources: Mapping[str, StoredCopy] | None = None,
    ) -> None:
        """Upload (local path, relative path, digests) triples into the folder ``rpath``.

        ``run`` moves the files (the engine's: several at once, within the run's
        bound on transfers, each with its progress callback); one after another
        without it. ``sources``: {sha256: a file on the store with that
        content}, copied on the store instead of uploaded (see :meth:`copy`).
        The engine writes the folder's manifest afterwards; until then the folder
        is invisible to pulls, so its files need no temporary names.
        """
        member = partial(self.upload_member, rpath, sources=sources or {})
        (run or OneAfterAnother()).each(member, files)

    def upload_member(
        self,
        folder: str,
        file: FolderFile,
        callback: Callback,
        *,
        sources: Mapping[str, StoredCopy] | None = None,
    ) -> None:
        """One file of a folder artifact into ``folder``: no sidecar, no exclusivity;
        copied from its source in ``sources`` when that still holds its content."""
        lpath, relative, digests = file
        source = (sources or {}).get(digests["sha256"])
        if source is not None and self.copy(source, f"{folder}/{relative}", digests=digests):
            callback.relative_update(source.size)
            return
        self.upload(
            lpath,
            f"{folder}/{relative}",
            sha256=digests["sha256"],
            exclusive=False,
            record=False,
            callback=callback,
            digests=digests,
        )

    def copy(
        self,
        source: StoredCopy,
        rpath: str,
        *,
        exclusive: bool = False,
        record: bool = False,
        digests: Mapping[str, str] | None = None,
    ) -> bool:
        """Copy ``source`` to ``rpath`` on the store; True once ``rpath`` holds its content.

        The copy is verified: its size, and its sha256 where the store computes one
        (else the bytes streamed here). False when ``source`` is gone or no longer
        holds that content, with nothing left at ``rpath``: the caller uploads
        instead. ``exclusive`` and ``record`` as for :meth:`upload`; ``digests``: the
        content's digests the caller knows (those of ``upload_digests``).

        The generic way streams the bytes through this machine (hashed on the way)
        into a temporary name, renamed into place unless the store writes atomically.
        """
        if exclusive and self.fs.exists(rpath):
            raise FileExistsError(rpath)
        parent, base = _split(rpath)
        target = rpath if self.atomic_writes else (f"{parent}/" if parent else "") + temp_name(base)
        try:
            with self.fs.open(target, "wb") as out:
                writer = HashingWriter(out, limit=source.size, what=source.path)
                self.download(source.path, writer)
        except (FileNotFoundError, IntegrityError):  # gone, or longer than its content
            with contextlib.suppress(Exception):
                self.fs.rm_file(target)
            return False
        if (writer.bytes, writer.digests()["sha256"]) != (source.size, source.sha256):
            with contextlib.suppress(Exception):
                self.fs.rm_file(target)
            return False
        if record and not self.records_sha256:
            self.write_sidecar(rpath, source.sha256)
        if target != rpath:
            try:
                self.fs.mv(target, rpath)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.fs.rm_file(target)
                raise
        return True

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        """Write a small object (a manifest) whole; ``FileExistsError`` as for upload."""
        if exclusive and self.fs.exists(rpath):
            raise FileExistsError(rpath)
        self.fs.pipe_file(rpath, data)

    def write_sidecar(self, rpath: str, sha256: str) -> None:
        self.fs.pipe_file(rpath + SIDECAR_SUFFIX, f"{sha256}  {_split(rpath)[1]}\n".encode())

    def remove(self, rpath: str, *, recursive: bool = False) -> None:
        """Delete ``rpath``, the one path named (never read as a pattern), and its
        sidecar. A missing path raises FileNotFoundError."""
        remove_exactly(self.fs, rpath, recursive=recursive)
        if not self.records_sha256 and not recursive:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(rpath + SIDECAR_SUFFIX)

    def remove_file(self, rpath: str) -> None:
        """:meth:`remove` of a path the caller knows to be a file (a claim object it wrote
        or just read), so a store that asks what a path is before deleting it need not.
        A missing path raises FileNotFoundError where the store tells (S3 answers the
        delete of a missing object as done)."""
        self.remove(rpath)

    # -- unfinished uploads ----------------------------------------------------

    def pending_uploads(self, rpath: str, older_than: timedelta) -> list[PendingUpload]:
        """Uploads below ``rpath`` the store keeps unfinished, idle for ``older_than``."""
        return []  # a plain filesystem has none: its temporaries are files in the listing

    def abort_upload(self, upload: PendingUpload) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no unfinished uploads")

    # -- reads ----------------------------------------------------------------

    def download(
        self,
        rpath: str,
        out: Writable,
        *,
        callback: Callback | None = None,
        within: str | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        """Stream the bytes of ``rpath`` into ``out``.

        ``within``: a folder version that ``rpath`` lies in. Stores with links
        (a local folder) refuse a link at or below it; object stores have none.
        Where the download must stop (the listed size) is ``out``'s business.
        ``in_flight``: where a store whose reads can be ended from another thread
        registers its response (as :meth:`read_range` does), so that stopping the
        transfers it runs beside ends a read blocked on a stalled server; elsewhere the
        callback's stop between blocks is the only one. Each block is written (and its
        progress reported) within ``in_flight.writing``: none once they are stopped.
        """
        callback = callback or NoOpCallback()
        gate = in_flight or InFlight()
        with self.fs.open(rpath, "rb", block_size=self.transfer.part_size, cache_type="none") as f:
            while chunk := f.read(COPY_CHUNK):
                with gate.writing():
                    out.write(chunk)
                    callback.relative_update(len(chunk))

    def reading_folder(self, folder: str) -> contextlib.AbstractContextManager[None]:
        """The block in which many files of the folder version ``folder`` are downloaded
        (``within=folder``): a store may keep what it opens for them (the folder store, its
        folders' descriptors) until the block ends. Nothing, here."""
        return contextlib.nullcontext()

    def copy_members(
        self, folder: str, copies: Sequence[Copy], slots: Slots
    ) -> Iterator[Outcome | None] | None:
        """Copy the small files ``copies`` of the folder version ``folder`` (each a file to
        read below ``folder`` into a new local file, its folder made already) at once, if
        this store's files are on this machine: the outcome of each, in order (None for one
        not copied, which the caller removes and downloads), with worker processes beside
        the caller each in a place taken from ``slots`` (the run's bound on transfers in
        flight). None here: every file is downloaded by the caller."""
        return None

    def revision(self, entry: dict[str, Any]) -> str | None:
        """What tells this content of the listed object from any other (an ETag), or None."""
        return None

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
        """Stream bytes ``[start, end)`` of ``rpath`` into ``out`` with one request; where
        the store can, refused (a :class:`~fsartifacts.errors.TransferError`) once the
        object is no longer at ``revision`` (the whole file's sha256 is checked anyway).
        An answer that is not that range is :class:`~fsartifacts.errors.RangesNotServed`
        when the store does not serve it, a TransferError naming the file when the file
        is shorter (:mod:`fsartifacts.byteranges`). The response is read within
        ``in_flight.reading``, so another thread can end it. Only where
        ``serves_ranges``."""
        raise NotImplementedError(f"{type(self).__name__} serves no ranges")

    def read_bytes(self, rpath: str, *, limit: int | None = None) -> bytes:
        """The bytes of ``rpath``; with ``limit``, no more than its first ``limit + 1``
        (one ranged request): an object longer than what its reader ever writes (a small
        note someone planted, a damaged one) is cut there, where its reader sees it is
        not its own, instead of being read whole into memory."""
        if limit is None:
            return bytes(self.fs.cat_file(rpath))
        return bytes(self.fs.cat_file(rpath, start=0, end=limit + 1))

    def open_read(self, rpath: str) -> IO[bytes]:
        """A file object reading the remote file ``rpath``."""
        handle: IO[bytes] = self.fs.open(rpath, "rb")
        return handle

    def recorded_sha256(self, rpath: str, entry: dict[str, Any] | None = None) -> str | None:
        """The sha256 recorded when the object was pushed, or None."""
        if self.records_sha256:
            return None
        try:
            data = self.read_bytes(rpath + SIDECAR_SUFFIX, limit=SIDECAR_LIMIT)
            text = data.decode("utf-8", "replace")
        except FileNotFoundError:
            return None
        digest = text.split()[0].lower() if text.split() else ""
        return digest if len(digest) == 64 else None

    def native_checksum(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        """A content hash the store computed itself: (hashlib name, hex), or None."""
        return None
