"""Items the local Artifactory server finds on disk without a current metadata row.

The data files are the truth for what exists: a file dropped into a repository folder,
or changed there behind the server's back (other size or mtime than its row), is
hashed outside the lock and recorded as the system user's, keeping what its old row
knew (created, properties). A folder with no row is shown as found, stamped with its
mtime.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fsartifacts.testing.itemindex import ItemIndex
from fsartifacts.testing.model import SYSTEM_USER, Item, hash_file, now_ms


def adopt_file(
    index: ItemIndex,
    lock: threading.RLock,
    data: Path,
    repo: str,
    path: str,
    row: Item | None,
) -> Item | None:
    """Hash the file at ``data`` and record it; None if it is gone or changed meanwhile."""
    try:
        with open(data, "rb") as handle:
            before = os.fstat(handle.fileno())
            checksums, size = hash_file(handle)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    with lock:
        try:
            after = os.stat(data)
        except FileNotFoundError:
            return None
        if (after.st_ino, after.st_size, after.st_mtime_ns) != (
            before.st_ino,
            size,
            before.st_mtime_ns,
        ):
            return None  # changed while hashing: try again
        current = index.row(repo, path)
        if (
            current is not None
            and not current.folder
            and current.size == size
            and current.disk_mtime_ns == after.st_mtime_ns
        ):
            return current  # someone else recorded it meanwhile
        mtime_ms = after.st_mtime_ns // 1_000_000
        base = row if row is not None and not row.folder else None
        item = Item(
            repo=repo,
            path=path,
            folder=False,
            size=size,
            checksums=checksums,
            created=base.created if base else mtime_ms,
            created_by=base.created_by if base else SYSTEM_USER,
            modified=mtime_ms,
            modified_by=SYSTEM_USER,
            updated=now_ms(),
            properties=base.properties if base else {},
            properties_modified=base.properties_modified if base else None,
            disk_mtime_ns=after.st_mtime_ns,
        )
        index.write([item])
        return item


def discovered_folder(repo: str, path: str, mtime_ns: int) -> Item:
    """A folder found on disk with no metadata row."""
    stamp = mtime_ns // 1_000_000
    return Item(repo, path, True, stamp, SYSTEM_USER, stamp, SYSTEM_USER, stamp)
