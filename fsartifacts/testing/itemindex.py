"""The metadata index of the local Artifactory server: one SQLite row per item
(checksums, client checksums, timestamps, users, properties), so that no user file
name can collide with a metadata name and checksum deploy can find content by its
sha256 or sha1. Every change runs under the storage's lock, in a transaction."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fsartifacts.testing.model import Checksums, Item

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    folder INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    sha1 TEXT, md5 TEXT, sha256 TEXT,
    originals TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL, created_by TEXT NOT NULL,
    modified INTEGER NOT NULL, modified_by TEXT NOT NULL,
    updated INTEGER NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    properties_modified INTEGER,
    disk_mtime_ns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, path)
);
CREATE INDEX IF NOT EXISTS items_sha256 ON items (sha256);
CREATE INDEX IF NOT EXISTS items_sha1 ON items (sha1);
"""
_COLUMNS = (
    "repo, path, folder, size, sha1, md5, sha256, originals, created, created_by, modified,"
    " modified_by, updated, properties, properties_modified, disk_mtime_ns"
)


def _row_to_item(row: tuple[Any, ...]) -> Item:
    (repo, path, folder, size, sha1, md5, sha256, originals, created, created_by, modified,
     modified_by, updated, properties, properties_modified, disk_mtime_ns) = row  # fmt: skip
    return Item(
        repo=repo,
        path=path,
        folder=bool(folder),
        size=size,
        checksums=None if folder else Checksums(sha1=sha1, md5=md5, sha256=sha256),
        originals=json.loads(originals),
        created=created,
        created_by=created_by,
        modified=modified,
        modified_by=modified_by,
        updated=updated,
        properties=json.loads(properties),
        properties_modified=properties_modified,
        disk_mtime_ns=disk_mtime_ns,
    )


def _item_to_row(item: Item) -> tuple[Any, ...]:
    sums = item.checksums
    return (
        item.repo,
        item.path,
        int(item.folder),
        item.size,
        sums.sha1 if sums else None,
        sums.md5 if sums else None,
        sums.sha256 if sums else None,
        json.dumps(item.originals),
        item.created,
        item.created_by,
        item.modified,
        item.modified_by,
        item.updated,
        json.dumps(item.properties),
        item.properties_modified,
        item.disk_mtime_ns,
    )


class ItemIndex:
    """The rows of one storage's items, kept in ``path``; ``lock`` is the storage's."""

    def __init__(self, path: Path, lock: threading.RLock) -> None:
        self._lock = lock
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def row(self, repo: str, path: str) -> Item | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM items WHERE repo = ? AND path = ?", (repo, path)
        ).fetchone()
        return _row_to_item(row) if row else None

    def files_with(self, column: str, value: str) -> list[tuple[str, str]]:
        """(repo, path) of the files whose ``column`` (sha256 or sha1) is ``value``."""
        rows: list[tuple[str, str]] = self._db.execute(
            f"SELECT repo, path FROM items WHERE folder = 0 AND {column} = ?", (value,)
        ).fetchall()
        return rows

    def write(self, items: list[Item]) -> None:
        if not items:
            return
        with self.transaction():
            self._db.executemany(
                f"INSERT OR REPLACE INTO items ({_COLUMNS}) VALUES ({','.join('?' * 16)})",
                [_item_to_row(item) for item in items],
            )

    def delete(self, repo: str, path: str) -> None:
        """The row of ``path`` and those of everything below it."""
        # Descendants of "a/b" are exactly the paths in ["a/b/", "a/b0"): "0" follows "/".
        with self.transaction():
            self._db.execute(
                "DELETE FROM items WHERE repo = ? AND (path = ? OR (path >= ? AND path < ?))",
                (repo, path, path + "/", path + "0"),
            )

    def delete_all(self, repo: str) -> None:
        """Every row of ``repo`` but its root's."""
        self._db.execute("DELETE FROM items WHERE repo = ? AND path != ''", (repo,))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
