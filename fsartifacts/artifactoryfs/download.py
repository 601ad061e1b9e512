"""Reads from ``artifactory://``: ranged reads and verified, restartable downloads.

A download checks the size and the checksum (``X-Checksum-Sha256``, else
``-Sha1``) the server announced; a connection that breaks off mid-body is
retried within ``attempts`` when the destination may be rewound.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConnectionError,
    ArtifactoryIntegrityError,
    ArtifactoryRangeError,
    ArtifactoryRangesIgnored,
    InterruptedTransfer,
    error_from_response,
    transport_error,
)
from fsartifacts.artifactoryfs.listing import item_info
from fsartifacts.atomic import temp_name
from fsartifacts.byteranges import NOT_SERVED, SHORT, range_problem
from fsartifacts.hashing import Digests
from fsartifacts.inflight import InFlight
from fsartifacts.retry import pause_before_retry, retry_delay

DOWNLOAD_CHUNK = 1024 * 1024

log = logging.getLogger("fsartifacts")


class Writer(Protocol):
    """Where a download goes (a restartable one must also seek and truncate)."""

    def write(self, data: bytes, /) -> int: ...


class ProgressOnce:
    """Reports bytes to a callback, never twice: a retried transfer resumes the count."""

    def __init__(self, callback: Callback) -> None:
        self.callback = callback
        self.reported = 0

    def advance_to(self, total: int) -> None:
        if total > self.reported:
            self.callback.relative_update(total - self.reported)
            self.reported = total


def read_range(client: ArtifactoryClient, path: str, start: int, end: int | None) -> bytes:
    """The bytes of ``path`` in ``[start, end)``, with one ranged GET, retried if cut off.

    ``start`` and ``end`` count from the start of the file (the caller resolves
    offsets from its end, with the size it knows).
    """
    if end is not None and end <= start:
        return b""
    headers = {"Accept-Encoding": "identity"}
    if start or end is not None:
        # Explicit first-last only: 6.x reads a suffix range "-N" as "0-N".
        last = "" if end is None else str(end - 1)
        headers["Range"] = f"bytes={start}-{last}"
    action = f"read {path}"
    for attempt in range(1, client.attempts + 1):
        try:
            return _read_once(client, path, headers, start, end, action)
        except InterruptedTransfer as broken:
            if attempt == client.attempts:
                raise broken.error from None
            failure = str(broken.error)
        pause_before_retry(f"GET {client.file_url(path)}", retry_delay(attempt), attempt + 1,
                           client.attempts, failure)  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover


def _read_once(
    client: ArtifactoryClient,
    path: str,
    headers: dict[str, str],
    start: int,
    end: int | None,
    action: str,
) -> bytes:
    response = client.send("GET", client.file_url(path), action, headers=headers, stream=True)
    with response:
        if response.status_code not in (200, 206, 416):
            raise error_from_response(response, action)
        refuse_folder(response, path)
        ranged = "Range" in headers
        problem = (range_problem(start, end, response.status_code,
                                 response.headers.get("Content-Range"), may_end_early=True)
                   if ranged else None)  # fmt: skip
        if problem and problem.kind == SHORT:
            if response.status_code == 416:
                return b""  # start at or past the end (every range of an empty file is)
            raise ArtifactoryRangeError(f"{action}: {problem.detail}", detail=problem.detail)
        if problem and response.status_code != 200:
            raise ArtifactoryRangesIgnored(f"{action}: {problem.detail}", detail=problem.detail)
        try:
            if problem:  # the whole file: a read must still return the bytes asked for
                return _cut(response, start, end, action)
            return response.content
        except requests.RequestException as exc:
            raise InterruptedTransfer(transport_error(exc, action)) from None


def _cut(response: requests.Response, start: int, end: int | None, action: str) -> bytes:
    """Bytes ``[start, end)`` of a whole file's body, read no further than ``end``."""
    log.debug("%s: the server ignores ranges and sent the whole file", action)
    parts, at = [], 0
    for chunk in response.iter_content(DOWNLOAD_CHUNK):
        lo, hi = max(start - at, 0), len(chunk) if end is None else min(len(chunk), end - at)
        if hi > lo:
            parts.append(chunk[lo:hi])
        at += len(chunk)
        if end is not None and at >= end:
            break
    return b"".join(parts)


def stream_range(
    client: ArtifactoryClient,
    path: str,
    out: Writer,
    start: int,
    end: int,
    in_flight: InFlight | None = None,
) -> None:
    """Stream bytes ``[start, end)`` of ``path`` into ``out`` with one ranged GET, read
    within ``in_flight`` (another thread may end it: the read then raises).

    An answer that is not that range (:func:`~fsartifacts.byteranges.range_problem`)
    is refused unread: :class:`ArtifactoryRangesIgnored` when the server does not
    serve the range (its caller reads the file in one stream instead), else
    :class:`ArtifactoryRangeError` (the file is shorter than the range). A body cut
    off is the caller's to retry (raised as a transport error).
    """
    if end <= start:
        return
    headers = {"Accept-Encoding": "identity", "Range": f"bytes={start}-{end - 1}"}
    action = f"read {path}"
    response = client.send("GET", client.file_url(path), action, headers=headers, stream=True)
    with response:
        if response.status_code not in (200, 206, 416):
            raise error_from_response(response, action)
        problem = range_problem(start, end, response.status_code,
                                response.headers.get("Content-Range"))  # fmt: skip
        if problem:
            kind = ArtifactoryRangesIgnored if problem.kind == NOT_SERVED else ArtifactoryRangeError
            raise kind(f"{action}: {problem.detail}", status=response.status_code,
                       detail=problem.detail)  # fmt: skip
        try:
            with (in_flight or InFlight()).reading(partial(_shut, response)):
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    out.write(chunk)
        except requests.RequestException as exc:
            raise transport_error(exc, action) from None


