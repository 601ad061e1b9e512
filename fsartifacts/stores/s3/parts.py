"""The parts of one multipart upload (:class:`PartsUpload`: the file and its target),
sent: through a sliding window on s3fs's event loop, each part read from the file in
order (and hashed, so that the bytes sent are the sha256 the file was hashed to), its
CRC32 computed and a held part's MD5 checked on a worker thread, never on the loop that
sends the others. Also the checksums a single-part upload sends the same way.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from fsspec.callbacks import Callback

from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import CHUNK, Digests
from fsartifacts.stores.journals import UploadJournal
from fsartifacts.stores.s3.objects import MD5_ETAG, SendBody

# Seconds an interrupted window has to end, its parts in flight cancelled.
STOP_WAIT = 30.0


@dataclass(frozen=True)
class PartsUpload:
    """One file to upload in parts: its path, size, mtime and sha256 (as hashed), the
    target bucket and key, the part size, and the arguments of CreateMultipartUpload.
    ``part_crc32s``: the CRC32 of each part, taken in the read that hashed the file just
    before (:func:`hashed_in_parts`); each part read again to be sent is checked against
    its own, in place of a second sha256 of every byte."""

    lpath: str
    bucket: str
    key: str
    size: int
    mtime_ns: int
    sha256: str
    part_size: int
    create_args: Mapping[str, Any]
    part_crc32s: tuple[str, ...] = ()

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


def send_parts(
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
    # The parts are read one after another, in order: their sha256 is the file's as sent,
    # unless each part's CRC32 from the read that hashed the file is there to check it by.
    checked = upload.part_crc32s
    read = None if checked else hashlib.sha256()
    # An upload that declared CRC32 is completed with each part's (held ones too).
    declared = upload.create_args.get("ChecksumAlgorithm") == "CRC32"
    with_crc32 = declared or sends_crc32(fs)
    done: list[dict[str, Any]] = []
    sending: list[asyncio.Future[dict[str, Any]]] = []

    def finished(number: int, etag: str, size: int, crc32: str | None) -> dict[str, Any]:
        """A part S3 now holds, sent or kept: its slot is free for the next part, and its
        bytes are counted."""
        slots.release()
        callback.relative_update(size)
        part = {"PartNumber": number, "ETag": etag}
        return {**part, "ChecksumCRC32": crc32} if declared and crc32 else part

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
        return finished(number, response["ETag"], len(data), crc32)

    try:
        for number in range(1, upload.parts + 1):
            await slots.acquire()
            for task in sending:  # a part that failed ends the upload: read no more
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            data, reused, crc32 = await loop.run_in_executor(
                None, _local_part, fd, upload, number, held.get(number), read,
                with_crc32 or bool(checked),
            )  # fmt: skip
            if checked and crc32 != checked[number - 1]:
                raise changed_while_pushed(upload.lpath, upload.sha256)
            crc32 = crc32 if with_crc32 else None
            if reused is not None:
                done.append(finished(number, reused, len(data), crc32))
                continue
            sending.append(asyncio.ensure_future(send(number, data, crc32)))
            del data  # the task holds the part until it is answered
        if read is not None and read.hexdigest() != upload.sha256.lower():
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
    """Part ``number`` of the local file (added to the hash ``read``, if any), the ETag S3 holds
    for it when that part is the same bytes (size, and an ETag that is their MD5), else
    None: send it; and, ``with_crc32``, its CRC32 as UploadPart (and, for an upload that
    declared it, CompleteMultipartUpload) takes it."""
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
    if read is not None:
        read.update(data)
    crc32 = crc32_checksum(data) if with_crc32 else None
    if held is not None:
        etag, size = held
        if (
            size == len(data)
            and _md5_etag(etag) == hashlib.md5(data, usedforsecurity=False).hexdigest()
        ):
            return data, etag, crc32
    return data, None, crc32


def sends_crc32(fs: Any) -> bool:
    """Whether botocore would checksum a request body itself (``checksums: when_supported``,
    its CRC32): then the caller computes it where it reads the body and sends it along."""
    mode = (getattr(fs, "config_kwargs", None) or {}).get("request_checksum_calculation")
    return mode in (None, "when_supported")


def crc32_checksum(data: bytes) -> str:
    """The CRC32 of ``data`` as S3's ``x-amz-checksum-crc32`` gives it (base64, big-endian)."""
    return _crc32_text(zlib.crc32(data))


def _crc32_text(value: int) -> str:
    return base64.b64encode((value & 0xFFFFFFFF).to_bytes(4, "big")).decode()


def hashed_in_parts(
    src: IO[bytes], size: int, part_size: int, algorithms: tuple[str, ...]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The digests of the open file ``src`` read from its start, and the CRC32 of each of
    its parts of ``part_size`` bytes (as :func:`crc32_checksum` gives it), in one read.
    IntegrityError when it does not hold ``size`` bytes (it changed since it was opened).

    A CRC32 costs about half a sha256 here, and the part's CRC32 is computed anyway where
    the part is sent: checking each part against its own costs the upload no second
    sha256 of the file."""
    src.seek(0)
    digests = Digests(algorithms)
    crcs: list[str] = []
    crc = in_part = 0
    try:
        while chunk := src.read(CHUNK):
            digests.update(chunk)
            view = memoryview(chunk)
            while view:
                take = min(len(view), part_size - in_part)
                crc = zlib.crc32(view[:take], crc)
                in_part += take
                view = view[take:]
                if in_part == part_size:
                    crcs.append(_crc32_text(crc))
                    crc = in_part = 0
    finally:
        digests.close()
    if in_part:
        crcs.append(_crc32_text(crc))
    hexdigests = digests.hexdigests()
    if digests.bytes != size:
        raise changed_while_pushed(getattr(src, "name", "the file"), hexdigests["sha256"])
    return hexdigests, tuple(crcs)


def _md5_etag(etag: str) -> str | None:
    plain = etag.strip('"').lower()
    return plain if MD5_ETAG.fullmatch(plain) else None


def changed_while_pushed(lpath: str, sha256: str) -> IntegrityError:
    """The error of an upload whose bytes read are not the sha256 the file was hashed to."""
    return IntegrityError(
        f"{lpath} changed while it was being pushed (its sha256 is no longer "
        f"{sha256}); nothing was uploaded. Push again once it is complete."
    )
