"""The data model of the local Artifactory server: items, checksums, uploads, errors and
the words of its refusals."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

SYSTEM_USER = "_system_"
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
COPY_CHUNK = 1024 * 1024

_REPO_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_RESERVED_REPO_KEYS = frozenset({"api", "ui", "webapp", "list"})
_HEX = re.compile(r"[0-9a-f]+\Z")


class ArtifactoryError(Exception):
    """A refused request: the HTTP status and message Artifactory answers with."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        plain_text: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.plain_text = plain_text


# Artifactory's words for refusals that storage, transfer and copying all give.


def overwrite_message(repo: str, path: str, user: str) -> str:
    return (
        f"Not enough permissions to delete/overwrite artifact '{repo}:{path}' "
        f"(user: '{user}' needs DELETE permission)."
    )


def folder_expected(repo: str, path: str) -> str:
    return f"Expected a folder but found a file, at: {repo}:{path}"


def file_expected(repo: str, path: str) -> str:
    return f"Expected a file but found a folder, at: {repo}:{path}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def is_hex_checksum(algorithm: str, value: str) -> bool:
    return len(value) == HEX_LENGTHS[algorithm] and bool(_HEX.match(value))


def valid_repo_key(repo: str) -> bool:
    return bool(_REPO_KEY.match(repo)) and repo.lower() not in _RESERVED_REPO_KEYS


def join_path(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


def name_of(path: str) -> str:
    return path.rpartition("/")[2]


def ancestors(path: str) -> list[str]:
    """The proper ancestors of ``a/b/c``: ``["a", "a/b"]`` (the root ``""`` excluded)."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass(frozen=True)
class Checksums:
    sha1: str
    md5: str
    sha256: str

    def get(self, algorithm: str) -> str:
        return str(getattr(self, algorithm))

    def as_dict(self) -> dict[str, str]:
        return {"sha1": self.sha1, "md5": self.md5, "sha256": self.sha256}


class Hasher:
    """md5, sha1 and sha256 of a byte stream, updated chunk by chunk."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5()
        self._sha1 = hashlib.sha1()
        self._sha256 = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)

    def checksums(self) -> Checksums:
        return Checksums(
            sha1=self._sha1.hexdigest(), md5=self._md5.hexdigest(), sha256=self._sha256.hexdigest()
        )


def hash_file(file: BinaryIO) -> tuple[Checksums, int]:
    hasher = Hasher()
    size = 0
    while chunk := file.read(COPY_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.checksums(), size


@dataclass
class Item:
    """Metadata of one file or folder. ``path`` is relative to the repo ("" = its root)."""

    repo: str
    path: str
    folder: bool
    created: int
    created_by: str
    modified: int
    modified_by: str
    updated: int
    size: int = 0
    checksums: Checksums | None = None
    originals: dict[str, str] = field(default_factory=dict)
    properties: dict[str, list[str]] = field(default_factory=dict)
    properties_modified: int | None = None
    disk_mtime_ns: int = 0

    @property
    def name(self) -> str:
        return name_of(self.path)


class PendingUpload:
    """A temp file that receives an upload and hashes it on the way in."""

    def __init__(self, tmp_dir: Path) -> None:
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hasher = Hasher()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hasher.update(data)
        self.size += len(data)

    def finish(self) -> Checksums:
        self._file.close()
        return self._hasher.checksums()

    def discard(self) -> None:
        """Remove the temp file; harmless after the upload was committed (renamed away)."""
        self._file.close()
        self.path.unlink(missing_ok=True)


def same_content(existing: Item, declared: Mapping[str, str]) -> bool:
    """Whether the client declared the existing file's sha1 or sha256 (not an overwrite)."""
    sums = existing.checksums
    if sums is None:
        return False
    return declared.get("sha1") == sums.sha1 or declared.get("sha256") == sums.sha256