def _shut(response: requests.Response) -> None:
    """End a response another thread is reading: shutting its socket down wakes a read
    blocked in it (closing would not), and the reader then closes the response itself.

    Closing it here too, under the reader, hands its connection back to the pool with
    the socket still open (the reader's own close then finds no connection to close):
    the server goes on sending into it until its socket buffers fill, and waits there."""
    raw = response.raw
    if hasattr(raw, "shutdown"):  # urllib3 2.3 and later
        raw.shutdown()
    else:
        response.close()


def refuse_folder(response: requests.Response, path: str) -> None:
    """A GET on a folder is redirected to ``folder/`` and answered with an HTML page."""
    if response.history and urlsplit(response.url).path.endswith("/"):
        response.close()
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)


def download_to_path(client: ArtifactoryClient, rpath: str, lpath: str, callback: Callback) -> None:
    """Download into a temporary file beside ``lpath``, renamed only once verified.

    A folder (the server redirects its GET to ``folder/``) becomes a local folder.
    """
    parent = os.path.dirname(os.path.abspath(lpath))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, temp_name(os.path.basename(lpath)))
    try:
        with open(staging, "wb") as out:
            try:
                download(client, rpath, out, callback=callback, restartable=True)
            except IsADirectoryError:
                out.close()
                os.makedirs(lpath, exist_ok=True)
                return
        os.replace(staging, lpath)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)


def download(
    client: ArtifactoryClient,
    rpath: str,
    out: Writer,
    *,
    callback: Callback = DEFAULT_CALLBACK,
    restartable: bool = False,
    verify: bool = True,
    in_flight: InFlight | None = None,
) -> None:
    """Stream ``rpath`` into ``out`` with one GET, checking size and checksum.

    A broken connection is retried (within ``attempts``) when ``restartable``
    says ``out`` may be rewound and truncated. ``verify=False`` skips the
    checksum (the size is still checked), for a caller that hashes what it
    receives and checks it itself. The body is read within ``in_flight``: another
    thread may end it (the read then raises :class:`~fsartifacts.inflight.Stopped`),
    and each chunk is written (and reported) within ``in_flight.writing``.
    """
    progress = ProgressOnce(callback)
    action = f"download {rpath}"
    in_flight = in_flight or InFlight()
    for attempt in range(1, client.attempts + 1):
        try:
            _download_once(client, rpath, out, progress, action, verify=verify,
                           in_flight=in_flight)  # fmt: skip
            return
        except InterruptedTransfer as broken:
            if not restartable or attempt == client.attempts:
                raise broken.error from None
            failure = str(broken.error)
        rewound: Any = out
        rewound.seek(0)
        rewound.truncate()
        pause_before_retry(f"GET {client.file_url(rpath)}", retry_delay(attempt), attempt + 1,
                           client.attempts, failure)  # fmt: skip


def _download_once(
    client: ArtifactoryClient,
    rpath: str,
    out: Writer,
    progress: ProgressOnce,
    action: str,
    *,
    verify: bool,
    in_flight: InFlight,
) -> None:
    response = client.call(
        "GET",
        client.file_url(rpath),
        action,
        stream=True,
        headers={"Accept-Encoding": "identity"},
    )
    with response:
        refuse_folder(response, rpath)
        algorithm, expected = (
            _announced_checksum(client, response, rpath) if verify else (None, None)
        )
        length = response.headers.get("Content-Length")
        expected_size = int(length) if length and length.isdigit() else None
        if expected_size is not None:
            progress.callback.set_size(expected_size)
        # The checksum is computed in a thread beside the receive (see Digests).
        hasher = Digests([algorithm]) if algorithm else None
        received = 0
        try:
            with in_flight.reading(partial(_shut, response)):
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    # A chunk that came once the transfer was stopped goes nowhere.
                    with in_flight.writing():
                        out.write(chunk)
                        if hasher:
                            hasher.update(chunk)
                        received += len(chunk)
                        progress.advance_to(received)
        except requests.RequestException as exc:
            raise InterruptedTransfer(transport_error(exc, action)) from None
        finally:
            if hasher:
                hasher.close()
    if expected_size is not None and received != expected_size:
        raise InterruptedTransfer(
            ArtifactoryConnectionError(
                f"{action}: the connection ended after {received} of {expected_size} bytes"
            )
        )
    got = hasher.hexdigests()[algorithm] if hasher and algorithm else None
    if got is not None and got != expected:
        raise ArtifactoryIntegrityError(
            f"{action}: the received bytes have {algorithm} {got}, "
            f"the server announced {expected}; the download was discarded"
        )


def _announced_checksum(
    client: ArtifactoryClient, response: requests.Response, rpath: str
) -> tuple[str | None, str | None]:
    for algorithm in ("sha256", "sha1"):
        value = response.headers.get(f"X-Checksum-{algorithm.capitalize()}")
        if value:
            return algorithm, value.strip().lower()
    if response.history:
        # Redirected to a CDN or presigned URL, which sends no checksum: ask Artifactory.
        info = item_info(client, rpath)
        for algorithm in ("sha256", "sha1"):
            if info.get(algorithm):
                return algorithm, info[algorithm]
    return None, None
