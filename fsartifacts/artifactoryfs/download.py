"""Reads from ``artifactory://``: ranged reads and verified, restartable downloads.

A download checks the size and the checksum (``X-Checksum-Sha256``, else
``-Sha1``) the server announced; a connection that breaks off mid-body is
retried within ``attempts`` when the destination may be rewound.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import uuid
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import requests
from fsspec.callbacks import Callback

from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConnectionError,
    ArtifactoryError,
    ArtifactoryIntegrityError,
    InterruptedTransfer,
    error_from_response,
    transport_error,
)
from fsartifacts.retry import pause_before_retry, retry_delay

if TYPE_CHECKING:
    from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

DOWNLOAD_CHUNK = 1024 * 1024


class _Writer(Protocol):
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


def read_range(fs: ArtifactoryFileSystem, path: str, start: int | None, end: int | None) -> bytes:
    """The bytes of ``path`` in ``[start, end)``, with one ranged GET, retried if cut off."""
    if (start is not None and start < 0) or (end is not None and end < 0):
        size = fs.info(path)["size"]
        start = max(0, size + start) if start is not None and start < 0 else start
        end = max(0, size + end) if end is not None and end < 0 else end
    start = start or 0
    if end is not None and end <= start:
        return b""
    headers = {"Accept-Encoding": "identity"}
    if start or end is not None:
        # Explicit first-last only: 6.x reads a suffix range "-N" as "0-N".
        last = "" if end is None else str(end - 1)
        headers["Range"] = f"bytes={start}-{last}"
    action = f"read {path}"
    for attempt in range(1, fs.attempts + 1):
        try:
            return _read_once(fs, path, headers, start, end, action)
        except InterruptedTransfer as broken:
            if attempt == fs.attempts:
                raise broken.error from None
            failure = str(broken.error)
        pause_before_retry(f"GET {fs._file_url(path)}", retry_delay(attempt), attempt + 1,
                           fs.attempts, failure)  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover


def _read_once(
    fs: ArtifactoryFileSystem,
    path: str,
    headers: dict[str, str],
    start: int,
    end: int | None,
    action: str,
) -> bytes:
    response = fs._send("GET", fs._file_url(path), action, headers=headers, stream=True)
    with response:
        if response.status_code == 416:
            return b""  # start at or past the end (every range of an empty file is)
        if response.status_code not in (200, 206):
            raise error_from_response(response, action)
        refuse_folder(response, path)
        try:
            data = response.content
        except requests.RequestException as exc:
            raise InterruptedTransfer(transport_error(exc, action)) from None
    if response.status_code == 200 and "Range" in headers:
        return data[start:end]  # the server ignored the range
    if response.status_code == 206:
        first = re.match(r"bytes ([0-9]+)-", response.headers.get("Content-Range", ""))
        if first and int(first.group(1)) != start:
            raise ArtifactoryError(
                f"{action}: asked for bytes from {start}, the server sent them from "
                f"{first.group(1)}"
            )
    return data


def refuse_folder(response: requests.Response, path: str) -> None:
    """A GET on a folder is redirected to ``folder/`` and answered with an HTML page."""
    if response.history and urlsplit(response.url).path.endswith("/"):
        response.close()
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)


def download_to_path(fs: ArtifactoryFileSystem, rpath: str, lpath: str, callback: Callback) -> None:
    """Download into a temporary file beside ``lpath``, renamed only once verified."""
    with contextlib.suppress(FileNotFoundError):
        cached = fs._cached_info(rpath)
        if cached is not None and cached["type"] == "directory":
            os.makedirs(lpath, exist_ok=True)
            return
    parent = os.path.dirname(os.path.abspath(lpath))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(
        parent, f".{os.path.basename(lpath)}.fsartifacts-{uuid.uuid4().hex[:12]}.part"
    )
    try:
        with open(staging, "wb") as out:
            try:
                fs.download(rpath, out, callback=callback, restartable=True)
            except IsADirectoryError:
                out.close()
                os.makedirs(lpath, exist_ok=True)
                return
        os.replace(staging, lpath)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)


def download(
    fs: ArtifactoryFileSystem,
    rpath: str,
    out: _Writer,
    *,
    callback: Callback,
    restartable: bool,
    verify: bool,
) -> None:
    """Stream ``rpath`` into ``out``; see :meth:`ArtifactoryFileSystem.download`."""
    progress = ProgressOnce(callback)
    action = f"download {rpath}"
    for attempt in range(1, fs.attempts + 1):
        try:
            _download_once(fs, rpath, out, progress, action, verify=verify)
            return
        except InterruptedTransfer as broken:
            if not restartable or attempt == fs.attempts:
                raise broken.error from None
            failure = str(broken.error)
        rewound: Any = out
        rewound.seek(0)
        rewound.truncate()
        pause_before_retry(f"GET {fs._file_url(rpath)}", retry_delay(attempt), attempt + 1,
                           fs.attempts, failure)  # fmt: skip


def _download_once(
    fs: ArtifactoryFileSystem,
    rpath: str,
    out: _Writer,
    progress: ProgressOnce,
    action: str,
    *,
    verify: bool,
) -> None:
    response = fs._call(
        "GET",
        fs._file_url(rpath),
        action,
        stream=True,
        headers={"Accept-Encoding": "identity"},
    )
    with response:
        refuse_folder(response, rpath)
        algorithm, expected = _announced_checksum(fs, response, rpath) if verify else (None, None)
        length = response.headers.get("Content-Length")
        expected_size = int(length) if length and length.isdigit() else None
        if expected_size is not None:
            progress.callback.set_size(expected_size)
        hasher = hashlib.new(algorithm) if algorithm else None
        received = 0
        try:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                out.write(chunk)
                if hasher:
                    hasher.update(chunk)
                received += len(chunk)
                progress.advance_to(received)
        except requests.RequestException as exc:
            raise InterruptedTransfer(transport_error(exc, action)) from None
    if expected_size is not None and received != expected_size:
        raise InterruptedTransfer(
            ArtifactoryConnectionError(
                f"{action}: the connection ended after {received} of {expected_size} bytes"
            )
        )
    if hasher and hasher.hexdigest() != expected:
        raise ArtifactoryIntegrityError(
            f"{action}: the received bytes have {algorithm} {hasher.hexdigest()}, "
            f"the server announced {expected}; the download was discarded"
        )


def _announced_checksum(
    fs: ArtifactoryFileSystem, response: requests.Response, rpath: str
) -> tuple[str | None, str | None]:
    for algorithm in ("sha256", "sha1"):
        value = response.headers.get(f"X-Checksum-{algorithm.capitalize()}")
        if value:
            return algorithm, value.strip().lower()
    if response.history:
        # Redirected to a CDN or presigned URL, which sends no checksum: ask Artifactory.
        info = fs.info(rpath, refresh=True)
        for algorithm in ("sha256", "sha1"):
            if info.get(algorithm):
                return algorithm, info[algorithm]
    return None, None
