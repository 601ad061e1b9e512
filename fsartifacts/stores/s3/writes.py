"""Writes to S3: create-if-absent uploads, sha256 metadata, ETag checks, copies S3
makes itself, and conditional replacement of small objects (see
:mod:`fsartifacts.stores.s3.ops`)."""

from __future__ import annotations

import errno
import hashlib
import logging
import mimetypes
import os
from collections.abc import Callable, Mapping
from typing import IO, Any

from fsspec.asyn import sync
from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import FileDigests
from fsartifacts.stores.base import StoredCopy
from fsartifacts.stores.conditional import ChangedMeanwhile
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.s3 import copies as s3_copies
from fsartifacts.stores.s3.errors import conditional_write_unsupported, error_code
from fsartifacts.stores.s3.filesystem import PARTS_IN_FLIGHT, part_size_for
from fsartifacts.stores.s3.multipart import hashed_stat, upload_in_parts
from fsartifacts.stores.s3.objects import (
    DOWNLOAD_BLOCK,
    MD5_ETAG,
    SendBody,
    close_body,
    opaque_etag,
    read_block,
)
from fsartifacts.stores.s3.oneput import OnePutUploads
from fsartifacts.stores.s3.parts import (
    PartsUpload,
    changed_while_pushed,
    crc32_checksum,
    hashed_in_parts,
    sends_crc32,
)

log = logging.getLogger("fsartifacts.stores.s3.ops")  # the ops' logger, as before the split


