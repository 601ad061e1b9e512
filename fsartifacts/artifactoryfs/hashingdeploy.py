"""A deploy of a file not hashed yet: its sha256 computed from the bytes as they are
sent, and the checksums of the server's answer, for the caller to compare.

Hashing first would cost a read of the whole file (about 1 s per GiB) before its
first byte leaves; here the two overlap (the digest in a thread beside the send).
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.errors import ArtifactoryError
from fsartifacts.artifactoryfs.upload import Readable, UploadBody, put_with_retries


def deploy_hashing(
    client: ArtifactoryClient,
    path: str,
    open_body: Callable[[], Readable],
    size: int,
    callback: Callback = DEFAULT_CALLBACK,
) -> tuple[dict[str, str], dict[str, str]]:
    """PUT a whole file not hashed yet, its sha256 computed from the bytes as they are
    sent: (that sha256, the checksums the server's answer gives for what it stored).

    No checksum goes with the request (none is known before its last byte), so the
    server cannot refuse a corrupted upload: the caller compares the two and removes
    the copy when they differ. Nor is a checksum deploy tried: it needs the checksum
    first, which would cost a read of the whole file before the first byte is sent.
    """
    if "/" not in path:
        raise ArtifactoryError(f"cannot write {path!r}: a file needs a repository and a name")
    callback.set_size(size)
    progress = ProgressOnce(callback)
    bodies: list[UploadBody] = []
    answer: dict[str, str] = {}

    def body() -> UploadBody:
        for earlier in bodies:  # a try that failed: its digests are of no use
            assert earlier.digests is not None
            earlier.digests.close()
        bodies[:] = [UploadBody(open_body(), size, progress, hashing=("sha256",))]
        return bodies[0]

    try:
        put_with_retries(
            client,
            client.file_url(path),
            f"upload {path}",
            body,
            {},
            answered=lambda response: answer.update(answered_checksums(response)),
        )
        (sent,) = bodies
        assert sent.digests is not None
        hashed = sent.digests.hexdigests()
    finally:
        for made in bodies:
            assert made.digests is not None
            made.digests.close()
    progress.advance_to(size)
    return hashed, answer


def answered_checksums(response: requests.Response) -> dict[str, str]:
    """The ``checksums`` of a deploy's answer (sha1, sha256, md5, lower-cased); {} when
    it has none (an answer that is not the JSON of a stored item)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    checksums = body.get("checksums") if isinstance(body, dict) else None
    if not isinstance(checksums, dict):
        return {}
    return {str(k): str(v).lower() for k, v in checksums.items() if isinstance(v, str) and v}
