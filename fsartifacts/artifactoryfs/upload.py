"""Writes to ``artifactory://``: checksum-first deploys, retried PUTs, server-side copies.

A deploy carries the content's sha1 and sha256, so the server refuses a
corrupted upload (409, nothing stored); files of ``CHECKSUM_DEPLOY_MIN`` bytes
or more are first offered by checksum alone (a deploy of a file not hashed yet is
:mod:`fsartifacts.artifactoryfs.hashingdeploy`'s). An upload is retried by re-reading
its source, within ``attempts`` (total tries of one request).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, urljoin

import requests
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryConnectionError,
    ArtifactoryError,
    ArtifactoryIntegrityError,
    ArtifactoryTimeoutError,
    after_tries,
    error_from_response,
)
from fsartifacts.artifactoryfs.http import RETRY_STATUSES, retry_after_seconds
from fsartifacts.hashing import Digests, FileIdentity, file_identity, hash_stream
from fsartifacts.redaction import without_query
from fsartifacts.retry import TIMEOUT_TRIES, pause_before_retry, retry_delay

log = logging.getLogger("fsartifacts")

SPOOL_IN_MEMORY = 8 * 1024 * 1024
MAX_UPLOAD_REDIRECTS = 5
# A checksum deploy is a probe: one more round trip for every file the server does not
# hold yet. It pays off only where the bytes it may save take longer to send than that
# round trip: from about 1 MiB (8 ms at 1 Gbit/s, 80 ms at 100 Mbit/s, against 20-50 ms
# to a remote server). Below it, a folder of new small files would cost two requests a
# file. A new version's files already held by an earlier one are copied, not probed.
CHECKSUM_DEPLOY_MIN = 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


# What the body hands urllib3 at a time. urllib3 asks a file body for 16 KiB
# blocks (65,000 sends per GiB); larger blocks cost fewer system calls.
SEND_BLOCK = 1024 * 1024


class UploadBody:
    """A file-like request body with a known length, so requests sends Content-Length.

    ``read`` returns up to ``SEND_BLOCK`` bytes whatever smaller size it is asked for.
    With ``hashing``, the bytes it hands out are hashed on the way (:attr:`digests`,
    computed in threads beside the send), from its start again when it is rewound.
    """

    def __init__(
        self, raw: Readable, size: int, progress: ProgressOnce, hashing: tuple[str, ...] = ()
    ) -> None:
        self._raw = raw
        self._size = size
        self._sent = 0
        self._progress = progress
        self._hashing = hashing
        self.digests = Digests(hashing) if hashing else None

    def read(self, amount: int = -1) -> bytes:
        data = self._raw.read(amount if amount < 0 else max(amount, SEND_BLOCK))
        self._sent += len(data)
        self._progress.advance_to(self._sent)
        if self.digests is not None:
            self.digests.update(data)
        return data

    def __len__(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._sent

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind, for urllib3's retry of a connection that never opened."""
        raw: Any = self._raw
        self._sent = raw.seek(offset, whence)
        if self.digests is not None:
            if self._sent != 0:  # never done by urllib3, which rewinds to where it began
                raise ValueError("a hashing upload body rewinds to its start only")
            self.digests.close()
            self.digests = Digests(self._hashing)
        return self._sent

    def close(self) -> None:
        self._raw.close()


def size_and_digests(stream: Readable) -> tuple[int, str, str]:
    """(size, sha1, sha256) of a stream, read to its end: what a deploy sends."""
    size, digests = hash_stream(stream, ("sha1", "sha256"))
    return size, digests["sha1"], digests["sha256"]


class Reopened(io.RawIOBase):
    """A view of a seekable file from its start whose close() leaves the file open."""

    def __init__(self, raw: Any) -> None:
        raw.seek(0)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._raw.seek(offset, whence))

    def close(self) -> None:
        pass


