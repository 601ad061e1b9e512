"""The writes of a folder store: atomic renames, create-if-absent links, kernel copies.

:class:`FolderWrites` is the half of the folder store that publishes (uploads, folders
built under a hidden name and renamed into place, copies as hard links checked first,
the recorded sha256 beside each file); :class:`~fsartifacts.stores.local.LocalOps` adds
the half that lists and reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.atomic import (
    atomic_write,
    fsync_dir,
    install_temp,
    sync_tree,
    temp_beside,
    temp_name,
    write_all,
    write_atomic,
    written_behind,
)
from fsartifacts.errors import IntegrityError
from fsartifacts.hashing import (
    CHUNK,
    THREADED_MIN,
    Digests,
    DigestsOnUse,
    FileDigests,
    read_whole,
)
from fsartifacts.localcopy import kernel_copies, kernel_copy
from fsartifacts.localfiles import open_regular
from fsartifacts.stores.base import (
    COPY_CHUNK,
    SIDECAR_SUFFIX,
    FolderFile,
    StoredCopy,
    StoreOps,
)
from fsartifacts.stores.filerunner import FileRunner, OneAfterAnother
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.smallfiles import batches, copy_small_files
from fsartifacts.stores.storewrites import store_writes

Feed = Callable[[bytes], None]
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC


class FolderWrites(StoreOps):
    """A folder on this machine: renames are atomic and ``link`` is create-if-absent.

    A copy is a hard link (a ``copy_file_range`` where links cannot be made): a
    store file is never written in place, since every write here goes to a new
    temporary file renamed or linked into place and a removal only unlinks, so a
    file shared by two versions stays what both were pushed with, and removing one
    version leaves the other whole.
    """

    atomic_create = True
    copies_on_store = True
    hashes_uploads = True

    def upload(
        self,
        lpath: str,
        rpath: str,
        *,
        sha256: str,
        exclusive: bool,
        record: bool = True,
        callback: Callback | None = None,
        digests: Mapping[str, str] | None = None,
        journals: UploadJournals | None = None,
    ) -> None:
        callback = callback or NoOpCallback()
        os.makedirs(os.path.dirname(rpath), exist_ok=True)
        # exclusive: a hard link, which fails with EEXIST when rpath exists: create-if-absent.
        with (
            store_writes(rpath),
            open(lpath, "rb") as src,
            atomic_write(rpath, exclusive=exclusive) as dst,
        ):
            size = os.fstat(src.fileno()).st_size
            callback.set_size(size)
            _copy_between_files(src.fileno(), dst.fileno(), size, callback)
            shutil.copymode(lpath, dst.name)
        if record:
            self.write_sidecar(rpath, sha256)

    def upload_hashing(
        self,
        src: IO[bytes],
        rpath: str,
        *,
        exclusive: bool,
        callback: Callback | None = None,
        journals: UploadJournals | None = None,
    ) -> FileDigests:
        """As :meth:`upload`, the sha256 computed from the bytes as the kernel copies them
        (read back behind the copy from the page cache, hashed in a thread: see
        :mod:`fsartifacts.localcopy`): one pass over the file, not a hash pass then a copy.
        A file changed while it is copied is the caller's to refuse, from its identity.
        One copy: ``journals`` have nothing to keep."""
        callback = callback or NoOpCallback()
        os.makedirs(os.path.dirname(rpath), exist_ok=True)
        opened = os.fstat(src.fileno())
        callback.set_size(opened.st_size)
        digests = Digests(("sha256",))
        try:
            with store_writes(rpath), atomic_write(rpath, exclusive=exclusive) as dst:
                _copy_between_files(src.fileno(), dst.fileno(), opened.st_size, callback,
                                    feed=digests.update)  # fmt: skip
                os.fchmod(dst.fileno(), stat.S_IMODE(opened.st_mode))
                hashed = FileDigests(digests.hexdigests(), opened)
        finally:
            digests.close()
        self.write_sidecar(rpath, hashed["sha256"])
        return hashed

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        os.makedirs(os.path.dirname(rpath), exist_ok=True)
        with store_writes(rpath):
            write_atomic(rpath, data, exclusive=exclusive)

    def upload_folder(
        self,
        files: Iterable[FolderFile],
        rpath: str,
        run: FileRunner | None = None,
        sources: Mapping[str, StoredCopy] | None = None,
    ) -> None:
        """Build the folder under a temporary name, make it durable, then rename it into place.

        Until the rename no one sees the staged folder, so its files are written in
        place, and the whole tree is made durable in one step before it is renamed
        (never a fsync per file). The rename fails when ``rpath`` already exists, so of
        two racing pushes of one folder version only one gets its files in. Its small
        files not hashed yet are copied in batches (:mod:`.smallfiles`), each batch's
        other files uploaded after them.
        """
        parent, base = os.path.split(rpath)
        staging = os.path.join(parent, temp_name(base))
        run = run or OneAfterAnother()
        try:
            with store_writes(rpath):
                os.makedirs(staging)
                with written_behind(staging):
                    for batch in batches(files):
                        rest = copy_small_files(batch, staging, run, sources or {},
                                                self.upload_digests)  # fmt: skip
                        super().upload_folder(rest, staging, run, sources)
                sync_tree(staging)
            try:
                os.rename(staging, rpath)
            except OSError as exc:
                if os.path.exists(rpath):
                    raise FileExistsError(rpath) from exc
                raise
            fsync_dir(parent)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)

    def upload_member(
        self,
        folder: str,
        file: FolderFile,
        callback: Callback,
        *,
        sources: Mapping[str, StoredCopy] | None = None,
    ) -> None:
        """One file into the staged folder :meth:`upload_folder` builds: written in place
        (the folder is made durable whole before anyone sees it); a hard link to its
        source in ``sources`` when that still holds its content."""
        lpath, relative, digests = file
        read = None
        if isinstance(digests, DigestsOnUse) and digests.pending and digests.size_found < CHUNK:
            # A small file not hashed yet is read once: hashed from the bytes that are
            # then written, so the copy holds exactly what its sha256 says.
            read = read_whole(lpath, digests.size_found)
            if read is not None:
                digests.hashed(read)
        target = os.path.join(folder, *relative.split("/"))
        source = (sources or {}).get(digests["sha256"])
        if source is not None:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if _staged_copy(source, target):
                callback.relative_update(source.size)
                return
        if read is not None:
            callback.set_size(len(read.data))
            dst = _create_member(target)
            try:
                write_all(dst, read.data)
                callback.relative_update(len(read.data))
                os.fchmod(dst, stat.S_IMODE(read.stat.st_mode))
            finally:
                os.close(dst)
            return
        # Descriptors, not file objects, and the mode from the one fstat: a folder of
        # 20,000 small files pays for each file's syscalls, so each does only what it must.
        src = os.open(lpath, os.O_RDONLY | _CLOEXEC)
        try:
            st = os.fstat(src)
            callback.set_size(st.st_size)
            dst = _create_member(target)
            try:
                _copy_between_files(src, dst, st.st_size, callback)
                os.fchmod(dst, stat.S_IMODE(st.st_mode))
            finally:
                os.close(dst)
        finally:
            os.close(src)

    def copy(
        self,
        source: StoredCopy,
        rpath: str,
        *,
        exclusive: bool = False,
        record: bool = False,
        digests: Mapping[str, str] | None = None,
    ) -> bool:
        """A hard link to ``source`` (a kernel copy where links cannot be made), verified
        by reading it: its size and sha256 must be those it was pushed with."""
        with _verified_source(source) as src:
            if src is None:
                return False
            os.makedirs(os.path.dirname(rpath), exist_ok=True)
            if not _link(src, source.path, rpath, exclusive=exclusive):
                src.seek(0)  # the very file just checked, copied
                with store_writes(rpath), atomic_write(rpath, exclusive=exclusive) as dst:
                    _copy_between_files(src.fileno(), dst.fileno(), source.size, NoOpCallback())
        if record:
            self.write_sidecar(rpath, source.sha256)
        return True

    def write_sidecar(self, rpath: str, sha256: str) -> None:
        self.write_bytes(
            rpath + SIDECAR_SUFFIX,
            f"{sha256}  {os.path.basename(rpath)}\n".encode(),
            exclusive=False,
        )


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_ino, st.st_dev


def _link(src: IO[bytes], path: str, rpath: str, *, exclusive: bool) -> bool:
    """A hard link at ``rpath`` to ``path``, the file open as ``src``; False where none
    can be made (another filesystem, a link limit) or ``path`` is another file now."""
    staging = temp_beside(rpath)
    if not _link_to(src, path, staging):
        return False
    try:
        install_temp(staging, rpath, exclusive=exclusive)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
    return True


def _link_to(src: IO[bytes], path: str, target: str | os.PathLike[str]) -> bool:
    """A hard link at the new name ``target`` to ``path``, the file open as ``src``; False,
    with nothing left at ``target``, where none can be made or ``path`` is another file now."""
    try:
        os.link(path, target)
    except OSError:
        return False
    linked = False
    try:
        linked = _identity(os.stat(target)) == _identity(os.fstat(src.fileno()))
    finally:
        if not linked:  # replaced between the check and the link
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
    return linked


def _staged_copy(source: StoredCopy, target: str) -> bool:
    """``source`` at the new name ``target`` in a staged folder: a hard link (a copy where
    none can be made), once ``source`` is checked to hold its content; False if not."""
    with _verified_source(source) as src:
        if src is None:
            return False
        if not _link_to(src, source.path, target):
            src.seek(0)  # the very file just checked, copied
            with open(target, "xb") as dst:
                _copy_between_files(src.fileno(), dst.fileno(), source.size, NoOpCallback())
    return True


@contextlib.contextmanager
def _verified_source(source: StoredCopy) -> Iterator[IO[bytes] | None]:
    """The file of ``source`` open, once checked to hold its size and sha256; None when it
    was removed since it was listed, is not a regular file any more, or holds other bytes."""
    try:
        src = open_regular(source.path)
    except (OSError, IntegrityError):
        yield None
        return
    with src:
        yield src if _holds(src, source) else None


def _holds(src: IO[bytes], source: StoredCopy) -> bool:
    """Whether the open file ``src`` is ``source.size`` bytes with ``source.sha256``."""
    if os.fstat(src.fileno()).st_size != source.size:
        return False
    digest = hashlib.sha256()
    while chunk := src.read(COPY_CHUNK):
        digest.update(chunk)
    return digest.hexdigest() == source.sha256


def _create_member(target: str) -> int:
    """A new file at ``target`` in a staged folder, open for writing; its folder is made
    when the first file in it finds it missing (one failed open a folder, not a
    ``makedirs`` a file)."""
    try:
        return os.open(target, _NEW_FILE, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        return os.open(target, _NEW_FILE, 0o600)


def _copy_between_files(
    src: int, dst: int, size: int, callback: Callback, feed: Feed | None = None
) -> None:
    """Copy the descriptor ``src`` into the new file ``dst`` from their starts, at offsets
    (neither descriptor's position is used): inside the kernel where it can
    (copy_file_range; a large file written back to disk as it goes, so that the fsync
    after it has little left), else, or where the kernel stopped, by chunks to the end of
    ``src``. A small file costs one syscall. ``feed`` is given every byte copied, in
    order (a large file's read back behind the kernel's copy)."""
    copied = 0
    if kernel_copies() and (feed is None or size > THREADED_MIN):
        if size > THREADED_MIN:
            copied = kernel_copy(src, dst, size, src_at=0, dst_at=0, feed=feed,
                                 progress=callback)  # fmt: skip
        else:
            try:
                while copied < size:
                    step = os.copy_file_range(src, dst, size - copied, copied, copied)
                    if step == 0:
                        break
                    copied += step
                    callback.relative_update(step)
            except OSError:
                pass  # not between these filesystems: go on with the portable loop
        if copied == size:
            return
    # Where the kernel stopped (another filesystem, an error) the loop goes on.
    while chunk := os.pread(src, COPY_CHUNK, copied):
        if feed is not None:
            feed(chunk)
        view = memoryview(chunk)
        while view:
            written = os.pwrite(dst, view, copied)
            view = view[written:]
            copied += written
        callback.relative_update(len(chunk))
