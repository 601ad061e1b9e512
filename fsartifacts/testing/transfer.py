"""Artifact endpoints of the local Artifactory server: deploy and delete (downloads are
:mod:`fsartifacts.testing.downloads`).

``PUT /<repo>/<path>`` streams the body to a temp file while hashing it, verifies the
client's ``X-Checksum-*`` headers (409 on a mismatch, nothing stored), supports checksum
deploy (a hard link to the stored file, no byte copied) and matrix-param properties,
then renames the file into place. Upload faults
(drop, corrupt) act here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fsartifacts.testing import views
from fsartifacts.testing.downloads import DownloadEndpoints
from fsartifacts.testing.faults import BEFORE_ANSWER, CORRUPT, DROP, flip_byte
from fsartifacts.testing.http_base import CHUNK, AbortRequest
from fsartifacts.testing.model import (
    ArtifactoryError,
    Checksums,
    Item,
    PendingUpload,
    hash_file,
    is_hex_checksum,
    overwrite_message,
    same_content,
)
from fsartifacts.testing.wire import (
    CONTEXT,
    Target,
    parse_http_date,
)

_CHECKSUM_HEADERS = (("sha1", "X-Checksum-Sha1"), ("sha256", "X-Checksum-Sha256"),
                     ("md5", "X-Checksum-Md5"))  # fmt: skip
_JAVA_ALGORITHM = {"sha1": "SHA-1", "md5": "MD5", "sha256": "SHA-256"}


class ArtifactEndpoints(DownloadEndpoints):
    """``/artifactory/<repo>/<path>``: deploy and delete; downloads are those of
    :class:`DownloadEndpoints`."""

    # -- deploy -----------------------------------------------------------------------

    def _deploy(self, target: Target, user: str) -> None:
        app = self.server.app
        repo, path = target.segments[0], "/".join(target.segments[1:])
        if not app.storage.has_repo(repo):
            raise ArtifactoryError(
                404, f"Could not find a local repository named {repo} to deploy to."
            )
        if target.folder or not path:
            folder = app.storage.mkdirs(repo, path, user=user, properties=target.matrix)
            uri = views.download_uri(self._base, repo, path, folder=True)
            self._json(201, views.folder_created(folder, self._base), views.ITEM_CREATED,
                       {"Location": _header_url(uri)})  # fmt: skip
            return
        declared = self._declared_checksums()
        last_modified = parse_http_date(self.headers.get("Last-Modified"))
        deny = app.no_overwrite
        if (self.headers.get("X-Checksum-Deploy") or "").strip().lower() == "true":
            item = self._checksum_deploy(repo, path, user, declared, last_modified, target, deny)
        else:
            existing = app.storage.file_at(repo, path)  # refuses file/folder clashes early
            if existing is not None and deny and not same_content(existing, declared):
                raise ArtifactoryError(403, overwrite_message(repo, path, user))
            upload = app.storage.new_upload()
            try:
                checksums = self._receive(upload)
                _verify_client_checksums(repo, path, declared, checksums)
                item = app.storage.commit_file(
                    repo, path, upload.path, upload.size, checksums,
                    user=user, originals=declared, last_modified=last_modified,
                    properties=target.matrix, deny_overwrite=deny, declared=declared,
                )  # fmt: skip
            finally:
                upload.discard()
        rule = app.faults.take(BEFORE_ANSWER, self.command, self.path)
        if rule is not None and rule.action is not None:
            rule.action()
        include_sha256 = "ArtifactoryBuildClient/" not in (self.headers.get("User-Agent") or "")
        body = views.file_created(item, self._base, include_sha256=include_sha256)
        location = _header_url(body["downloadUri"])
        self._json(201, body, views.ITEM_CREATED, {"Location": location})

    def _declared_checksums(self) -> dict[str, str]:
        """The checksums the client sent, lower-cased; ``X-Checksum`` typed by its length."""
        declared = {}
        for algorithm, header in _CHECKSUM_HEADERS:
            value = (self.headers.get(header) or "").strip().lower()
            if value:
                declared[algorithm] = value
        generic = (self.headers.get("X-Checksum") or "").strip().lower()
        algorithm = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(generic), "")
        if algorithm and algorithm not in declared:
            declared[algorithm] = generic
        return declared

    def _receive(self, upload: PendingUpload) -> Checksums:
        """Stream the request body into ``upload``, applying upload faults on the way."""
        assert self._body is not None
        faults = self.server.app.faults
        drop = faults.take(DROP, self.command, self.path)
        corrupt_at: int | None = None
        if self._body.chunked or self._body.length:
            rule = faults.take(CORRUPT, self.command, self.path)
            if rule is not None:
                length = self._body.length
                corrupt_at = rule.offset if length is None else min(rule.offset, length - 1)
        received = 0
        while True:
            want = CHUNK if drop is None else min(CHUNK, drop.nbytes - received)
            chunk = self._body.read(want) if want > 0 else b""
            if not chunk:
                break
            if corrupt_at is not None and received <= corrupt_at < received + len(chunk):
                chunk = flip_byte(chunk, corrupt_at - received)
                corrupt_at = None
            upload.write(chunk)
            received += len(chunk)
        if drop is not None:  # no response at all: the client sees a reset connection
            self._append_record(0, 0)
            self._reset_connection()
            raise AbortRequest()
        checksums = upload.finish()
        if corrupt_at is not None and upload.size > 0:  # chunked body shorter than the offset
            with open(upload.path, "r+b") as handle:
                handle.seek(upload.size - 1)
                last = handle.read(1)
                handle.seek(upload.size - 1)
                handle.write(flip_byte(last, 0))
                handle.seek(0)
                checksums, _ = hash_file(handle)
        return checksums

    def _checksum_deploy(
        self,
        repo: str,
        path: str,
        user: str,
        declared: dict[str, str],
        last_modified: int | None,
        target: Target,
        deny: bool,
    ) -> Item:
        storage = self.server.app.storage
        algorithm = "sha256" if "sha256" in declared else "sha1" if "sha1" in declared else ""
        if not algorithm:
            raise ArtifactoryError(
                404,
                "Checksum deploy failed. no checksum header "
                "'X-Checksum-Sha1/X-Checksum-Sha256' was found.",
            )
        value = declared[algorithm]
        if not is_hex_checksum(algorithm, value):
            raise ArtifactoryError(404, f"Checksum deploy failed. Invalid {algorithm}: {value}")
        existing = storage.file_at(repo, path)
        sums = existing.checksums if existing is not None else None
        if existing is not None and sums is not None and sums.get(algorithm) == value:
            # Same content already there: only metadata changes, no overwrite check.
            return storage.touch_identical(
                repo, path, user=user, last_modified=last_modified, properties=target.matrix
            )
        if existing is not None and deny:
            raise ArtifactoryError(403, overwrite_message(repo, path, user))
        missing = ArtifactoryError(
            404, f"Checksum deploy failed. No existing file with {algorithm}: {value}"
        )
        source = storage.find_by_checksum(algorithm, value)
        linked = storage.link_to(source) if source is not None else None
        if source is not None and source.checksums is not None and linked is not None:
            try:  # the stored binary, linked: no byte copied
                return storage.commit_file(
                    repo, path, linked, source.size, source.checksums,
                    user=user, originals=source.checksums.as_dict(),  # trusted: original = actual
                    last_modified=last_modified, properties=target.matrix,
                    deny_overwrite=deny, declared=declared,
                )  # fmt: skip
            finally:
                linked.unlink(missing_ok=True)
        opened = storage.open_file(source.repo, source.path) if source else None
        if opened is None:
            raise missing
        source, handle = opened
        with handle:
            upload = storage.new_upload()
            while chunk := handle.read(CHUNK):
                upload.write(chunk)
        try:
            checksums = upload.finish()
            if checksums.get(algorithm) != value:
                raise missing
            return storage.commit_file(
                repo, path, upload.path, upload.size, checksums,
                user=user, originals=checksums.as_dict(),  # trusted: original = actual
                last_modified=last_modified, properties=target.matrix,
                deny_overwrite=deny, declared=declared,
            )  # fmt: skip
        finally:
            upload.discard()

    def _delete(self, target: Target, user: str) -> None:
        app = self.server.app
        repo, path = target.segments[0], "/".join(target.segments[1:])
        # The permission is asserted before the path is looked up: a user without Delete
        # is refused a path nothing holds too.
        if app.no_overwrite:
            if not path:
                raise ArtifactoryError(
                    403,
                    f"Not enough permissions to delete content of repository '{repo}' "
                    f"(user: '{user}' needs DELETE permission).",
                )
            raise ArtifactoryError(403, overwrite_message(repo, path, user))
        if app.storage.stat(repo, path) is None:
            raise ArtifactoryError(
                404, f"Could not locate artifact '{repo}:{path}' (Nothing to delete)."
            )
        try:
            app.storage.delete(repo, path)
        except FileNotFoundError:
            raise ArtifactoryError(
                404, f"Could not locate artifact '{repo}:{path}' (Nothing to delete)."
            ) from None
        self._respond(204)


def _verify_client_checksums(
    repo: str, path: str, declared: Mapping[str, str], actual: Checksums
) -> None:
    """The CLIENT checksum policy: every checksum the client sent must match."""
    if all(actual.get(alg) == value for alg, value in declared.items()):
        return
    details = ", ".join(
        f"{_JAVA_ALGORITHM[alg]}=ChecksumInfo{{type={_JAVA_ALGORITHM[alg]}, "
        f"original='{declared.get(alg, 'null')}', actual='{actual.get(alg)}'}}"
        for alg in ("sha1", "md5", "sha256")
    )
    raise ArtifactoryError(
        409,
        f"Checksum policy 'LocalRepoChecksumPolicy: CLIENT' rejected the artifact "
        f"'{repo}:{path}'. Checksums info: ChecksumsInfo{{checksums={{{details}}}}}",
    )


def _header_url(url: str) -> str:
    """A URL fit for a header: as is when printable ASCII, else percent-encoded."""
    if url.isascii() and url.isprintable() and " " not in url:
        return url
    scheme_host, sep, path = url.partition(CONTEXT)
    return scheme_host + sep + quote(path, safe="/;=:@!$&'()*+,~")
