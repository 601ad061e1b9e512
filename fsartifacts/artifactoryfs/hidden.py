"""Bytes a path holds only once checked: sent to a hidden name beside it, compared with
what was sent, then published at the path by a checksum deploy.

A deploy whose checksums are known only after its last byte (a file streamed as it is
written, one hashed as it is sent) cannot tell the server what to expect, so the server
stores whatever arrived, corrupted or not. Sent to the path itself, those bytes would be
there from the server's answer until the client's check refused them, for a pull to
install (it checks a download against the checksums the server computed of those very
bytes), and for good if the client died in between. So they go to
``.NAME.fsartifacts-XXXXXXXXXXXX.part`` beside the path (``atomic.temp_name``): no
artifact's name pattern matches it, and the sweep of leftovers removes it once
abandoned. The checksums of the server's answer must be those hashed on the way; only
then a checksum deploy of them creates the path (no byte is sent again: the server
links the content it holds), and the hidden copy is deleted. A failed delete is logged,
not raised: the path holds the right bytes, and the sweep takes the copy later.

Deleting needs Artifactory's Delete permission, which deploying a new path does not:
credentials without it could remove the copy neither here nor in the sweep. So before
the first hidden copy of a file that could be hashed first instead, the server is asked
(:func:`may_delete`), by a delete of a hidden name nothing holds, which the server
refuses before it looks the path up; refused, the file is hashed first and deployed
with its checksums, and nothing is left. A delete refused later (a server that looks
the path up first, a permission taken away meanwhile) leaves that one copy, says so in
a warning, and is remembered on the client the same way. A streamed write has no file
to read twice: without the permission it leaves its copy, with the warning.

A create (``mode="create"``, ``open(..., "xb")``) must not replace a path another writer
created meanwhile, and Artifactory has no conditional deploy: :func:`deploy_new` asks
whether the path exists just before the content is published there, which for a long
upload means after it, through a hidden copy (:meth:`HiddenCopy.publish`).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Mapping

import requests
from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryError,
    ArtifactoryIntegrityError,
    ArtifactoryPermissionError,
)
from fsartifacts.artifactoryfs.listing import item_exists, item_info
from fsartifacts.artifactoryfs.upload import (
    CHECKSUM_DEPLOY_MIN,
    Readable,
    deploy,
    deploy_by_checksum,
)
from fsartifacts.atomic import temp_name

log = logging.getLogger("fsartifacts")


def hidden_name(path: str) -> str:
    """The name an upload of ``path`` is sent to before it is published."""
    parent, _, name = path.rpartition("/")
    return f"{parent}/{temp_name(name)}"


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


def may_delete(client: ArtifactoryClient, path: str) -> bool:
    """Whether these credentials may delete beside ``path``, asked of the server once per
    client: a DELETE of a hidden name nothing holds (404 when allowed, 403 when not),
    which leaves nothing whatever the answer. Another refusal (401) is raised."""
    if client.deletes is None:
        name = hidden_name(path)
        try:
            client.call(
                "DELETE", client.file_url(name), f"delete {name}", ok=(200, 202, 204, 404)
            ).close()
        except ArtifactoryPermissionError as error:
            if error.status != 403:
                raise
            client.deletes = False
        else:
            client.deletes = True
    return client.deletes


def deploy_new(
    client: ArtifactoryClient,
    path: str,
    open_body: Callable[[], Readable],
    size: int,
    sha1: str,
    sha256: str,
    callback: Callback = DEFAULT_CALLBACK,
) -> None:
    """Create ``path`` with the ``size`` bytes of ``open_body()`` (their sha1 and sha256
    known, so the server refuses them corrupted): FileExistsError, and ``path`` left as it
    is, when it exists just before the content is published there.

    A body below ``CHECKSUM_DEPLOY_MIN`` is one short PUT to ``path``, sent right after the
    check: the window between them is about the round trip a second check would leave.
    A longer one goes to a hidden copy, and the path is asked again once it is there,
    just before a checksum deploy publishes it; another writer that created the path
    while the bytes were on their way keeps it (the window left is one round trip, not
    the upload). The server may hold the content already: then the checksum deploy
    right after the check is the whole create. Credentials that may not delete
    (:func:`may_delete`) could not remove the hidden copy: their upload goes to ``path``
    itself, checked only before it.
    """
    if item_exists(client, path):
        raise FileExistsError(errno.EEXIST, "already exists", path)
    if size < CHECKSUM_DEPLOY_MIN or not may_delete(client, path):
        deploy(client, path, open_body, size, sha1, sha256, callback)
        return
    checksums = {"sha256": sha256, "sha1": sha1}
    callback.set_size(size)
    if deploy_by_checksum(client, path, checksums):
        ProgressOnce(callback).advance_to(size)
        return
    copy = HiddenCopy(client, path)
    try:
        copy.stored = True  # from the first try on, whatever its outcome seems to be
        deploy(client, copy.name, open_body, size, sha1, sha256, callback, offered=True)
        copy.publish(checksums, exclusive=True)
    except BaseException:
        copy.delete()
        raise


class HiddenCopy:
    """The hidden name the bytes of ``path`` are sent to, and what becomes of them there."""

    def __init__(self, client: ArtifactoryClient, path: str) -> None:
        self.client = client
        self.path = path
        self.name = hidden_name(path)
        self.action = f"upload {path}"
        # The server may hold a copy under ``name``: set by the sender before its request,
        # since a try that failed on the client's side may have been stored.
        self.stored = False

    def check(self, sent: Mapping[str, str], answered: Mapping[str, str]) -> dict[str, str]:
        """The sha256 and sha1 to publish the copy by: those of the server's answer
        (``answered``; the item's own record when the answer has none), which must be those
        ``sent`` (its sha256, and its sha1 when known). Else the hidden copy is deleted and
        :class:`ArtifactoryIntegrityError` raised: nothing was written to the path."""
        if not answered.get("sha256"):
            answered = item_info(self.client, self.name)
        stored256 = str(answered.get("sha256") or "").lower()
        stored1 = str(answered.get("sha1") or "").lower()
        sha256, sha1 = sent["sha256"], str(sent.get("sha1") or stored1)
        if stored256 != sha256 or not sha1 or (stored1 and stored1 != sha1):
            self.delete()
            raise ArtifactoryIntegrityError(
                f"{self.action}: the server stored bytes with sha256 {stored256 or 'unknown'}, "
                f"not the {sha256} sent; nothing was written to {self.path}"
            )
        return {"sha256": sha256, "sha1": sha1}

    def publish(self, checksums: Mapping[str, str], *, exclusive: bool = False) -> None:
        """Create the path from the checked copy by a checksum deploy of ``checksums``, then
        delete the copy. ``exclusive``: FileExistsError when the path exists by now, asked
        of the server just before (Artifactory has no conditional deploy: the window left
        is that one round trip, not the whole upload)."""
        try:
            if exclusive and item_exists(self.client, self.path):
                raise FileExistsError(errno.EEXIST, "already exists", self.path)
            if not deploy_by_checksum(self.client, self.path, dict(checksums)):
                raise ArtifactoryError(
                    f"{self.action}: the server no longer holds the uploaded content "
                    f"(sha256 {checksums['sha256']}); nothing was written to {self.path}"
                )
        finally:
            self.delete()

    def delete(self) -> None:
        """Delete the hidden copy if the server may hold one; a failure is logged only."""
        if not self.stored:
            return
        self.stored = False
        try:
            self.client.call(
                "DELETE",
                self.client.file_url(self.name),
                f"delete {self.name}",
                ok=(200, 202, 204, 404),
            ).close()
        except ArtifactoryPermissionError as error:
            self.client.deletes = False
            log.warning(
                "the upload's hidden copy %s stays on the server: these credentials may not "
                "delete (HTTP %d, Artifactory's Delete permission); one who may removes it "
                "with fsartifacts gc, and this run hashes large files before sending them, "
                "which leaves no such copy",
                self.name,
                error.status,
            )
        except ArtifactoryError as error:
            log.warning("could not delete the upload's hidden copy %s: %s", self.name, error)
