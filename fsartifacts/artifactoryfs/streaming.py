"""Streamed writes of ``artifactory://``: a file sent while it is written, in bounded memory.

A file too big for one buffered PUT goes to the server as it is written: one PUT
with chunked transfer encoding, fed through a small queue by the writer, to a
hidden name beside its path (``.NAME.fsartifacts-XXXXXXXXXXXX.part``). Nothing
is kept on local disk and at most ``QUEUE_CHUNKS`` chunks wait in memory, so a
50 GB write needs no 50 GB of anything, and a connection or server failure
shows at the next ``write()``, not after the last byte.

The checksums cannot go with that PUT (they are known only at the end), so they
are checked after the fact: the server's reply names the sha1 and sha256 of what
it stored, which must be those of what was written. Only then is the file
published, by a checksum deploy of those checksums to its real path (no bytes
sent again; the server checks them), and the hidden copy deleted
(:class:`~fsartifacts.artifactoryfs.hidden.HiddenCopy`, shared with the deploy of a
file hashed as it is sent). A write that fails or is abandoned never changes the
real path: an unfinished body is discarded by the server, a finished hidden copy
is deleted.

The price: a streamed upload cannot be retried (its bytes are gone), and the
writer must keep the server waiting no longer than its read timeout.

A copy the server cannot make itself (no copy API, no content to deploy by
checksum) goes the same way, from the download straight into the upload.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Iterator

import requests

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import download
from fsartifacts.artifactoryfs.errors import ArtifactoryError, error_from_response
from fsartifacts.artifactoryfs.hidden import HiddenCopy, answered_checksums
from fsartifacts.artifactoryfs.upload import SPOOL_IN_MEMORY, deploy, size_and_digests
from fsartifacts.hashing import HashingWriter

CHUNK = 1024 * 1024  # bytes per chunk of the request body
QUEUE_CHUNKS = 4  # chunks that may wait for the connection: the memory bound
_POLL = 0.1  # seconds between checks that the connection is still alive while waiting


class _End:
    """The end of the body."""


class _Abort(Exception):
    """Raised inside the body iterator: requests then drops the connection mid-body."""


class StreamingUpload:
    """One chunked PUT to a hidden name beside ``path``, fed by :meth:`write`.

    ``finish()`` ends the body and checks the server's checksums; ``publish()`` then
    deploys the content to ``path`` by checksum; ``abort()`` at any point leaves
    ``path`` as it was.
    """

    def __init__(self, client: ArtifactoryClient, path: str) -> None:
        self.client = client
        self.path = path
        self.copy = HiddenCopy(client, path)
        self.hidden = self.copy.name
        # What is written: hashed and counted, then queued for the connection.
        self.writer = HashingWriter(_QueueSink(self), ("sha1", "sha256"))
        self._queue: queue.Queue[bytes | _End | _Abort] = queue.Queue(QUEUE_CHUNKS)
        self._done = threading.Event()
        self._response: requests.Response | None = None
        self._error: BaseException | None = None
        self._checked: dict[str, str] | None = None  # what finish() found stored
        self._action = self.copy.action
        self._thread = threading.Thread(
            target=self._send, name=f"artifactory-stream-{self.hidden}", daemon=True
        )
        self._thread.start()

    # -- the sending thread ---------------------------------------------------------

    def _body(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Abort):
                raise item
            yield item

    def _send(self) -> None:
        try:
            self._response = self.client.send(
                "PUT",
                self.client.file_url(self.hidden),
                self._action,
                data=self._body(),
                headers={"Content-Type": "application/octet-stream"},
                allow_redirects=False,
            )
        except BaseException as error:  # handed to the writer's thread
            self._error = error
        finally:
            self._done.set()

    # -- the writer's side ----------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hash and queue ``data``: waits while the queue is full, raises if the PUT failed."""
        view = memoryview(data).cast("B")
        for start in range(0, len(view), CHUNK):
            self.writer.write(bytes(view[start : start + CHUNK]))

    def _hand_over(self, item: bytes | _End | _Abort) -> None:
        while True:
            if self._done.is_set():
                raise self._failure()
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _failure(self) -> ArtifactoryError:
        """Why the PUT ended before its body did."""
        if isinstance(self._error, ArtifactoryError):
            return self._error
        if self._error is not None:
            return ArtifactoryError(f"{self._action}: {self._error}")
        response = self._response
        if response is not None and response.status_code not in (200, 201):
            return error_from_response(response, self._action)
        return ArtifactoryError(f"{self._action}: the server answered before the end of the file")

    def finish(self) -> None:
        """End the body, wait for the reply and check its checksums against what was sent."""
        self._hand_over(_End())
        self._thread.join()
        response = self._response
        if response is None:
            raise self._failure()
        with response:
            if response.status_code not in (200, 201):
                raise self._failure()
            self.copy.stored = True
            answered = answered_checksums(response)
        self._checked = self.copy.check(self.writer.digests(), answered)

    def publish(self, *, exclusive: bool = False) -> None:
        """Deploy the checked content to ``path`` by checksum, then delete the hidden copy.
        ``exclusive``: FileExistsError, and ``path`` left as it is, when it exists by now."""
        assert self._checked is not None, "publish() comes after finish()"
        self.copy.publish(self._checked, exclusive=exclusive)

    def abort(self) -> None:
        """Stop sending and leave nothing behind; ``path`` is untouched. Idempotent."""
        if not self._done.is_set():
            with contextlib.suppress(ArtifactoryError):
                self._hand_over(_Abort())
            self._thread.join()
        if self._response is not None:
            if self._response.status_code in (200, 201):
                self.copy.stored = True
            self._response.close()
        self.copy.delete()


def copy_by_streaming(client: ArtifactoryClient, path1: str, path2: str, size: int | None) -> None:
    """Copy ``path1`` to ``path2`` through this process, never through local disk.

    A file of ``SPOOL_IN_MEMORY`` bytes at most is held in memory (so a broken
    download is retried) and deployed as one PUT; a bigger one goes from the
    download straight into a :class:`StreamingUpload`, in bounded memory.
    """
    if size is not None and size <= SPOOL_IN_MEMORY:
        held = io.BytesIO()
        download(client, path1, held, restartable=True)
        data = held.getvalue()
        size, sha1, sha256 = size_and_digests(io.BytesIO(data))
        deploy(client, path2, lambda: io.BytesIO(data), size, sha1, sha256)
        return
    upload = StreamingUpload(client, path2)
    try:
        download(client, path1, upload.writer)
        upload.finish()
        upload.publish()
    except BaseException:
        upload.abort()
        raise


class _QueueSink:
    """Where the HashingWriter of a streamed upload sends its bytes: the upload's queue."""

    def __init__(self, upload: StreamingUpload) -> None:
        self._upload = upload

    def write(self, data: bytes) -> int:
        if data:  # an empty chunk would end a chunked body early
            self._upload._hand_over(data)
        return len(data)

    def flush(self) -> None:
        pass