def deploy(
    client: ArtifactoryClient,
    path: str,
    open_body: Callable[[], Readable],
    size: int,
    sha1: str,
    sha256: str,
    callback: Callback = DEFAULT_CALLBACK,
    *,
    offered: bool = False,
) -> None:
    """PUT a whole file (checksum deploy first when worth it), retrying by reopening.
    ``offered``: the caller asked for a checksum deploy of the content already (the server
    does not hold it), so none is tried here.

    The caller forgets what it cached of ``path``: a deploy, even a failed one, may
    have changed it.
    """
    if "/" not in path:
        raise ArtifactoryError(f"cannot write {path!r}: a file needs a repository and a name")
    callback.set_size(size)
    progress = ProgressOnce(callback)
    headers = {"X-Checksum-Sha1": sha1, "X-Checksum-Sha256": sha256}
    url = client.file_url(path)
    action = f"upload {path}"
    if size >= CHECKSUM_DEPLOY_MIN and not offered:
        deployed = put_with_retries(
            client,
            url,
            action,
            lambda: None,
            {**headers, "X-Checksum-Deploy": "true"},
            ok=(200, 201, 404),
        )
        if deployed:
            progress.advance_to(size)
            return

    def body() -> UploadBody | bytes:
        raw = open_body()
        if size > SEND_BLOCK:
            return UploadBody(raw, size, progress)
        # A small body is read whole, in one call, and sent as bytes: urllib3 writes it at
        # once, without a file body's block and end-of-file reads. Bytes that are not the
        # announced checksums' (the file changed since) are refused by the server.
        try:
            return raw.read(size)
        finally:
            raw.close()

    put_with_retries(client, url, action, body, headers)
    progress.advance_to(size)  # a small body's bytes, counted once stored


def put_with_retries(
    client: ArtifactoryClient,
    url: str,
    action: str,
    make_body: Callable[[], UploadBody | bytes | None],
    headers: dict[str, str],
    ok: tuple[int, ...] = (200, 201),
    answered: Callable[[requests.Response], None] | None = None,
) -> bool:
    """PUT, retried on a broken connection or 429/5xx; True for 200/201, False for 404 in ok.

    ``answered`` is handed the 200/201 response, before it is closed.

    Redirects are followed here, not by requests: it would re-send the PUT with the
    body already read (a Content-Length and no bytes, so the server waits for them
    until the timeout). A redirect on the same host gets a fresh body; one to another
    host fails at once (see :func:`redirect_target`).
    """
    attempt = redirects = timeouts = 0
    while True:
        attempt += 1
        body = make_body()
        response: requests.Response | None = None
        failure = ""
        try:
            response = client.send(
                "PUT", url, action, data=body, headers=headers, allow_redirects=False
            )
        except (ArtifactoryConnectionError, ArtifactoryTimeoutError) as exc:
            # Not after a failed connect: urllib3 retried that already.
            if exc.retries_exhausted:
                raise  # a failed connect: urllib3 retried it, and said so
            timeouts += isinstance(exc, ArtifactoryTimeoutError)
            if attempt == client.attempts or timeouts >= TIMEOUT_TRIES:
                raise after_tries(exc, attempt) from None
            failure = str(exc)
        finally:
            if isinstance(body, UploadBody):
                body.close()
        if response is not None and response.is_redirect:
            try:
                url = redirect_target(client, response, action, redirects)
            finally:
                response.close()
            redirects += 1
            attempt -= 1  # sent on, not failed: the try is not used up
            continue
        if response is not None:
            if response.status_code in ok:
                stored = response.status_code in (200, 201)
                try:
                    if stored and answered is not None:
                        answered(response)
                finally:
                    response.close()
                return stored
            if response.status_code not in RETRY_STATUSES or attempt == client.attempts:
                error = error_from_response(response, action)
                response.close()
                raise after_tries(error, attempt) if attempt > 1 else error
        wait = retry_after_seconds(response)
        if response is not None:
            failure = f"HTTP {response.status_code}"
            response.close()
        delay = wait if wait is not None else retry_delay(attempt)
        pause_before_retry(f"PUT {url}", delay, attempt + 1, client.attempts, failure)


