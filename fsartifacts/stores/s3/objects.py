"""What every S3 operation of :class:`~fsartifacts.stores.s3.ops.S3Ops` shares: paths,
HEADs remembered, listings and batch deletes by key, metadata, and S3's failures as
typed errors.
"""

from __future__ import annotations

import contextlib
import errno
import io
import mimetypes
import re
import threading
from collections import OrderedDict
from typing import Any

from fsspec.asyn import sync

from fsartifacts.config.model import TransferSettings
from fsartifacts.sizes import MiB
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.s3.errors import error_code, typed_errors

DOWNLOAD_BLOCK = MiB  # bytes handed from the event loop to the caller per read
SEND_BLOCK = MiB  # bytes of an upload's body handed to the socket per write
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys

_OPAQUE_ETAG_SSE = {"aws:kms", "aws:kms:dsse"}  # their ETags are not the MD5 of the content
MD5_ETAG = re.compile(r"[0-9a-f]{32}")


class S3Objects(StoreOps):
    """The shared state and requests of the S3 ops."""

    def __init__(self, fs: Any, transfer: TransferSettings | None = None) -> None:
        super().__init__(fs, transfer)
        self._lock = threading.Lock()
        self._conditional_writes = True  # until the endpoint says it has none
        self._heads: OrderedDict[str, dict[str, Any]] = OrderedDict()  # recent HEADs by path

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


class SendBody(io.BytesIO):
    """The body of a PutObject or UploadPart, read out in blocks of at least SEND_BLOCK.

    aiohttp sends a BytesIO body (botocore turns bytes into one) in reads of 256 KiB, a
    write call each; the checksums botocore computes read it their own way, unchanged.
    A BytesIO made from bytes shares them until its buffer is asked for, and aiohttp asks
    for it only to measure the body: it is answered from the bytes, so a part in flight
    is held once in memory, not twice.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._data = data

    def getbuffer(self) -> memoryview:
        return memoryview(self._data)

    def read(self, size: int | None = -1, /) -> bytes:
        if size is not None and 0 < size < SEND_BLOCK:
            size = SEND_BLOCK
        return super().read(size)


async def read_block(body: Any, size: int) -> bytes:
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


def close_body(loop: Any, body: Any) -> None:
    with contextlib.suppress(Exception):
        sync(loop, body.aclose)


def end_body(loop: Any, body: Any) -> None:
    """Close ``body`` from any thread (the loop's own too) without waiting: a read of it
    blocked on the loop raises then."""
    loop.call_soon_threadsafe(body.close)


def opaque_etag(head: dict[str, Any]) -> bool:
    """SSE-KMS and SSE-C objects have ETags that are not the MD5 of their content."""
    return head.get("ServerSideEncryption") in _OPAQUE_ETAG_SSE or bool(
        head.get("SSECustomerAlgorithm")
    )
