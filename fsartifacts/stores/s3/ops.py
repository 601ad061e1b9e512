"""S3 as a store: the ``repository.s3`` config to an s3fs filesystem, and what S3 does better.

Imported only when S3 is configured (or an ``s3://`` URL is used), so that
s3fs and botocore load only then. The config checks are in
:mod:`fsartifacts.stores.s3.filesystem`, the meaning of S3's failures in
:mod:`fsartifacts.stores.s3.errors`.

What :class:`S3Ops` adds over the generic way:

- exclusive uploads are create-if-absent on the server (``If-None-Match: *``
  on PutObject and CompleteMultipartUpload), with a logged check-then-put
  fallback for endpoints that do not implement conditional writes;
- the sha256 travels in the object's metadata (``x-amz-meta-sha256``);
- single-part uploads are checked against the ETag S3 returns (the MD5 of
  what it stored), multipart ETags (``...-N``) are never taken for a hash;
- a download is one streamed GET read in bounded blocks, resumed with a
  ranged GET pinned to the ETag when the connection drops; a large one is
  several such ranged GETs at once (``serves_ranges``);
- a small object is replaced conditionally by its ETag (``If-Match``, or
  ``If-None-Match: *`` while it does not exist), so of two racing
  replacements the server lets one through;
- a copy is made by S3 itself (``copies_on_store``, :mod:`~fsartifacts.stores.s3.copies`),
  checked against the sha256 S3 computes of it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

# isort: split
# First, so that aiohttp (imported by s3fs) makes its unused TLS contexts deferred.
import fsartifacts.stores.s3.tls  # noqa: F401

# isort: split
import s3fs
from botocore.exceptions import IncompleteReadError
from fsspec.asyn import sync
from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.byteranges import NOT_SERVED, range_problem, shorter_message
from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import RangesNotServed, TransferError
from fsartifacts.inflight import Current, InFlight
from fsartifacts.stores.base import PendingUpload, Writable
from fsartifacts.stores.s3 import uploads as s3_uploads
from fsartifacts.stores.s3.errors import error_code
from fsartifacts.stores.s3.filesystem import filesystem_for
from fsartifacts.stores.s3.objects import (
    DOWNLOAD_BLOCK,
    MD5_ETAG,
    close_body,
    end_body,
    opaque_etag,
    read_block,
)
from fsartifacts.stores.s3.readahead import ReadAhead
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.stores.s3.writes import S3Writes
from fsartifacts.stores.store import Store

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Errors of a response body being read: the request itself had succeeded.
_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    *s3fs.core.S3_RETRYABLE_ERRORS,
    IncompleteReadError,
)


@dataclass
class _Opened:
    """A GetObject's response and what was read of its body in the same crossing."""

    response: dict[str, Any]
    block: bytes | None  # the first block; None when reading it failed (``error``)
    closed: bool  # the body was read to its end and let go
    error: BaseException | None = None


async def _get_first_block(fs: Any, bucket: str, key: str, size: int, current: Current) -> _Opened:
    """GetObject and up to ``size`` bytes of its body (``current`` from the moment it
    exists); a shorter block is the whole of it, and the body is closed then. A failure of
    the read is handed back, not raised: the caller resumes from the response it has."""
    response = await fs._call_s3("get_object", Bucket=bucket, Key=key)
    current.now(response["Body"])
    try:
        block = await read_block(response["Body"], size)
    except _STREAM_ERRORS as exc:
        return _Opened(response, None, False, exc)
    except BaseException:
        with contextlib.suppress(Exception):
            await response["Body"].aclose()
        raise
    if len(block) < size:
        with contextlib.suppress(Exception):
            await response["Body"].aclose()
        return _Opened(response, block, True)
    return _Opened(response, block, False)


def open_s3_store(settings: S3Settings, transfer: TransferSettings) -> Store:
    """The store ``repository.s3`` names: a fresh S3FileSystem and ``bucket[/prefix]``."""
    fs, root = filesystem_for(settings, transfer)
    return Store(fs=fs, root=root, ops=S3Ops(fs, transfer), display=f"s3://{root}")


# -- operations -----------------------------------------------------------------