def redirect_target(
    client: ArtifactoryClient, response: requests.Response, action: str, redirects: int
) -> str:
    """Where a redirected upload goes next: the new URL on the same host, else an error.

    An upload is not sent on to another host: its credentials would not follow it
    (they never leave the host they were configured for), and a different server
    taking uploads is a configuration to fix, not to guess.
    """
    status = response.status_code
    target = urljoin(response.url or "", response.headers.get("Location", ""))
    shown = without_query(target)
    if status == 303 or redirects >= MAX_UPLOAD_REDIRECTS:
        reason = "a redirect an upload cannot follow" if status == 303 else "too many redirects"
    elif client.session().should_strip_auth(response.url or "", target):
        reason = "another host; uploads are only sent on within the same host"
    else:
        log.info("%s: redirected (HTTP %d) to %s; sending it there", action, status, shown)
        return target
    raise ArtifactoryError(
        f"{action}: the server redirected the upload (HTTP {status}) to {shown}: {reason}. "
        "Nothing was stored; set `url` to the server that takes the uploads.",
        status=status,
    )


def server_side(client: ArtifactoryClient, operation: str, path1: str, path2: str) -> bool:
    """POST /api/copy|move with the exact target; False when the server refuses the API."""
    url = (
        f"{client.api_url(operation, path1)}"
        f"?to=/{quote(path2, safe='/')}&suppressLayouts=1&failFast=1"
    )
    action = f"{operation} {path1} to {path2}"
    response = client.send("POST", url, action)
    with response:
        if response.status_code in (400, 403, 404, 405, 501):
            # OSS ("available only in Artifactory Pro"), or not allowed: do it by hand.
            if response.status_code in (400, 405, 501):
                client.copy_api = False
            return False
        if response.status_code != 200:
            raise error_from_response(response, action)
        try:
            body = response.json()
        except ValueError:
            body = {}
    failures = [
        str(m.get("message", ""))
        for m in (body.get("messages") or [])
        if isinstance(m, dict) and str(m.get("level", "")).lower() == "error"
    ]
    if failures:
        raise ArtifactoryError(f"{action}: {'; '.join(failures)}", status=200)
    return True


def file_to_deploy(
    rpath: str,
    lpath: str,
    sha256: str | None,
    sha1: str | None,
    hashed_stat: os.stat_result | FileIdentity | None,
    *,
    now: os.stat_result | None = None,
) -> tuple[int, str, str, Callable[[], Readable]]:
    """What a deploy of local file ``lpath`` to ``rpath`` sends (``now``: its stat the
    caller has just taken): its size, sha1 and sha256, and the opener of its bytes; see
    :meth:`ArtifactoryFileSystem.put_file`."""
    if sha256 is not None and sha1 is not None:
        now = now or os.stat(lpath)
        if hashed_stat is not None and file_identity(now) != file_identity(hashed_stat):
            raise ArtifactoryIntegrityError(
                f"upload {rpath}: {lpath} changed since it was hashed (its size, "
                "modification time or inode differ); nothing was uploaded"
            )
        size, sha1, actual_sha256 = now.st_size, sha1.lower(), sha256.lower()
    else:
        with open(lpath, "rb") as f:
            size, sha1, actual_sha256 = size_and_digests(f)
        if sha256 is not None and sha256.lower() != actual_sha256:
            raise ArtifactoryIntegrityError(
                f"upload {rpath}: {lpath} changed since it was hashed "
                f"(sha256 {sha256.lower()}, now {actual_sha256}); nothing was uploaded"
            )

    def reopen() -> Readable:
        # Unbuffered: the body reads in blocks of its own, and a buffered file would ask
        # whether it is a terminal and where it stands (two system calls) for nothing.
        return open(lpath, "rb", buffering=0)  # closed by deploy or put_with_retries

    return size, sha1, actual_sha256, reopen


def deploy_by_checksum(client: ArtifactoryClient, path: str, source: dict[str, Any]) -> bool:
    """Copy ``source`` (an info entry) to ``path`` by its checksums alone.

    True when the server held the content; False when it did not, or the
    entry has no checksums to offer.
    """
    if not (source.get("sha256") and source.get("sha1")):
        return False
    headers = {
        "X-Checksum-Sha1": source["sha1"],
        "X-Checksum-Sha256": source["sha256"],
        "X-Checksum-Deploy": "true",
    }
    return put_with_retries(
        client,
        client.file_url(path),
        f"copy to {path}",
        lambda: None,
        headers,
        ok=(200, 201, 404),
    )
