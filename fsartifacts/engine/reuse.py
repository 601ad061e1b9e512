"""What a transfer can take from what is already there instead of sending it.

On push, files an earlier version of the same artifact already holds on the store
with the same sha256 are copied on the store (:func:`folder_sources`,
:func:`file_source`). On pull, files the destination or the project already holds
with the manifest's sha256 are copied locally (:func:`local_sources`).

Every version stays a complete folder (or file) of its own; the copy only spares
sending bytes the store already has. The earlier versions are read newest first
(their manifests, or a file's recorded sha256), and at most ``MANIFESTS_READ`` of
them: the content a new version shares is nearly always in the last few, and a
store with thousands of versions must not cost thousands of reads per push.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath
from typing import IO

from fsartifacts.engine.install import Installing, Sink, staged_file, staged_member
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.errors import FsArtifactsError, IntegrityError
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import HashingWriter
from fsartifacts.localfiles import open_regular
from fsartifacts.stores.base import StoredCopy, StoreOps
from fsartifacts.stores.entries import entry_size

log = logging.getLogger("fsartifacts")

MANIFESTS_READ = 8  # earlier folder versions whose manifests a push reads, newest first
FILES_CHECKED = 8  # earlier file versions of the same size whose sha256 a push asks for


def folder_sources(
    ops: StoreOps, copies: list[RemoteCopy], sizes: Collection[int], *, skip: str
) -> dict[str, StoredCopy]:
    """{sha256: a file of an earlier folder version with that content}, for every file of
    those versions whose size is among ``sizes`` (those of the files being pushed, which
    are hashed only as they are sent); ``copies`` newest first, ``skip`` the version being
    pushed. The newest holder of each content is the one taken.

    Only for stores that copy on the store side: elsewhere an upload costs no more.
    """
    if not ops.copies_on_store or not sizes:
        return {}
    found: dict[str, StoredCopy] = {}
    folders = [c for c in copies if c.kind == "folder" and c.path != skip]
    for copy in folders[:MANIFESTS_READ]:
        try:
            manifest = Manifest.from_bytes(ops.read_bytes(copy.manifest_path), copy.manifest_path)
        except (OSError, FsArtifactsError) as exc:
            log.debug("not reusing files of %s: %s", copy.path, exc)
            continue  # removed since it was listed, or unreadable: the others may serve
        for entry in manifest.files:
            if entry.size in sizes and entry.sha256 not in found and _plain(entry.path):
                found[entry.sha256] = StoredCopy(
                    f"{copy.path}/{entry.path}", entry.size, entry.sha256
                )
    return found


def file_source(
    ops: StoreOps, copies: list[RemoteCopy], size: int, sha256: str, *, skip: str
) -> StoredCopy | None:
    """An earlier file version recorded with ``sha256`` (and of ``size``), or None."""
    if not ops.copies_on_store:
        return None
    for copy in _same_size(copies, size, skip)[:FILES_CHECKED]:
        try:
            recorded = ops.recorded_sha256(copy.path, copy.entry)
        except (OSError, FsArtifactsError):
            continue
        if recorded == sha256:
            return StoredCopy(copy.path, size, sha256)
    return None


def may_share(ops: StoreOps, copies: list[RemoteCopy], size: int, *, skip: str) -> bool:
    """Whether an earlier file version might hold the content of a file of ``size`` bytes
    (one of that size, on a store that copies on its side): the push needs the file's
    sha256 before it uploads to know."""
    return ops.copies_on_store and bool(_same_size(copies, size, skip))


def _same_size(copies: list[RemoteCopy], size: int, skip: str) -> list[RemoteCopy]:
    return [
        c for c in copies if c.kind == "file" and c.path != skip and entry_size(c.entry) == size
    ]


def local_sources(
    hashes: HashCache, root: Path, dest: Path, manifest: Manifest, also: Iterable[Path] = ()
) -> dict[str, str]:
    """{sha256: the path of a local file with that content}, for the files of
    ``manifest``: in ``dest`` (the copy a pull replaces), in the folders ``also`` (the
    members an interrupted pull kept), or anywhere below ``root`` the hash cache knows.
    Paths as strings: one per file of a folder of 100,000, where a ``Path`` (with its
    parts) weighs several times its string.

    Only the files of those folders with the size of a file still wanted are hashed
    (most through the cache already). Whoever copies one checks its bytes again.
    """
    wanted = {entry.sha256 for entry in manifest.files}
    found = hashes.holders(wanted, root)
    for place in (dest, *also):
        sizes = {entry.size for entry in manifest.files if entry.sha256 not in found}
        if not sizes or place.is_symlink() or not place.is_dir():
            continue
        for folder, _, names in os.walk(place):  # links to folders are not followed
            for name in names:
                path = os.path.join(folder, name)
                try:
                    mode, size = (st := os.lstat(path)).st_mode, st.st_size
                    if not stat.S_ISREG(mode) or size not in sizes:
                        continue
                    sha256 = hashes.sha256(path)
                except OSError:
                    continue
                if sha256 in wanted and sha256 not in found:
                    found[sha256] = path
    return found


def _plain(path: str) -> bool:
    """A manifest path that stays inside its folder (one fsartifacts wrote always does)."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path


def copy_member(source: str, staging: Path, entry: ManifestEntry, dest: Path) -> bool:
    """Copy the local file ``source`` to ``entry``'s place in ``staging``; False (and the
    download instead) unless it holds exactly the manifest's bytes. A link is not read."""
    src = _open_local(source)
    if src is None:
        return False
    with src, staged_member(staging, entry.path, dest) as out:
        return _copied(src, out, entry.size, entry.sha256)


class _NotTheContent(Exception):
    """A local file is not the content it was taken for: nothing is installed from it."""


def copy_file(
    source: Path, dest: Path, size: int | None, sha256: str,
    install: Installing = contextlib.nullcontext,
) -> bool:  # fmt: skip
    """Install a copy of the local file ``source`` at ``dest`` (atomically, as a download
    is, the rename inside ``install()``) if it holds ``size`` bytes with ``sha256``; False,
    ``dest`` untouched, if not."""
    src = _open_local(source)
    if src is None:
        return False
    try:
        with src, staged_file(dest, install) as out:
            if not _copied(src, out, size, sha256):
                raise _NotTheContent(source)
    except _NotTheContent:
        return False
    return True


def _open_local(source: str | Path) -> IO[bytes] | None:
    try:
        return open_regular(str(source))  # never through a link
    except (OSError, IntegrityError):
        return None  # gone or replaced since it was hashed


def _copied(src: IO[bytes], out: Sink, size: int | None, sha256: str) -> bool:
    """Copy ``src`` into ``out``; whether it was ``size`` bytes (when known) with ``sha256``."""
    writer = HashingWriter(out, limit=size, what=src.name)
    try:
        writer.copy_from(src)
    except IntegrityError:
        return False  # larger than it was: changed since it was hashed
    return writer.digests()["sha256"] == sha256 and size in (None, writer.bytes)