class S3Ops(S3Writes):
    """StoreOps for s3fs: conditional creates, sha256 metadata, ETag checks, streamed GETs.

    The writes are :class:`~fsartifacts.stores.s3.writes.S3Writes`'; what every
    request shares is :class:`~fsartifacts.stores.s3.objects.S3Objects`.
    """

    atomic_create = True
    atomic_writes = True
    records_sha256 = True
    copies_on_store = True
    serves_ranges = True

    # -- listings -----------------------------------------------------------------

    def listing(self, path: str) -> list[dict[str, Any]]:
        path = path.rstrip("/")
        with self._errors(path, "list"):
            try:
                # The folder's own listing: s3fs's ls lists the parent too when the folder
                # is empty (to tell a file there), a second request of each push into a
                # new folder, and a file at ``path`` is no folder of artifacts anyway.
                entries = sync(self.fs.loop, self.fs._lsdir, path, refresh=True)
            except FileNotFoundError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise
                return []
        # A zero-byte "folder/" marker (consoles make them) is not an entry of
        # the folder, and a file at ``path`` itself is not a folder of artifacts.
        entries = [e for e in entries if e["name"] != path + "/"]
        if len(entries) == 1 and entries[0]["name"] == path:
            return []
        return entries

    # -- deletes ------------------------------------------------------------------

    def remove(self, rpath: str, *, recursive: bool = False) -> None:
        bucket, key = self._split(rpath)
        if not key:
            raise ValueError(f"refusing to remove the whole bucket {bucket!r}")
        with self._errors(rpath, "delete"):
            exists = self._head(bucket, key) is not None
            if not recursive:
                if not exists:
                    if self._children(bucket, key, limit=1):
                        raise IsADirectoryError(
                            errno.EISDIR, "a folder: remove it recursively", rpath
                        )
                    raise FileNotFoundError(errno.ENOENT, "no such object", self._url(rpath))
                self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
            else:
                keys = ([key] if exists else []) + self._children(bucket, key)
                if not keys:
                    raise FileNotFoundError(
                        errno.ENOENT, "no such object or folder", self._url(rpath)
                    )
                self._delete_keys(bucket, keys)
        self.fs.invalidate_cache(rpath)

    def remove_file(self, rpath: str) -> None:
        """One DELETE, without the HEAD :meth:`remove` sends first: S3 deletes that one
        object only, and answers a delete of a missing one as done (no error then)."""
        bucket, key = self._split(rpath)
        if not key:
            raise ValueError(f"refusing to remove the whole bucket {bucket!r}")
        with self._errors(rpath, "delete"):
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
        self.fs.invalidate_cache(rpath)

    # -- unfinished uploads -------------------------------------------------------

    def pending_uploads(self, rpath: str, older_than: timedelta) -> list[PendingUpload]:
        with self._errors(rpath, "list the unfinished uploads under"):
            return s3_uploads.pending_uploads(self.fs, rpath, older_than)

    def abort_upload(self, upload: PendingUpload) -> None:
        with self._errors(upload.path, "abort the unfinished upload to"):
            s3_uploads.abort_upload(self.fs, upload)

    # -- reads --------------------------------------------------------------------

    def download(
        self,
        rpath: str,
        out: Writable,
        *,
        callback: Callback | None = None,
        within: str | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        """One streamed GET (moto and S3 both serve it at full speed), read in 1 MiB blocks
        on the event loop ahead of the writes (:mod:`~fsartifacts.stores.s3.readahead`).

        A dropped connection resumes with a ranged GET pinned to the ETag, so
        the bytes cannot come from two versions of the object. The body being read is
        ``in_flight``'s to end (and then none is resumed); each block is written (and
        reported) within ``in_flight.writing``.
        """
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        current = Current(partial(end_body, self.fs.loop))
        gate = in_flight or InFlight()
        with self._errors(rpath, "download"), gate.reading(current.end):
            # The request and its first block in one crossing to the event loop (and,
            # when that block is the whole object, the goodbye too): s3fs runs every
            # request on one loop thread, and a folder of small files spent three more
            # crossings per file waiting on it.
            opened = sync(self.fs.loop, _get_first_block, self.fs, bucket, key, DOWNLOAD_BLOCK,
                          current)  # fmt: skip
            etag, total = opened.response.get("ETag"), opened.response.get("ContentLength")
            callback.set_size(total)
            body, done, failures = opened.response["Body"], 0, 0
            closed, first, error = opened.closed, opened.block, opened.error
            reader: ReadAhead | None = None  # the rest of ``body``, read ahead of the writes
            try:
                while True:
                    try:
                        if error is not None:
                            raise error
                        if first is not None:
                            block, first = first, None
                        elif closed:
                            block = b""
                        else:
                            reader = reader or ReadAhead(self.fs.loop, body)
                            block = reader.next()
                    except _STREAM_ERRORS as exc:
                        error = None
                        if total is not None and done >= total:
                            break  # every byte arrived; only the goodbye failed
                        current.check()  # ended under it: not resumed
                        failures += 1
                        if failures >= self.transfer.attempts:
                            raise TransferError(
                                f"downloading {self._url(rpath)} failed {failures} times "
                                f"({exc}); check the network and try again"
                            ) from exc
                        if reader is not None:
                            reader.stop()
                            reader = None
                        close_body(self.fs.loop, body)
                        time.sleep(min(0.1 * 2**failures, 5.0))
                        log.debug("resuming %s at byte %d after %s", rpath, done, exc)
                        try:
                            body, closed = self._resume(rpath, etag, done), False
                            current.now(body)
                        except RangesNotServed:
                            closed = True  # closed above; the whole object was not read
                            log.debug("%s: the store does not serve ranges; the download "
                                      "starts over", rpath)  # fmt: skip
                            raise exc from None
                        continue
                    if not block:
                        break
                    with gate.writing():  # a block read once stopped goes nowhere
                        out.write(block)
                        done += len(block)
                        callback.relative_update(len(block))
            finally:
                if reader is not None:
                    reader.stop()
                if not closed:
                    close_body(self.fs.loop, body)
        if total is not None and done != total:
            raise TransferError(
                f"downloading {self._url(rpath)}: got {done} of {total} bytes; try again"
            )

    def _resume(self, rpath: str, etag: str | None, offset: int, end: int | None = None) -> Any:
        """The body of the object from ``offset`` (to ``end``; None: its end), provided it
        is still the same object and the answer is that range
        (:func:`~fsartifacts.byteranges.range_problem`): a store that does not serve it is
        :class:`~fsartifacts.errors.RangesNotServed`, one shorter than asked a
        TransferError, both raised with the body unread."""
        bucket, key = self._split(rpath)
        try:
            response = self.fs.call_s3(
                "get_object",
                Bucket=bucket,
                Key=key,
                Range=f"bytes={offset}-{'' if end is None else end - 1}",
                **({"IfMatch": etag} if etag else {}),
            )
        except OSError as exc:
            code = error_code(exc)
            if code == "InvalidRange":
                short = range_problem(offset, end, 416, None)
                assert short is not None
                raise TransferError(shorter_message(self._url(rpath), short.detail)) from exc
            if code != "PreconditionFailed":
                raise
            raise TransferError(
                f"{self._url(rpath)} was replaced while it was being downloaded; try again"
            ) from exc
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        problem = range_problem(offset, end, status, response.get("ContentRange"),
                                may_end_early=end is None)  # fmt: skip
        if problem is not None:
            close_body(self.fs.loop, response["Body"])
            if problem.kind == NOT_SERVED:
                raise RangesNotServed(f"{self._url(rpath)}: {problem.detail}")
            raise TransferError(shorter_message(self._url(rpath), problem.detail))
        return response["Body"]

    def revision(self, entry: dict[str, Any]) -> str | None:
        etag = entry.get("ETag")
        return str(etag) if etag else None

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
        """One GET of ``Range: bytes=start-(end-1)`` pinned to the ETag (``If-Match``)."""
        with self._errors(rpath, "download"):
            body = self._resume(rpath, revision, start, end)
            reader = ReadAhead(self.fs.loop, body)
            try:
                with (in_flight or InFlight()).reading(partial(close_body, self.fs.loop, body)):
                    while block := reader.next():
                        out.write(block)
            finally:
                reader.stop()
                close_body(self.fs.loop, body)

    def read_bytes(self, rpath: str, *, limit: int | None = None) -> bytes:
        with self._errors(rpath, "download"):
            try:
                return super().read_bytes(rpath, limit=limit)
            except OSError as exc:
                # S3 refuses every range of an empty object (InvalidRange, 416): nothing to read.
                if limit is not None and exc.errno == errno.EINVAL and self.fs.size(rpath) == 0:
                    return b""
                raise

    def recorded_sha256(self, rpath: str, entry: dict[str, Any] | None = None) -> str | None:
        """The ``sha256`` in the object's metadata (one HEAD); None without one."""
        bucket, key = self._split(rpath)
        with self._errors(rpath, "read the metadata of"):
            head = self._head(bucket, key)
        if head is None:
            return None  # gone since it was listed: the download will say so
        digest = str(head.get("Metadata", {}).get("sha256", "")).strip().lower()
        return digest if _SHA256.fullmatch(digest) else None

    def native_checksum(self, entry: dict[str, Any]) -> tuple[str, str] | None:
        """("md5", hex) when the ETag is the MD5 of the content: single-part, not SSE-KMS/SSE-C.

        A listing does not say how an object is encrypted (a bucket's default
        can be KMS), so that comes from a HEAD: the one recorded_sha256 made,
        or a new one.
        """
        etag = str(entry.get("ETag", "")).strip('"').lower()
        if not MD5_ETAG.fullmatch(etag):
            return None  # multipart ("...-N") or not an MD5 at all
        path = entry["name"]
        with self._lock:
            head = self._heads.get(path)
        if head is None or str(head.get("ETag", "")).strip('"').lower() != etag:
            bucket, key = self._split(path)
            with self._errors(path, "read the metadata of"):
                head = self._head(bucket, key)
        if head is None or str(head.get("ETag", "")).strip('"').lower() != etag:
            return None  # gone or replaced since it was listed: nothing to vouch for
        return None if opaque_etag(head) else ("md5", etag)
