"""Incomplete multipart uploads on S3: listed under a prefix with their last activity, aborted.

A killed multipart upload leaves its parts stored (and billed) until it is
aborted. S3 reports when an upload was initiated; the time of its newest part
says whether anyone is still sending, so both are read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fsartifacts.stores.base import PendingUpload


def pending_uploads(fs: Any, rpath: str, older_than: timedelta) -> list[PendingUpload]:
    """The incomplete uploads below ``rpath`` with no part written for ``older_than``."""
    bucket, key, _ = fs.split_path(rpath)
    prefix = key.rstrip("/") + "/" if key else ""
    cutoff = datetime.now(UTC) - older_than
    found: list[PendingUpload] = []
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = fs.call_s3("list_multipart_uploads", **request)
        for upload in page.get("Uploads", []):
            initiated = upload.get("Initiated")
            if isinstance(initiated, datetime) and initiated > cutoff:
                continue  # recent: still being sent, whatever its parts say
            last = _newest_part(fs, bucket, upload["Key"], upload["UploadId"]) or initiated
            if isinstance(last, datetime) and last <= cutoff:
                found.append(PendingUpload(f"{bucket}/{upload['Key']}", upload["UploadId"], last))
        if not page.get("IsTruncated"):
            return found
        request["KeyMarker"] = page.get("NextKeyMarker")
        request["UploadIdMarker"] = page.get("NextUploadIdMarker")


def abort_upload(fs: Any, upload: PendingUpload) -> None:
    bucket, key, _ = fs.split_path(upload.path)
    fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload.upload_id)


def _newest_part(fs: Any, bucket: str, key: str, upload_id: str) -> datetime | None:
    newest: datetime | None = None
    request: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    while True:
        page = fs.call_s3("list_parts", **request)
        for part in page.get("Parts", []):
            modified = part.get("LastModified")
            if isinstance(modified, datetime) and (newest is None or modified > newest):
                newest = modified
        if not page.get("IsTruncated"):
            return newest
        request["PartNumberMarker"] = page.get("NextPartNumberMarker")
