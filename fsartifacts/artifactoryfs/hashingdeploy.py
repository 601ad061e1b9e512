"""A deploy of a file not hashed yet: its sha256 computed from the bytes as they are
sent, to a hidden name beside its path, then published there once the server's
checksums of what it stored are those hashed on the way
(:class:`~fsartifacts.artifactoryfs.hidden.HiddenCopy`).

Hashing first would cost a read of the whole file (about 1 s per GiB) before its
first byte leaves; here the two overlap (the digest in a thread beside the send).
"""

from __future__ import annotations

from collections.abc import Callable

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.errors import ArtifactoryError
from fsartifacts.artifactoryfs.hidden import HiddenCopy, answered_checksums
from fsartifacts.artifactoryfs.upload import Readable, UploadBody, put_with_retries


def deploy_hashing(
    client: ArtifactoryClient,
    path: str,
    open_body: Callable[[], Readable],
    size: int,
    callback: Callback = DEFAULT_CALLBACK,
    *,
    exclusive: bool = False,
) -> dict[str, str]:
    """PUT a whole file not hashed yet, its sha256 computed from the bytes as they are
    sent, and publish it at ``path`` once checked: its ``{"sha256": ..., "sha1": ...}``,
    the sha1 the server's for those bytes.

    No checksum goes with the upload (none is known before its last byte), so the server
    cannot refuse a corrupted one: it goes to a hidden name, and bytes that are not those
    sent are deleted there (:class:`ArtifactoryIntegrityError`), never seen at ``path``.
    Nor is a checksum deploy tried first: it needs the checksum, which would cost a read
    of the whole file before the first byte is sent. ``exclusive``: FileExistsError when
    ``path`` exists by the time the bytes are checked.
    """
    if "/" not in path:
        raise ArtifactoryError(f"cannot write {path!r}: a file needs a repository and a name")
    callback.set_size(size)
    progress = ProgressOnce(callback)
    copy = HiddenCopy(client, path)
    bodies: list[UploadBody] = []
    answer: dict[str, str] = {}

    def body() -> UploadBody:
        for earlier in bodies:  # a try that failed: its digests are of no use
            assert earlier.digests is not None
            earlier.digests.close()
        bodies[:] = [UploadBody(open_body(), size, progress, hashing=("sha256",))]
        return bodies[0]

    try:
        copy.stored = True  # from the first try on, whatever its outcome seems to be
        put_with_retries(
            client,
            client.file_url(copy.name),
            copy.action,
            body,
            {},
            answered=lambda response: answer.update(answered_checksums(response)),
        )
        (sent,) = bodies
        assert sent.digests is not None
        checksums = copy.check(sent.digests.hexdigests(), answer)
        copy.publish(checksums, exclusive=exclusive)
    except BaseException:
        copy.delete()
        raise
    finally:
        for made in bodies:
            assert made.digests is not None
            made.digests.close()
    progress.advance_to(size)
    return checksums
