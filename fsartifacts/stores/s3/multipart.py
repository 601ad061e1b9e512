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
Anything else starts over: the stale upload is aborted and its journal removed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import math
import os
import threading
import zlib
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import IO, Any

from fsspec.callbacks import Callback

from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import FileDigests, FileIdentity, file_identity
from fsartifacts.stores.journals import UploadJournal, UploadJournals
from fsartifacts.stores.s3.errors import error_code
from fsartifacts.stores.s3.objects import MD5_ETAG, SendBody

log = logging.getLogger("fsartifacts.stores.s3.ops")

_GONE = {"NoSuchUpload", "NoSuchBucket"}  # S3 no longer holds the upload
# Seconds an interrupted window has to end, its parts in flight cancelled.
STOP_WAIT = 30.0


@dataclass(frozen=True)
class PartsUpload:
    """One file to upload in parts: its path, size, mtime and sha256 (as hashed), the
    target bucket and key, the part size, and the arguments of CreateMultipartUpload."""

    lpath: str
    bucket: str
    key: str
    size: int
    mtime_ns: int
    sha256: str
    part_size: int
    create_args: Mapping[str, Any]

    @property
    def target(self) -> str:
        return f"{self.bucket}/{self.key}"

    @property
    def parts(self) -> int:
        return math.ceil(self.size / self.part_size)

    def journal(self, upload_id: str) -> UploadJournal:
        request = json.dumps(dict(self.create_args), sort_keys=True, default=str)
        return UploadJournal(
            target=self.target,
            upload_id=upload_id,
            size=self.size,
            mtime_ns=self.mtime_ns,
            sha256=self.sha256.lower(),
            part_size=self.part_size,
            request=hashlib.sha256(request.encode()).hexdigest(),
        )


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
            parts = _send_parts(fs, f, upload, upload_id, held, callback, parts_in_flight)
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


def _send_parts(
    fs: Any,
    f: IO[bytes],
    upload: PartsUpload,
    upload_id: str,
    held: Mapping[int, tuple[str, int]],
    callback: Callback,
    parts_in_flight: int,
) -> list[dict[str, Any]]:
    """Every part of the file, in order: a held part whose ETag is the MD5 of the local
    part is taken as it is, the others are sent (see :func:`_send_window`)."""
    # The window reads through a descriptor of its own, closed when it ends.
    fd = os.dup(f.fileno())
    window = _send_window(fs, fd, upload, upload_id, held, callback, parts_in_flight)
    parts = _run_to_the_end(fs.loop, window)
    return sorted(parts, key=lambda part: int(part["PartNumber"]))


def _run_to_the_end(loop: asyncio.AbstractEventLoop, window: Any) -> Any:
    """Run the coroutine ``window`` on ``loop`` (s3fs's, in its thread) and return what it
    returns. Interrupted here (Ctrl-C), it is cancelled and waited for: fsspec's ``sync``
    would return at once and leave it sending parts behind the caller's back, after the
    caller has aborted the upload (a part S3 then accepts is kept, and billed) or into
    an upload the caller has left for a later run."""
    ended = threading.Event()
    tasks: list[asyncio.Task[Any]] = []

    def begin() -> None:
        task = loop.create_task(window)
        task.add_done_callback(lambda done: ended.set())
        tasks.append(task)

    def stop() -> None:
        # Queued behind the task's first step, so that it is cancelled inside its own
        # cleanup (which closes its descriptor), never before it starts.
        loop.call_soon(lambda: [task.cancel() for task in tasks])

    loop.call_soon_threadsafe(begin)
    try:
        while not ended.wait(1):  # short waits: a signal lands between them
            pass
    except BaseException:
        loop.call_soon_threadsafe(stop)
        ended.wait(STOP_WAIT)
        if tasks and tasks[0].done() and not tasks[0].cancelled():
            tasks[0].exception()  # what it ended with follows from the interrupt
        raise
    return tasks[0].result()