class S3Writes(OnePutUploads):
    """The writes of the S3 ops (a file for one PutObject: :class:`OnePutUploads`)."""

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
        journals: UploadJournals | None = None,
    ) -> None:
        """One PutObject under two parts, else a multipart upload that a later run
        continues where ``journals`` keeps its journal (see :mod:`.multipart`)."""
        callback = callback or NoOpCallback()
        stat = hashed_stat(lpath, digests)
        size = stat.st_size
        if self._one_put(size):
            with self._errors(rpath, "upload to"), open(lpath, "rb") as f:
                data = f.read()
            # Hash the very bytes about to be sent (in memory, under two parts). S3 never
            # checks the sha256 we put in the metadata, and a size + mtime check would
            # miss a rewrite of the same size within one mtime tick. (Read and hashed
            # here again only when the caller hashed the file first: see upload_hashing.)
            if hashlib.sha256(data).hexdigest() != sha256.lower():
                raise changed_while_pushed(lpath, sha256)
            self._send(rpath, lpath, data, sha256, exclusive=exclusive, record=record,
                       callback=callback)  # fmt: skip
            return
        self._upload_parts(lpath, rpath, size, stat.st_mtime_ns, sha256, exclusive=exclusive,
                           record=record, callback=callback, journals=journals)  # fmt: skip

    def upload_hashing(
        self,
        src: IO[bytes],
        rpath: str,
        *,
        exclusive: bool,
        callback: Callback | None = None,
        journals: UploadJournals | None = None,
    ) -> FileDigests:
        """A file for one PutObject read once (see OnePutUploads); a larger one read once
        for its digests, which its multipart upload begins with, and each part's CRC32,
        then once more to be sent, each part checked against its CRC32."""
        opened = os.fstat(src.fileno())
        if self._one_put(opened.st_size):
            return super().upload_hashing(src, rpath, exclusive=exclusive, callback=callback,
                                          journals=journals)  # fmt: skip
        part = part_size_for(opened.st_size, self.transfer.part_size)
        with self._errors(rpath, "upload to"):
            hexdigests, crcs = hashed_in_parts(src, opened.st_size, part, self._wanted())
        digests = FileDigests(hexdigests, opened)
        self._upload_parts(src.name, rpath, opened.st_size, opened.st_mtime_ns,
                           digests["sha256"], exclusive=exclusive, record=True,
                           callback=callback or NoOpCallback(), journals=journals,
                           part_crc32s=crcs)  # fmt: skip
        return digests

    def _upload_parts(
        self,
        lpath: str,
        rpath: str,
        size: int,
        mtime_ns: int,
        sha256: str,
        *,
        exclusive: bool,
        record: bool,
        callback: Callback,
        journals: UploadJournals | None,
        part_crc32s: tuple[str, ...] = (),
    ) -> None:
        """A multipart upload that a later run continues where ``journals`` keeps its
        journal (see :mod:`.multipart`); ``part_crc32s`` as :class:`PartsUpload` has it."""
        bucket, key = self._split(rpath)
        part = part_size_for(size, self.transfer.part_size)
        metadata = self._metadata(sha256 if record else None)
        content_type = self._content_type(lpath)
        with self._errors(rpath, "upload to"):
            # Parts sent with their CRC32 declare it: S3 then keeps the composite of the
            # parts' CRC32s as the object's checksum, where an undeclared upload has it
            # compute a CRC64NVME of the whole object at Complete, a second pass over
            # every byte that the push waits for.
            declared = {"ChecksumAlgorithm": "CRC32"} if sends_crc32(self.fs) else {}
            upload = PartsUpload(
                lpath, bucket, key, size, mtime_ns, sha256, part,
                {"ContentType": content_type, **({"Metadata": metadata} if metadata else {}),
                 **declared},
                part_crc32s,
            )  # fmt: skip

            def put(conditional: bool) -> None:
                callback.set_size(size)
                callback.absolute_update(0)  # a retried upload counts again what it reuses
                upload_in_parts(
                    self.fs,
                    upload,
                    conditional=conditional,
                    callback=callback,
                    journals=journals,
                    parts_in_flight=PARTS_IN_FLIGHT,
                )

            try:
                self._write(bucket, key, put, exclusive=exclusive)
            finally:
                self.fs.invalidate_cache(rpath)

    def copy(
        self,
        source: StoredCopy,
        rpath: str,
        *,
        exclusive: bool = False,
        record: bool = False,
        digests: Mapping[str, str] | None = None,
    ) -> bool:
        """A copy S3 makes (see :mod:`fsartifacts.stores.s3.copies`), verified by the
        sha256 S3 computes of it where it offers one, else by its size.

        Exclusive: checked absent first as well, since some endpoints (moto) ignore
        ``If-None-Match`` on a copy where they honour it on a PutObject.
        """
        bucket, key = self._split(rpath)
        metadata = self._metadata(source.sha256 if record else None) or {}
        content_type = self._content_type(rpath)
        sha256: str | None = None
        with self._errors(rpath, "copy to"):
            try:
                if exclusive and self._head(bucket, key) is not None:
                    raise FileExistsError(errno.EEXIST, "already exists", f"s3://{bucket}/{key}")
                if source.size > s3_copies.COPY_OBJECT_LIMIT:
                    s3_copies.copy_in_parts(
                        self.fs, source.path, source.size, rpath, metadata, content_type
                    )
                else:

                    def put(conditional: bool) -> None:
                        nonlocal sha256
                        sha256 = s3_copies.copy_object(
                            self.fs, source.path, rpath, metadata, content_type,
                            conditional=conditional,
                        )  # fmt: skip

                    self._write(bucket, key, put, exclusive=exclusive)
            except FileNotFoundError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise
                return False  # the source is gone: removed since its manifest was read
            finally:
                self.fs.invalidate_cache(rpath)
            if sha256 is not None:
                if sha256 == source.sha256:
                    return True
                problem = "its sha256 is not the source's"
            else:
                head = self._head(bucket, key)
                size = None if head is None else head.get("ContentLength")
                if size == source.size:
                    log.debug("%s: S3 gave no sha256 of the copy; checked by size", rpath)
                    return True
                problem = f"it holds {size} bytes, not {source.size}"
            log.info("the copy of %s to %s is not its content (%s); uploading", source.path,
                     rpath, problem)  # fmt: skip
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
        return False

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        bucket, key = self._split(rpath)
        metadata = self._metadata(hashlib.sha256(data).hexdigest())
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        with self._errors(rpath, "upload to"):
            self._put_small(bucket, key, data, metadata, content_type, exclusive=exclusive)

    def lists_content(self, entry: dict[str, Any], data: bytes) -> bool:
        """A listed object's ETag is the MD5 of its bytes when sent in one PutObject; that
        of another content, or an encrypted object's opaque ETag, is not the MD5 of
        ``data``."""
        etag = str(entry.get("ETag", "")).strip('"').lower()
        return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()

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
                while block := sync(self.fs.loop, read_block, body, DOWNLOAD_BLOCK):
                    blocks.append(block)
            finally:
                close_body(self.fs.loop, body)
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
                    Body=SendBody(data),
                    ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream",
                    Metadata=self._metadata(hashlib.sha256(data).hexdigest()) or {},
                    **self._checksum(data),
                    **condition,
                )
            except FileExistsError as exc:
                raise ChangedMeanwhile("another process created it since it was read") from exc
            except FileNotFoundError as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise
                raise ChangedMeanwhile("another process removed it since it was read") from exc
            except OSError as exc:
                code = error_code(exc)
                if code == "PreconditionFailed":
                    raise ChangedMeanwhile("another process changed it since it was read") from exc
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
        extra: dict[str, Any] = {"ContentType": content_type, **self._checksum(data)}
        if metadata:
            extra["Metadata"] = metadata

        def put(conditional: bool) -> None:
            response = self.fs.call_s3(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=SendBody(data),
                **extra,
                **({"IfNoneMatch": "*"} if conditional else {}),
            )
            self._check_etag(bucket, key, response, md5)

        self._write(bucket, key, put, exclusive=exclusive)
        self.fs.invalidate_cache(f"{bucket}/{key}")

    def _checksum(self, data: bytes) -> dict[str, str]:
        """The checksum headers botocore would send with a PutObject, its CRC32 computed
        here (the caller's thread) instead of on s3fs's event loop, which every request
        shares; nothing with ``checksums: when_required``."""
        if not sends_crc32(self.fs):
            return {}
        return {"ChecksumAlgorithm": "CRC32", "ChecksumCRC32": crc32_checksum(data)}

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
        if not MD5_ETAG.fullmatch(etag) or opaque_etag(response) or etag == md5:
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
