"""Copies S3 makes itself, sending no object bytes through this machine.

Up to 5 GiB one CopyObject, asking S3 for the sha256 of what it wrote
(``ChecksumAlgorithm``), so the copy is checked against the content it should
hold without reading it. Above that, CopyObject refuses and s3fs's multipart
copy (UploadPartCopy) does it, in parts large enough for S3's 10,000; S3 then
offers no whole-object sha256, and the caller checks the size.

A copy is chosen over an upload whatever the object's size: on S3 a CopyObject is one
request that sends no object bytes over this machine's link, where a PutObject sends
them all, so a next version of a folder costs one request per unchanged file and the
changed files' bytes. It is the sole request per file: no HEAD of the source or of the
copy beside it (the checksum in the answer checks it). moto, which keeps objects in
Python, spends more of its own CPU on a CopyObject of a 32 KiB object than on a
PutObject of it (about 1.2x, measured with 8 requests in flight, the checksum asked for
or not), so on moto a next version of a folder of small files takes a little longer
than its first push while sending a hundredth of its bytes; that is moto's cost, not
S3's, and the copies stay.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fsartifacts.config.model import MiB
from fsartifacts.stores.s3.filesystem import MAX_PARTS

COPY_OBJECT_LIMIT = 5 * 1024**3  # the largest object one CopyObject may copy
COPY_PART_MIN = 50 * MiB  # the parts of a multipart copy, at least


def copy_object(
    fs: Any,
    source: str,
    rpath: str,
    metadata: dict[str, str],
    content_type: str,
    *,
    conditional: bool,
) -> str | None:
    """One CopyObject of ``source`` to ``rpath`` (``If-None-Match: *`` when
    ``conditional``); the hex sha256 S3 computed of the copy, or None."""
    src_bucket, src_key, _ = fs.split_path(source)
    bucket, key, _ = fs.split_path(rpath)
    response = fs.call_s3(
        "copy_object",
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": src_bucket, "Key": src_key},
        MetadataDirective="REPLACE",
        Metadata=metadata,
        ContentType=content_type,
        ChecksumAlgorithm="SHA256",
        **({"IfNoneMatch": "*"} if conditional else {}),
    )
    return sha256_hex((response.get("CopyObjectResult") or {}).get("ChecksumSHA256"))


def copy_in_parts(
    fs: Any, source: str, size: int, rpath: str, metadata: dict[str, str], content_type: str
) -> None:
    """s3fs's multipart copy of ``source`` (``size`` bytes) to ``rpath``, with our metadata."""
    block = max(COPY_PART_MIN, -(-size // MAX_PARTS))
    fs.copy(source, rpath, block=block, Metadata=metadata, ContentType=content_type)


def sha256_hex(checksum: Any) -> str | None:
    """The hex of a whole-object base64 ChecksumSHA256; None for none, or a composite one
    (``...-N``: a checksum of the parts' checksums, not of the content)."""
    if not checksum or "-" in str(checksum):
        return None
    try:
        return base64.b64decode(str(checksum), validate=True).hex()
    except (binascii.Error, ValueError):
        return None
