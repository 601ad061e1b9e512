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
  ranged GET pinned to the ETag when the connection drops;
- a small object is replaced conditionally by its ETag (``If-Match``, or
  ``If-None-Match: *`` while it does not exist), so of two racing
  replacements the server lets one through.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import mimetypes
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import s3fs
from botocore.exceptions import IncompleteReadError
from fsspec.asyn import sync
from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.config.model import MiB, TransferSettings
from fsartifacts.errors import IntegrityError, TransferError
from fsartifacts.stores.base import ChangedMeanwhile, PendingUpload, Store, StoreOps, Writable
from fsartifacts.stores.s3 import uploads as s3_uploads
from fsartifacts.stores.s3.errors import conditional_write_unsupported, error_code, typed_errors
from fsartifacts.stores.s3.filesystem import (
    MAX_PARTS,
    MIN_PART_SIZE,
    PARTS_IN_FLIGHT,
    filesystem_for,
    part_size_for,
)
from fsartifacts.stores.s3.settings import S3Settings

__all__ = [
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "PARTS_IN_FLIGHT",
    "S3Ops",
    "open_s3_store",
    "part_size_for",
]

log = logging.getLogger(__name__)

DOWNLOAD_BLOCK = MiB  # bytes handed from the event loop to the caller per read
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys

_OPAQUE_ETAG_SSE = {"aws:kms", "aws:kms:dsse"}  # their ETags are not the MD5 of the content
_MD5_ETAG = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Errors of a response body being read: the request itself had succeeded.
_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    *s3fs.core.S3_RETRYABLE_ERRORS,
    IncompleteReadError,
)


def open_s3_store(settings: S3Settings, transfer: TransferSettings) -> Store:
    """The store ``repository.s3`` names: a fresh S3FileSystem and ``bucket[/prefix]``."""
    fs, root = filesystem_for(settings, transfer)
    return Store(fs=fs, root=root, ops=S3Ops(fs, transfer), display=f"s3://{root}")


# -- operations -----------------------------------------------------------------


