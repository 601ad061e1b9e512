"""HTTP wire details of the local Artifactory server: request targets, bodies, ranges, dates.

Path rules follow Artifactory: the first raw ``;`` starts matrix parameters (properties
on deploy), the path is percent-decoded with ``+`` kept literal, a trailing ``/`` marks a
folder request, ``/./`` segments are dropped, and ``//`` is refused.
"""

from __future__ import annotations

import email.utils
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from urllib.parse import parse_qsl, unquote, unquote_to_bytes, urlsplit

from fsartifacts.testing.model import ArtifactoryError

CONTEXT = "/artifactory"
_CHUNK_SIZE_LINE = re.compile(rb"\s*([0-9A-Fa-f]+)\s*(;.*)?\r?\n\Z")


@dataclass
class Target:
    """A parsed request target under ``/artifactory``."""

    raw: str  # as sent: path plus query
    raw_path: str  # the path as sent, without matrix params and query
    segments: list[str]  # decoded path segments after the context ("" root -> [])
    folder: bool  # the path ended with "/"
    matrix: dict[str, list[str]] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def is_api(self) -> bool:
        return bool(self.segments) and self.segments[0] == "api"

    def has(self, key: str) -> bool:
        return key in self.query


def parse_target(raw_target: str) -> Target:
    """Parse a request target (origin- or absolute-form) sent to the server."""
    raw = raw_target
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        raw = parts.path + (f"?{parts.query}" if parts.query else "")
    raw_path, _, raw_query = raw.partition("?")
    path_part, semicolon, raw_matrix = raw_path.partition(";")
    if path_part != CONTEXT and not path_part.startswith(CONTEXT + "/"):
        raise ArtifactoryError(404, "Not Found")
    rest = path_part[len(CONTEXT) + 1 :]
    if rest.startswith("/"):
        raise ArtifactoryError(500, "Repo key cannot be empty")
    folder = rest.endswith("/") or rest == ""
    decoded = _decode(rest)
    segments = [s for s in decoded.split("/") if s != "."]
    if segments and segments[-1] == "":
        segments.pop()
    for segment in segments:
        if segment == "":
            raise ArtifactoryError(400, f"Empty path segment ('//') in '{decoded}'.")
        if segment == "..":
            raise ArtifactoryError(400, f"Path segment '..' is not allowed: '{decoded}'.")
        if any(ord(c) < 0x20 or c == "\x7f" for c in segment):
            raise ArtifactoryError(400, f"Control characters are not allowed: {decoded!r}.")
    return Target(
        raw=raw,
        raw_path=path_part,
        segments=segments,
        folder=folder,
        matrix=parse_matrix(raw_matrix) if semicolon else {},
        query=dict(reversed(parse_qsl(raw_query, keep_blank_values=True))),
    )


def _decode(raw: str) -> str:
    # http.server hands the request line over as latin-1 text: undo that, then
    # percent-decode bytes (not unquote_plus: "+" stays "+") and read them as UTF-8.
    try:
        return unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise ArtifactoryError(400, "The request path is not valid UTF-8.") from None


def parse_matrix(raw: str) -> dict[str, list[str]]:
    """``k1=v1;k2=v2;k1=v3`` -> ``{"k1": ["v1", "v3"], "k2": ["v2"]}`` (percent-decoded)."""
    props: dict[str, list[str]] = {}
    for part in raw.split(";"):
        key, _, value = part.partition("=")
        key = unquote(key).strip()
        if key:
            props.setdefault(key, []).append(unquote(value))
    return props


