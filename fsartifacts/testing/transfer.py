"""Artifact endpoints of the local Artifactory server: deploy, download and delete.

``PUT /<repo>/<path>`` streams the body to a temp file while hashing it, verifies the
client's ``X-Checksum-*`` headers (409 on a mismatch, nothing stored), supports checksum
deploy and matrix-param properties, then renames the file into place. ``GET``/``HEAD``
stream the file with Artifactory's headers, ranges and conditional answers. Download and
upload faults (drop, truncate, corrupt) act here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import BinaryIO
from urllib.parse import quote

from fsartifacts.testing import views
from fsartifacts.testing.faults import CORRUPT, CUT, DROP, IGNORE_RANGES, STALL, TRUNCATE
from fsartifacts.testing.http_base import CHUNK, AbortRequest, HandlerBase
from fsartifacts.testing.model import (
    ArtifactoryError,
    Checksums,
    Item,
    PendingUpload,
    hash_file,
    is_hex_checksum,
    join_path,
)
from fsartifacts.testing.storage import overwrite_message, same_content
from fsartifacts.testing.wire import (
    CONTEXT,
    RangeNotSatisfiable,
    Target,
    http_date,
    parse_http_date,
    parse_ranges,
)

BOUNDARY = "BCD64322345343217845286A"
_CHECKSUM_HEADERS = (("sha1", "X-Checksum-Sha1"), ("sha256", "X-Checksum-Sha256"),
                     ("md5", "X-Checksum-Md5"))  # fmt: skip
_JAVA_ALGORITHM = {"sha1": "SHA-1", "md5": "MD5", "sha256": "SHA-256"}


class ArtifactEndpoints(HandlerBase):
    """``/artifactory/<repo>/<path>``: deploy, download, delete."""

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
                chunk = _flip(chunk, corrupt_at - received)
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
                handle.write(_flip(last, 0))
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

    # -- download ---------------------------------------------------------------------

    def _download(self, target: Target) -> None:
        storage = self.server.app.storage
        repo, path = target.segments[0], "/".join(target.segments[1:])
        item = storage.stat(repo, path)
        if item is None:
            raise ArtifactoryError(404, "File not found.")
        if item.folder:
            if not target.folder:
                location = self._base.rsplit(CONTEXT, 1)[0] + target.raw_path + "/"
                self._respond(302, b"", None, {"Location": location})
            else:
                self._folder_listing(item)
            return
        if target.folder:
            raise ArtifactoryError(404, "File not found.")
        opened = storage.open_file(repo, path)
        if opened is None:
            raise ArtifactoryError(404, "File not found.")
        item, handle = opened
        with handle:
            self._send_file(item, handle)

    def _send_file(self, item: Item, handle: BinaryIO) -> None:
        assert item.checksums is not None
        sums = item.checksums
        name = item.name
        mime = views.mime_type(name)
        headers = {
            "Last-Modified": http_date(item.modified),
            "ETag": sums.sha1,
            "X-Checksum-Sha1": sums.sha1,
            "X-Checksum-Sha256": sums.sha256,
            "X-Checksum-Md5": sums.md5,
            "Accept-Ranges": "bytes",
            "X-Artifactory-Filename": quote(name),
            "Content-Disposition": _content_disposition(name),
        }
        if self._not_modified(item):
            self._respond(304, b"", None, headers)
            return
        asked = self.headers.get("Range")
        if asked and self.server.app.faults.take(IGNORE_RANGES, self.command, self.path):
            asked = None  # a proxy in front that drops the header
        if_range_fails = bool(self.headers.get("If-Range")) and not self._if_range_matches(item)
        try:
            ranges = None if if_range_fails else parse_ranges(asked, item.size)
        except RangeNotSatisfiable as unsatisfiable:
            headers["Content-Range"] = unsatisfiable.content_range
            self._respond(416, b"", None, headers)  # no body, as Artifactory
            return
        if ranges is None:
            self._stream(200, {**headers, "Content-Type": mime}, [(0, item.size)], handle)
        elif len(ranges) == 1:
            start, end = ranges[0]
            headers["Content-Range"] = f"bytes {start}-{end}/{item.size}"
            self._stream(206, {**headers, "Content-Type": mime}, [(start, end - start + 1)], handle)
        else:
            pieces: list[bytes | tuple[int, int]] = []
            for start, end in ranges:
                part_head = (
                    f"\r\n--{BOUNDARY}\r\nContent-Type: {mime}\r\n"
                    f"Content-Range: bytes {start}-{end}/{item.size}\r\n\r\n"
                )
                pieces += [part_head.encode(), (start, end - start + 1)]
            pieces.append(f"\r\n--{BOUNDARY}--\r\n".encode())
            content_type = f"multipart/byteranges; boundary={BOUNDARY}"
            self._stream(206, {**headers, "Content-Type": content_type}, pieces, handle)

    def _not_modified(self, item: Item) -> bool:
        assert item.checksums is not None
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {tag.strip().strip('"') for tag in if_none_match.split(",")}
            return "*" in tags or item.checksums.sha1 in tags
        since = parse_http_date(self.headers.get("If-Modified-Since"))
        return since is not None and item.modified // 1000 <= since // 1000

    def _if_range_matches(self, item: Item) -> bool:
        assert item.checksums is not None
        value = (self.headers.get("If-Range") or "").strip().strip('"')
        if value == item.checksums.sha1:
            return True
        date = parse_http_date(value)
        return date is not None and date // 1000 == item.modified // 1000

    def _stream(
        self,
        status: int,
        headers: Mapping[str, str],
        pieces: list[bytes | tuple[int, int]],
        handle: BinaryIO,
    ) -> None:
        """Send a body made of literal bytes and file ranges, applying download faults."""
        total = sum(len(p) if isinstance(p, bytes) else p[1] for p in pieces)
        self._start_response(status, headers, total)
        if self.command == "HEAD":
            self._end_headers(0)
            return
        faults = self.server.app.faults
        limit, ending = total, None
        drop = faults.take(DROP, self.command, self.path)
        truncate = None if drop else faults.take(TRUNCATE, self.command, self.path)
        if drop is not None:
            limit, ending = min(drop.nbytes, total), "reset"
        elif truncate is not None:
            limit, ending = min(truncate.nbytes, total), "truncate"
        corrupt = faults.take(CORRUPT, self.command, self.path) if total else None
        corrupt_at = min(corrupt.offset, total - 1) if corrupt else None
        cut = faults.take(CUT, self.command, self.path)
        stall = None if drop or truncate else faults.take(STALL, self.command, self.path)
        if stall is not None:
            limit, ending = min(stall.nbytes, total), "reset"
        record = self._end_headers(limit)
        sent = 0
        try:
            for chunk in _iter_pieces(pieces, handle):
                if sent >= limit:
                    break
                chunk = chunk[: limit - sent]
                if cut is not None and (allowed := faults.spend(cut, len(chunk))) < len(chunk):
                    chunk, ending, limit = chunk[:allowed], "reset", sent + allowed
                if corrupt_at is not None and sent <= corrupt_at < sent + len(chunk):
                    chunk = _flip(chunk, corrupt_at - sent)
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            self.server.app.request_log.amend(record, replace(record, bytes_out=sent))
            raise
        if sent != record.bytes_out:
            self.server.app.request_log.amend(record, replace(record, bytes_out=sent))
        if stall is not None:
            self.wfile.flush()
            faults.stall(stall)
        if ending == "reset":
            self._reset_connection()
        elif ending == "truncate":
            self.close_connection = True  # orderly close: the client sees a short body

    def _folder_listing(self, item: Item) -> None:
        storage = self.server.app.storage
        entries = []
        for name, is_folder in storage.children(item.repo, item.path):
            child = None if is_folder else storage.stat(item.repo, join_path(item.path, name))
            entries.append((name, is_folder, child))
        title = f"{item.repo}/{item.path}/" if item.path else f"{item.repo}/"
        self._respond(200, views.listing_html(title, entries), views.HTML)

    def _repository_index(self) -> None:
        repos = self.server.app.storage.repos
        page = views.listing_html("/", [(repo, True, None) for repo in repos])
        self._respond(200, page, views.HTML)

    # -- delete -----------------------------------------------------------------------

    def _delete(self, target: Target, user: str) -> None:
        app = self.server.app
        repo, path = target.segments[0], "/".join(target.segments[1:])
        if app.storage.stat(repo, path) is None:
            raise ArtifactoryError(
                404, f"Could not locate artifact '{repo}:{path}' (Nothing to delete)."
            )
        if app.no_overwrite:
            if not path:
                raise ArtifactoryError(
                    403,
                    f"Not enough permissions to delete content of repository '{repo}' "
                    f"(user: '{user}' needs DELETE permission).",
                )
            raise ArtifactoryError(403, overwrite_message(repo, path, user))
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


def _iter_pieces(pieces: list[bytes | tuple[int, int]], handle: BinaryIO) -> Iterator[bytes]:
    for piece in pieces:
        if isinstance(piece, bytes):
            yield piece
            continue
        offset, length = piece
        handle.seek(offset)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                raise OSError("file shorter than its recorded size")
            length -= len(chunk)
            yield chunk


def _flip(chunk: bytes, index: int) -> bytes:
    return chunk[:index] + bytes([chunk[index] ^ 0xFF]) + chunk[index + 1 :]


def _content_disposition(name: str) -> str:
    fallback = name if name.isascii() and name.isprintable() else quote(name)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _header_url(url: str) -> str:
    """A URL fit for a header: as is when printable ASCII, else percent-encoded."""
    if url.isascii() and url.isprintable() and " " not in url:
        return url
    scheme_host, sep, path = url.partition(CONTEXT)
    return scheme_host + sep + quote(path, safe="/;=:@!$&'()*+,~")