class S3Ops(StoreOps):
    """StoreOps for s3fs: conditional creates, sha256 metadata, ETag checks, streamed GETs."""

    atomic_create = True
    atomic_writes = True
    records_sha256 = True

    def __init__(self, fs: Any, transfer: TransferSettings | None = None) -> None:
        super().__init__(fs, transfer)
        self._lock = threading.Lock()
        self._conditional_writes = True  # until the endpoint says it has none
        self._heads: OrderedDict[str, dict[str, Any]] = OrderedDict()  # recent HEADs by path

    # -- listings -----------------------------------------------------------------

    def listing(self, path: str) -> list[dict[str, Any]]:
        path = path.rstrip("/")
        with self._errors(path, "list"):
            try:
                entries = self.fs.ls(path, detail=True, refresh=True)
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

    # -- writes -------------------------------------------------------------------

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
    ) -> None:
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        size = os.path.getsize(lpath)
        part = part_size_for(size, self.transfer.part_size)
        metadata = self._metadata(sha256 if record else None)
        content_type = self._content_type(lpath)
        with self._errors(rpath, "upload to"):
            if size < 2 * part:  # s3fs's own rule for one PutObject
                with open(lpath, "rb") as f:
                    data = f.read()
                # Hash the very bytes about to be sent (in memory, under two parts:
                # no second read of the file). S3 never checks the sha256 we put
                # in the metadata, and a size + mtime check would miss a rewrite
                # of the same size within one mtime tick.
                if hashlib.sha256(data).hexdigest() != sha256.lower():
                    raise IntegrityError(
                        f"{lpath} changed while it was being pushed (its sha256 is no longer "
                        f"{sha256}); nothing was uploaded. Push again once it is complete."
                    )
                callback.set_size(len(data))
                self._put_small(bucket, key, data, metadata, content_type, exclusive=exclusive)
                callback.relative_update(len(data))
                return

            def put(conditional: bool) -> None:
                callback.absolute_update(0)  # a retried upload starts over
                self.fs.put_file(
                    lpath,
                    rpath,
                    callback=callback,
                    chunksize=part,
                    max_concurrency=PARTS_IN_FLIGHT,
                    mode="create" if conditional else "overwrite",
                    ContentType=content_type,
                    **({"Metadata": metadata} if metadata else {}),
                )

            self._write(bucket, key, put, exclusive=exclusive)

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        bucket, key = self._split(rpath)
        metadata = self._metadata(hashlib.sha256(data).hexdigest())
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        with self._errors(rpath, "upload to"):
            self._put_small(bucket, key, data, metadata, content_type, exclusive=exclusive)

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

    # -- conditional replacement ------------------------------------------------

    @property
    def atomic_replace(self) -> bool:
        return self._conditional_writes

    def read_revision(self, rpath: str) -> tuple[bytes, str] | None:
        """The object's bytes and its ETag, from one GET; None when it does not exist."""
        bucket, key = self._split(rpath)
        with self._errors(rpath, "download"):
            try:
                response = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
            except FileNotFoundError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise
                return None
            body, blocks = response["Body"], []
            try:
                while block := sync(self.fs.loop, _read_block, body, DOWNLOAD_BLOCK):
                    blocks.append(block)
            finally:
                _close(self.fs.loop, body)
        return b"".join(blocks), str(response.get("ETag", ""))

    def write_if(self, rpath: str, data: bytes, revision: str | None) -> None:
        """One PutObject conditioned on the ETag read (``If-Match``), or on absence."""
        if not self._conditional_writes:
            super().write_if(rpath, data, revision)
            return
        bucket, key = self._split(rpath)
        condition = {"IfMatch": revision} if revision is not None else {"IfNoneMatch": "*"}
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._errors(rpath, "upload to"):
            try:
                response = self.fs.call_s3(
                    "put_object",
                    Bucket=bucket,
                    Key=key,
                    Body=data,
                    ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream",
                    Metadata=self._metadata(hashlib.sha256(data).hexdigest()) or {},
                    **condition,
                )
            except FileExistsError as exc:
                raise ChangedMeanwhile("it was created since it was read") from exc
            except FileNotFoundError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise
                raise ChangedMeanwhile("it was removed since it was read") from exc
            except OSError as exc:
                code = error_code(exc)
                if code == "PreconditionFailed":
                    raise ChangedMeanwhile("it was changed since it was read") from exc
                if code == "ConditionalRequestConflict":
                    raise ChangedMeanwhile("another change of it was under way") from exc
                if not conditional_write_unsupported(exc):
                    raise
                self._note_no_conditional_writes(bucket)
                response = None
            finally:
                self.fs.invalidate_cache(f"{bucket}/{key}")
        if response is None:
            super().write_if(rpath, data, revision)
            return
        self._check_etag(bucket, key, response, md5)

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
    ) -> None:
        """One streamed GET (moto and S3 both serve it at full speed), read in 1 MiB blocks.

        A dropped connection resumes with a ranged GET pinned to the ETag, so
        the bytes cannot come from two versions of the object.
        """
        callback = callback or NoOpCallback()
        bucket, key = self._split(rpath)
        with self._errors(rpath, "download"):
            response = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
            etag, total = response.get("ETag"), response.get("ContentLength")
            callback.set_size(total)
            body, done, failures = response["Body"], 0, 0
            try:
                while True:
                    try:
                        block = sync(self.fs.loop, _read_block, body, DOWNLOAD_BLOCK)
                    except _STREAM_ERRORS as exc:
                        if total is not None and done >= total:
                            break  # every byte arrived; only the goodbye failed
                        failures += 1
                        if failures >= self.transfer.attempts:
                            raise TransferError(
                                f"downloading {self._url(rpath)} failed {failures} times "
                                f"({exc}); check the network and try again"
                            ) from exc
                        _close(self.fs.loop, body)
                        time.sleep(min(0.1 * 2**failures, 5.0))
                        log.debug("resuming %s at byte %d after %s", rpath, done, exc)
                        body = self._resume(rpath, etag, done)
                        continue
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    callback.relative_update(len(block))
            finally:
                _close(self.fs.loop, body)
        if total is not None and done != total:
            raise TransferError(
                f"downloading {self._url(rpath)}: got {done} of {total} bytes; try again"
            )

    def _resume(self, rpath: str, etag: str | None, offset: int) -> Any:
        """The rest of the object from ``offset``, provided it is still the same object."""
        bucket, key = self._split(rpath)
        try:
            response = self.fs.call_s3(
                "get_object",
                Bucket=bucket,
                Key=key,
                Range=f"bytes={offset}-",
                **({"IfMatch": etag} if etag else {}),
            )
        except OSError as exc:
            if error_code(exc) != "PreconditionFailed":
                raise
            raise TransferError(
                f"{self._url(rpath)} was replaced while it was being downloaded; try again"
            ) from exc
        return response["Body"]

    def read_bytes(self, rpath: str) -> bytes:
        with self._errors(rpath, "download"):
            return super().read_bytes(rpath)

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
        if not _MD5_ETAG.fullmatch(etag):
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
        return None if _opaque_etag(head) else ("md5", etag)

    # -- helpers ------------------------------------------------------------------

    def _put_small(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str] | None,
        content_type: str,
        *,
        exclusive: bool,
    ) -> None:
        """One PutObject, checked against the ETag S3 answers with."""
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        extra: dict[str, Any] = {"ContentType": content_type}
        if metadata:
            extra["Metadata"] = metadata

        def put(conditional: bool) -> None:
            response = self.fs.call_s3(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=data,
                **extra,
                **({"IfNoneMatch": "*"} if conditional else {}),
            )
            self._check_etag(bucket, key, response, md5)

        self._write(bucket, key, put, exclusive=exclusive)
        self.fs.invalidate_cache(f"{bucket}/{key}")

    def _write(
        self, bucket: str, key: str, put: Callable[[bool], None], *, exclusive: bool
    ) -> None:
        """Run ``put(conditional)`` so that an exclusive write never replaces an object."""
        if not exclusive:
            put(False)
            return
        if self._conditional_writes:
            for attempt in range(1, self.transfer.attempts + 1):
                try:
                    put(True)
                    return
                except FileExistsError as exc:
                    raise FileExistsError(
                        errno.EEXIST, "already exists", f"s3://{bucket}/{key}"
                    ) from exc
                except OSError as exc:
                    # 409: a concurrent write or delete of the key was in
                    # progress; S3 asks to retry, and the retry settles it.
                    if error_code(exc) == "ConditionalRequestConflict":
                        if attempt < self.transfer.attempts:
                            continue
                        raise
                    if not conditional_write_unsupported(exc):
                        raise
                    self._note_no_conditional_writes(bucket)
                    break
        if self._head(bucket, key) is not None:
            raise FileExistsError(errno.EEXIST, "already exists", f"s3://{bucket}/{key}")
        put(False)

    def _note_no_conditional_writes(self, bucket: str) -> None:
        with self._lock:
            if not self._conditional_writes:
                return
            self._conditional_writes = False
        log.info(
            "the S3 endpoint of bucket %s does not support conditional writes "
            "(If-None-Match); checking for an existing object before each upload instead, "
            "so two pushes racing for the same name could both succeed",
            bucket,
        )

    def _check_etag(self, bucket: str, key: str, response: dict[str, Any], md5: str) -> None:
        """A single-part ETag is the MD5 of what S3 stored: it must be the MD5 we sent."""
        etag = str(response.get("ETag", "")).strip('"').lower()
        if not _MD5_ETAG.fullmatch(etag) or _opaque_etag(response) or etag == md5:
            return
        deleted = True
        try:
            # Only our own write: another writer's newer object has another ETag.
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        except Exception as exc:  # the IntegrityError below matters more
            log.warning("could not delete the corrupted s3://%s/%s: %s", bucket, key, exc)
            deleted = False
        self.fs.invalidate_cache(f"{bucket}/{key}")
        raise IntegrityError(
            f"s3://{bucket}/{key}: S3 stored bytes with MD5 {etag} but {md5} was sent, so the "
            "upload was corrupted on the way"
            + ("; the bad object was deleted" if deleted else "; delete the bad object")
            + ". Push again; if it recurs, check proxies between here and the endpoint."
        )

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        """HeadObject, remembered for native_checksum; None when there is no such key."""
        try:
            head = self.fs.call_s3("head_object", Bucket=bucket, Key=key)
        except FileNotFoundError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise
            return None
        with self._lock:
            self._heads[f"{bucket}/{key}"] = head
            while len(self._heads) > 1024:
                self._heads.popitem(last=False)
        return dict(head)

    def _children(self, bucket: str, key: str, limit: int | None = None) -> list[str]:
        """Every key below the folder ``key`` (all pages), or up to ``limit`` of them."""
        found: list[str] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": key.rstrip("/") + "/"}
        while True:
            page = self.fs.call_s3("list_objects_v2", **request)
            found.extend(item["Key"] for item in page.get("Contents", []))
            if (limit and len(found) >= limit) or not page.get("IsTruncated"):
                return found[:limit] if limit else found
            request["ContinuationToken"] = page["NextContinuationToken"]

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        """DeleteObjects in batches, raising on the first key S3 did not delete."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = self.fs.call_s3(
                "delete_objects",
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            failed = response.get("Errors") or []
            if failed:
                first = failed[0]
                raise OSError(
                    errno.EIO,
                    f"S3 did not delete {len(failed)} object(s), first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}",
                    f"s3://{bucket}/{first.get('Key')}",
                )

    def _metadata(self, sha256: str | None) -> dict[str, str] | None:
        user = dict(self.fs.s3_additional_kwargs.get("Metadata") or {})
        if sha256:
            user["sha256"] = sha256.lower()
        return user or None

    def _content_type(self, lpath: str) -> str:
        given = self.fs.s3_additional_kwargs.get("ContentType")
        return given or mimetypes.guess_type(lpath)[0] or "application/octet-stream"

    def _split(self, rpath: str) -> tuple[str, str]:
        bucket, key, _ = self.fs.split_path(rpath)
        return bucket, key

    @staticmethod
    def _url(rpath: str) -> str:
        return f"s3://{rpath.removeprefix('s3://')}"

    def _errors(self, rpath: str, doing: str) -> contextlib.AbstractContextManager[None]:
        """Credential, permission and connection failures as typed errors (see s3_errors)."""
        return typed_errors(
            self._url(rpath),
            doing,
            attempts=self.transfer.attempts,
            bucket_of=lambda: self._split(rpath)[0],
        )


async def _read_block(body: Any, size: int) -> bytes:
    """Up to ``size`` bytes of a response body (fewer only at its end)."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = await body.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _close(loop: Any, body: Any) -> None:
    with contextlib.suppress(Exception):
        sync(loop, body.aclose)


def _opaque_etag(head: dict[str, Any]) -> bool:
    """SSE-KMS and SSE-C objects have ETags that are not the MD5 of their content."""
    return head.get("ServerSideEncryption") in _OPAQUE_ETAG_SSE or bool(
        head.get("SSECustomerAlgorithm")
    )
