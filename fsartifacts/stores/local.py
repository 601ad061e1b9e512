"""A folder on this machine as a store: atomic renames, create-if-absent links, kernel copies."""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Iterable, Mapping
from typing import IO, Any

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.atomic import atomic_write, temp_name, write_atomic
from fsartifacts.engine.transfers import FileRunner
from fsartifacts.errors import StoreNotFoundError
from fsartifacts.localfiles import open_regular
from fsartifacts.stores.base import (
    COPY_CHUNK,
    SIDECAR_SUFFIX,
    FolderFile,
    StoreOps,
    Writable,
)


class LocalOps(StoreOps):
    """A folder on this machine: renames are atomic and ``link`` is create-if-absent."""

    atomic_create = True

    def listing(self, path: str) -> list[dict[str, Any]]:
        """As the generic one; a store folder that does not exist is not an empty store
        (a typo in ``url`` would look like one), though a push creates it."""
        if not os.path.lexists(path):
            uri = pathlib.Path(path).as_uri() if os.path.isabs(path) else path
            raise StoreNotFoundError(
                f"nothing at {uri}: the folder does not exist; check `url` (a push creates it)",
                creatable=True,
            )
        return super().listing(path)

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
    ) -> None:
        callback = callback or NoOpCallback()
        os.makedirs(os.path.dirname(rpath), exist_ok=True)
        # exclusive: a hard link, which fails with EEXIST when rpath exists: create-if-absent.
        with open(lpath, "rb") as src, atomic_write(rpath, exclusive=exclusive) as dst:
            size = os.fstat(src.fileno()).st_size
            callback.set_size(size)
            _copy_between_files(src, dst, size, callback)
            shutil.copymode(lpath, dst.name)
        if record:
            self.write_sidecar(rpath, sha256)

    def write_bytes(self, rpath: str, data: bytes, *, exclusive: bool) -> None:
        os.makedirs(os.path.dirname(rpath), exist_ok=True)
        write_atomic(rpath, data, exclusive=exclusive)

    def upload_folder(
        self, files: Iterable[FolderFile], rpath: str, run: FileRunner | None = None
    ) -> None:
        """Build the folder under a temporary name, then rename it into place.

        The rename fails when ``rpath`` already exists, so of two racing pushes
        of one folder version only one gets its files in.
        """
        parent, base = os.path.split(rpath)
        staging = os.path.join(parent, temp_name(base))
        try:
            super().upload_folder(files, staging, run)
            try:
                os.rename(staging, rpath)
            except OSError as exc:
                if os.path.exists(rpath):
                    raise FileExistsError(rpath) from exc
                raise
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)

    def write_sidecar(self, rpath: str, sha256: str) -> None:
        self.write_bytes(
            rpath + SIDECAR_SUFFIX,
            f"{sha256}  {os.path.basename(rpath)}\n".encode(),
            exclusive=False,
        )

    def download(
        self,
        rpath: str,
        out: Writable,
        *,
        callback: Callback | None = None,
        within: str | None = None,
    ) -> None:
        callback = callback or NoOpCallback()
        with open_regular(rpath, within) as src:
            while chunk := src.read(COPY_CHUNK):
                out.write(chunk)
                callback.relative_update(len(chunk))

    def read_bytes(self, rpath: str) -> bytes:
        with open_regular(rpath) as src:
            return src.read()

    def open_read(self, rpath: str) -> IO[bytes]:
        return open_regular(rpath)


KERNEL_COPY_STEP = 64 * 1024 * 1024


def _copy_between_files(src: IO[bytes], dst: IO[bytes], size: int, callback: Callback) -> None:
    """Copy ``size`` bytes inside the kernel where it can (copy_file_range), else by chunks."""
    copied = 0
    if hasattr(os, "copy_file_range"):
        try:
            while copied < size:
                step = os.copy_file_range(src.fileno(), dst.fileno(), KERNEL_COPY_STEP)
                if step == 0:
                    break
                copied += step
                callback.relative_update(step)
        except OSError:
            # Not supported between these filesystems: go on with the portable loop.
            src.seek(copied)
            dst.seek(copied)
            dst.truncate()
    while chunk := src.read(COPY_CHUNK):
        dst.write(chunk)
        callback.relative_update(len(chunk))
    dst.flush()
