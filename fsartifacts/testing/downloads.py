"""Download endpoints of the local Artifactory server: ``GET``/``HEAD`` of a file (with
Artifactory's headers, ranges, multipart ranges and conditional answers, where the
download faults act: drop, truncate, corrupt, cut, stall, ignored ranges), of a folder
(its HTML listing) and of the repository index."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import BinaryIO
from urllib.parse import quote

from fsartifacts.testing import views
from fsartifacts.testing.faults import CORRUPT, CUT, DROP, IGNORE_RANGES, STALL, TRUNCATE, flip_byte
from fsartifacts.testing.http_base import CHUNK, HandlerBase
from fsartifacts.testing.model import ArtifactoryError, Item, join_path
from fsartifacts.testing.wire import (
    CONTEXT,
    RangeNotSatisfiable,
    Target,
    http_date,
    parse_http_date,
    parse_ranges,
)

BOUNDARY = "BCD64322345343217845286A"


class DownloadEndpoints(HandlerBase):
    """``GET``/``HEAD`` ``/artifactory/<repo>/<path>`` and ``/artifactory/``."""

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
        sent, pause = 0, faults.throttle if self.command == "GET" else 0.0
        try:
            for chunk in _iter_pieces(pieces, handle):
                if sent >= limit:
                    break
                chunk = chunk[: limit - sent]
                if cut is not None and (allowed := faults.spend(cut, len(chunk))) < len(chunk):
                    chunk, ending, limit = chunk[:allowed], "reset", sent + allowed
                if corrupt_at is not None and sent <= corrupt_at < sent + len(chunk):
                    chunk = flip_byte(chunk, corrupt_at - sent)
                if pause and sent:  # between blocks: a body of one block is not held
                    self.wfile.flush()
                    time.sleep(pause)
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


def _content_disposition(name: str) -> str:
    fallback = name if name.isascii() and name.isprintable() else quote(name)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
