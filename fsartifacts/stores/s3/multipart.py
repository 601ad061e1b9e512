"""Multipart uploads to S3 that a later run can continue.

The upload is recorded in a journal in the project (see :mod:`fsartifacts.stores.journals`)
as soon as S3 has created it. An upload that fails for a reason a later run can get past
(the connection, retries exhausted, Ctrl-C, a killed process) is left on S3 with its
journal; the next upload of the same file to the same key, when the journal still
describes it (same size, mtime, sha256, part size, creation arguments), asks S3 which
parts it holds (ListParts) and sends only the others. A part S3 holds is reused only when
its ETag is the MD5 of the local part (S3's part ETag, but for SSE-KMS and SSE-C), so
what is completed is the local file's bytes. Those bytes, read once part by part, are
hashed as they are read: an upload whose parts are not the sha256 recorded (the file
rewritten meanwhile, even with its size and mtime put back) is aborted, never completed.
Anything else starts over: the stale upload is aborted and its journal removed. The
parts themselves are sent by :mod:`fsartifacts.stores.s3.parts`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

from fsspec.callbacks import Callback

from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import FileDigests, FileIdentity, file_identity
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.s3.errors import error_code
from fsartifacts.stores.s3.parts import PartsUpload, send_parts

log = logging.getLogger("fsartifacts.stores.s3.ops")

_GONE = {"NoSuchUpload", "NoSuchBucket"}  # S3 no longer holds the upload


def upload_in_parts(
    fs: Any,
    upload: PartsUpload,
    *,
    conditional: bool,
    callback: Callback,
    journals: UploadJournals | None,
    parts_in_flight: int,
) -> None:
    """Upload ``upload`` in parts, continuing the one its journal names where it can; the
    completion is create-if-absent when ``conditional``. Another push of the project
    uploading to the same key meanwhile keeps its journal: this one then uploads on its
    own, and the completion decides which publishes."""
    owning = nullcontext(None) if journals is None else journals.owned(upload.target)
    with owning as owned:
        _upload(fs, upload, conditional, callback, owned, parts_in_flight)


def _upload(
    fs: Any,
    upload: PartsUpload,
    conditional: bool,
    callback: Callback,
    journals: UploadJournals | None,
    parts_in_flight: int,
) -> None:
    bucket, key = upload.bucket, upload.key
    held: dict[int, tuple[str, int]] = {}
    upload_id = _continued(fs, upload, journals, held)
    if upload_id is None:
        upload_id = fs.call_s3(
            "create_multipart_upload", Bucket=bucket, Key=key, **upload.create_args
        )["UploadId"]
        if journals is not None and journals.resume:
            journals.write(upload.journal(upload_id))
    try:
        with open(upload.lpath, "rb") as f:
            parts = send_parts(fs, f, upload, upload_id, held, callback, parts_in_flight)
        fs.call_s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            **({"IfNoneMatch": "*"} if conditional else {}),
        )
    except BaseException as exc:
        keep = journals is not None and journals.resume and _worth_keeping(exc)
        if keep:
            log.info("the upload to s3://%s stopped (%s); the next push continues it",
                     upload.target, type(exc).__name__)  # fmt: skip
        else:
            _abort(fs, bucket, key, upload_id)
            if journals is not None:
                journals.discard(upload.target)
        raise
    if journals is not None:
        journals.discard(upload.target)


def _continued(
    fs: Any,
    upload: PartsUpload,
    journals: UploadJournals | None,
    held: dict[int, tuple[str, int]],
) -> str | None:
    """The id of the unfinished upload the journal names, its parts put in ``held``
    ({part number: (ETag, size)}); None to start over (a stale upload aborted)."""
    if journals is None:
        return None
    journal = journals.read(upload.target)
    if journal is None:
        return None
    if not journals.resume or not journal.matches(upload.journal(journal.upload_id)):
        why = "resuming is off" if not journals.resume else "the file or the upload changed"
        log.info("starting the upload to s3://%s over: %s", upload.target, why)
        _abort(fs, upload.bucket, upload.key, journal.upload_id)
        journals.discard(upload.target)
        return None
    try:
        held.update(_held_parts(fs, upload.bucket, upload.key, journal.upload_id))
    except FileNotFoundError as exc:
        if error_code(exc) == "NoSuchBucket":
            raise
        log.info("the unfinished upload to s3://%s is gone; starting over", upload.target)
        journals.discard(upload.target)
        return None
    log.info("continuing the upload to s3://%s: S3 holds %d of its %d parts",
             upload.target, len(held), upload.parts)  # fmt: skip
    return journal.upload_id


def _held_parts(fs: Any, bucket: str, key: str, upload_id: str) -> dict[int, tuple[str, int]]:
    """{part number: (ETag, size)} of every part S3 holds of the upload (all pages)."""
    held: dict[int, tuple[str, int]] = {}
    request: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    while True:
        page = fs.call_s3("list_parts", **request)
        for part in page.get("Parts", []):
            held[int(part["PartNumber"])] = (str(part.get("ETag", "")), int(part.get("Size", -1)))
        if not page.get("IsTruncated"):
            return held
        request["PartNumberMarker"] = page.get("NextPartNumberMarker")


def _worth_keeping(exc: BaseException) -> bool:
    """Whether a later run can still use the upload after ``exc`` ended this one."""
    if isinstance(exc, FileExistsError | IntegrityError):
        # Another push published the key, or the file is no longer what was hashed.
        return False
    return not (isinstance(exc, OSError) and error_code(exc) in _GONE)


def _abort(fs: Any, bucket: str, key: str, upload_id: str) -> None:
    """AbortMultipartUpload; a failure is logged (the sweep of stale uploads gets it later)."""
    try:
        fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
    except FileNotFoundError:
        pass  # already gone
    except Exception as exc:
        log.info("could not abort the unfinished upload to s3://%s/%s: %s", bucket, key, exc)


def hashed_stat(lpath: str, digests: Mapping[str, str] | None) -> FileIdentity:
    """The file's size and mtime when it was hashed (a FileDigests carries them), else as
    they are now."""
    if isinstance(digests, FileDigests):
        return digests.identity
    return file_identity(os.stat(lpath))