async def _send_window(
    fs: Any,
    fd: int,
    upload: PartsUpload,
    upload_id: str,
    held: Mapping[int, tuple[str, int]],
    callback: Callback,
    parts_in_flight: int,
) -> list[dict[str, Any]]:
    """The parts sent through a sliding window: the next part is read as soon as one of
    the ``parts_in_flight`` in flight is answered, so the connections never wait for a
    whole batch, and memory stays at ``parts_in_flight`` parts. Reading a part, its
    CRC32 (sent with it, so botocore does not compute it on the event loop that sends
    the others) and the MD5 of a held one happen on a worker thread."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(parts_in_flight)
    # The parts are read one after another, in order: their sha256 is the file's as sent.
    read = hashlib.sha256()
    with_crc32 = sends_crc32(fs)
    done: list[dict[str, Any]] = []
    sending: list[asyncio.Future[dict[str, Any]]] = []

    def finished(number: int, etag: str, size: int) -> dict[str, Any]:
        """A part S3 now holds, sent or kept: its slot is free for the next part, and its
        bytes are counted."""
        slots.release()
        callback.relative_update(size)
        return {"PartNumber": number, "ETag": etag}

    async def send(number: int, data: bytes, crc32: str | None) -> dict[str, Any]:
        try:
            response = await fs._call_s3(
                "upload_part",
                Bucket=upload.bucket,
                Key=upload.key,
                UploadId=upload_id,
                PartNumber=number,
                Body=SendBody(data),
                **({"ChecksumCRC32": crc32} if crc32 else {}),
            )
        except BaseException:
            slots.release()
            raise
        return finished(number, response["ETag"], len(data))

    try:
        for number in range(1, upload.parts + 1):
            await slots.acquire()
            for task in sending:  # a part that failed ends the upload: read no more
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            data, reused, crc32 = await loop.run_in_executor(
                None, _local_part, fd, upload, number, held.get(number), read, with_crc32
            )
            if reused is not None:
                done.append(finished(number, reused, len(data)))
                continue
            sending.append(asyncio.ensure_future(send(number, data, crc32)))
            del data  # the task holds the part until it is answered
        if read.hexdigest() != upload.sha256.lower():
            raise changed_while_pushed(upload.lpath, upload.sha256)
        done.extend(await asyncio.gather(*sending))
    except BaseException:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        raise
    finally:
        os.close(fd)
    return done


def _local_part(
    fd: int,
    upload: PartsUpload,
    number: int,
    held: tuple[str, int] | None,
    read: Any,
    with_crc32: bool,
) -> tuple[bytes, str | None, str | None]:
    """Part ``number`` of the local file (added to the hash ``read``), the ETag S3 holds
    for it when that part is the same bytes (size, and an ETag that is their MD5), else
    None: send it; and, ``with_crc32``, its CRC32 as UploadPart takes it."""
    offset = (number - 1) * upload.part_size
    wanted = min(upload.part_size, max(0, upload.size - offset))
    chunks: list[bytes] = []
    got = 0
    while got < wanted:
        chunk = os.pread(fd, wanted - got, offset + got)
        if not chunk:
            break  # the file shrank: what was read is sent, and the change is caught after
        chunks.append(chunk)
        got += len(chunk)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    read.update(data)
    if held is not None:
        etag, size = held
        if (
            size == len(data)
            and _md5_etag(etag) == hashlib.md5(data, usedforsecurity=False).hexdigest()
        ):
            return data, etag, None
    return data, None, crc32_checksum(data) if with_crc32 else None


def sends_crc32(fs: Any) -> bool:
    """Whether botocore would checksum a request body itself (``checksums: when_supported``,
    its CRC32): then the caller computes it where it reads the body and sends it along."""
    mode = (getattr(fs, "config_kwargs", None) or {}).get("request_checksum_calculation")
    return mode in (None, "when_supported")


def crc32_checksum(data: bytes) -> str:
    """The CRC32 of ``data`` as S3's ``x-amz-checksum-crc32`` gives it (base64, big-endian)."""
    return base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()


def _md5_etag(etag: str) -> str | None:
    plain = etag.strip('"').lower()
    return plain if MD5_ETAG.fullmatch(plain) else None


def _worth_keeping(exc: BaseException) -> bool:
    """Whether a later run can still use the upload after ``exc`` ended this one."""
    if isinstance(exc, FileExistsError | IntegrityError):
        # Another push published the key, or the file is no longer what was hashed.
        return False
    return not (isinstance(exc, OSError) and error_code(exc) in _GONE)


def changed_while_pushed(lpath: str, sha256: str) -> IntegrityError:
    """The error of an upload whose bytes read are not the sha256 the file was hashed to."""
    return IntegrityError(
        f"{lpath} changed while it was being pushed (its sha256 is no longer "
        f"{sha256}); nothing was uploaded. Push again once it is complete."
    )


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