def _split_unescaped(text: str, separators: str) -> list[str]:
    """Split on any of ``separators`` not preceded by a backslash; drop the escapes."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_property_assignments(text: str) -> dict[str, list[str]]:
    """The ``?properties=`` value of Set Item Properties: ``k1=v1,v2;k2=v3`` (``|`` too)."""
    props: dict[str, list[str]] = {}
    for assignment in _split_keeping_escapes(text, ";|"):
        if not assignment.strip():
            continue
        key_part, sep, values_part = _partition_unescaped(assignment, "=")
        key = _unescape(key_part).strip()
        if not key:
            raise ArtifactoryError(400, f"Invalid property assignment '{assignment}': empty key.")
        props[key] = _split_unescaped(values_part, ",") if sep else [""]
    return props


def _split_keeping_escapes(text: str, separators: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in separators:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _partition_unescaped(text: str, separator: str) -> tuple[str, str, str]:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == separator:
            return text[:i], separator, text[i + 1 :]
        i += 1
    return text, "", ""


def _unescape(text: str) -> str:
    return "".join(_split_unescaped(text, ""))


class IncompleteBody(Exception):
    """The client closed the connection (or sent garbage) before the end of the body."""


class RequestBody:
    """Reads a request body framed by Content-Length or chunked transfer coding."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Mapping[str, str] | Message) -> None:
        self._rfile = rfile
        encoding = (headers.get("Transfer-Encoding") or "").strip().lower()
        self.chunked = encoding == "chunked"
        if encoding and not self.chunked:
            raise ArtifactoryError(501, f"Transfer-Encoding '{encoding}' is not supported.")
        length = headers.get("Content-Length")
        self.length: int | None = None
        if not self.chunked:
            try:
                self.length = int(length) if length is not None else 0
            except ValueError:
                raise ArtifactoryError(400, f"Invalid Content-Length: {length!r}.") from None
            if self.length < 0:
                raise ArtifactoryError(400, f"Invalid Content-Length: {length!r}.")
        self.bytes_read = 0
        self._chunk_left = 0
        self.done = not self.chunked and self.length == 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; b"" at the end of the body."""
        if self.done:
            return b""
        if self.chunked:
            return self._read_chunked(size)
        assert self.length is not None
        want = min(size, self.length - self.bytes_read)
        data = self._rfile.read(want)
        if not data:
            raise IncompleteBody(f"body ended after {self.bytes_read} of {self.length} bytes")
        self.bytes_read += len(data)
        self.done = self.bytes_read >= self.length
        return data

    def _read_chunked(self, size: int) -> bytes:
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            match = _CHUNK_SIZE_LINE.match(line)
            if not match:
                raise IncompleteBody(f"bad chunk size line {line[:40]!r}")
            self._chunk_left = int(match.group(1), 16)
            if self._chunk_left == 0:
                while self._rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields: ignored
                self.done = True
                return b""
        data = self._rfile.read(min(size, self._chunk_left))
        if not data:
            raise IncompleteBody("body ended inside a chunk")
        self._chunk_left -= len(data)
        self.bytes_read += len(data)
        if self._chunk_left == 0 and self._rfile.readline(8) not in (b"\r\n", b"\n"):
            raise IncompleteBody("chunk not followed by CRLF")
        return data

    def drain(self, chunk: int = 1024 * 1024) -> None:
        while self.read(chunk):
            pass


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """The inclusive byte ranges a ``Range`` header asks for, or None to serve it all.

    Raises RangeNotSatisfiable (416) when no range is (so any range on an empty file). Like
    Artifactory 6.20, a suffix range ``bytes=-N`` is read as ``0..N``, not the last N.
    """
    if not header:
        return None
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None
    ranges = []
    for spec in specs.split(","):
        first, dash, last = spec.strip().partition("-")
        try:
            if not dash:
                return None
            end: int | None
            if first == "":
                start, end = 0, int(last)
            else:
                start, end = int(first), int(last) if last != "" else None
        except ValueError:
            return None
        if start < 0 or (end is not None and end < start):
            return None
        if start < size:
            ranges.append((start, size - 1 if end is None else min(end, size - 1)))
    if not ranges:
        raise RangeNotSatisfiable(size)
    return ranges


class RangeNotSatisfiable(Exception):
    """No requested range is inside the file: 416 with ``Content-Range: bytes */size``."""

    def __init__(self, size: int) -> None:
        super().__init__(f"no satisfiable range in a file of {size} bytes")
        self.content_range = f"bytes */{size}"


def iso_time(ms: int) -> str:
    """Artifactory's ISO 8601 timestamp: milliseconds and a UTC ``Z``."""
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def http_date(ms: int) -> str:
    return email.utils.formatdate(ms / 1000, usegmt=True)


def parse_http_date(value: str | None) -> int | None:
    """Milliseconds since the epoch of an HTTP date, or None when absent or invalid."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
