"""Folders, deletes, copies and moves of ``artifactory://``: the namespace operations.

A mixin of :class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`,
which gives it ``client`` and the listing cache. Folders are real on Artifactory:
``mkdir`` creates one (``PUT path/``), a repository is never created or deleted
through the filesystem, and a recursive delete or a move of one path is one
request (the server recurses).
"""

from __future__ import annotations

import errno
import re
from typing import Any

from fsspec.spec import AbstractFileSystem

from fsartifacts.artifactoryfs import listing as listings
from fsartifacts.artifactoryfs import streaming
from fsartifacts.artifactoryfs import upload as uploads
from fsartifacts.artifactoryfs.batch import run_batch
from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import ArtifactoryNotFoundError, ArtifactoryPermissionError

_GLOB_CHARS = re.compile(r"[*?\[]")


class TreeOperations(AbstractFileSystem):
    """mkdir, makedirs, rm, rmdir, cp_file and mv over ``self.client``."""

    client: ArtifactoryClient
    batch_size: int  # requests at once where a call needs many

    def _exists_on_server(self, path: str) -> bool:
        """exists() without the listing cache: for checks that guard a write."""
        try:
            self.info(path, refresh=True)
        except FileNotFoundError:
            return False
        return True

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """``PUT path/``; FileExistsError if it exists (parents are made by the server)."""
        path = self._strip_protocol(path)
        if self.exists(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        if not create_parents and not self.exists(self._parent(path)):
            raise FileNotFoundError(errno.ENOENT, "parent folder does not exist", path)
        self._make_folder(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        try:
            info = self.info(path)
        except FileNotFoundError:
            info = None
        if info is not None:
            if exist_ok and info["type"] == "directory":
                return
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        self._make_folder(path)

    def _make_folder(self, path: str) -> None:
        try:
            self.client.call(
                "PUT", self.client.folder_url(path), f"create folder {path}", ok=(200, 201)
            ).close()
        finally:
            self.invalidate_cache(path)

    def rm_file(self, path: str) -> None:
        """Delete a file, or an empty folder (``rm(recursive=True)`` deletes full ones)."""
        path = self._strip_protocol(path)
        info = self.info(path)
        if info["type"] == "directory" and self.ls(path, detail=False, refresh=True):
            raise OSError(errno.ENOTEMPTY, "folder is not empty (use recursive=True)", path)
        self._delete(path)

    def _delete(self, path: str) -> None:
        if "/" not in path:
            raise ArtifactoryPermissionError(
                f"refusing to delete repository {path!r}: delete what is inside it instead "
                f"(rm('{path}/*', recursive=True))"
            )
        try:
            self.client.call(
                "DELETE", self.client.file_url(path), f"delete {path}", ok=(200, 202, 204)
            ).close()
        finally:
            self.invalidate_cache(path)

    def rmdir(self, path: str) -> None:
        """Delete an empty folder."""
        path = self._strip_protocol(path)
        if self.info(path)["type"] != "directory":
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete; a recursive delete of one plain path is one request (the server recurses)."""
        if (
            isinstance(path, str)
            and recursive
            and maxdepth is None
            and not _GLOB_CHARS.search(path)
        ):
            stripped = self._strip_protocol(path)
            if "/" in stripped:
                self._delete(stripped)
                return
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for p in paths:
            if "/" not in p:  # refuse before deleting anything, not after its contents
                self._delete(p)
        if maxdepth is not None:  # a folder below maxdepth must not go with its parent
            for p in reversed(paths):
                self.rm_file(p)
            return
        # A request per path, batch_size at once; recursively only the topmost paths
        # (the server deletes a folder with all below it), else after checking them all.
        chosen = set(paths)
        if recursive:
            targets = [p for p in paths if not any(a in chosen for a in _ancestors(p))]
        else:
            targets = self._checked_for_rm(paths)
        for outcome in run_batch(self._delete, targets, self.batch_size, stop_on_error=True):
            if isinstance(outcome, Exception):
                raise outcome

    def _checked_for_rm(self, paths: list[str]) -> list[str]:
        """``paths`` once each exists and each folder among them is empty (else raise).

        Fresh from the server, side by side: one listing of a parent folder that holds
        several of them, the item info of a path alone in its folder (a big folder is
        not listed to delete one file), then a listing of each folder among them.
        """
        by_parent: dict[str, list[str]] = {}
        for p in paths:
            by_parent.setdefault(self._parent(p), []).append(p)
        lookups = [(d, True) for d, group in by_parent.items() if len(group) > 1]
        lookups += [(group[0], False) for group in by_parent.values() if len(group) == 1]

        def kinds(lookup: tuple[str, bool]) -> dict[str, str]:
            where, listing = lookup
            if not listing:
                return {where: listings.item_info(self.client, where)["type"]}
            entries = listings.list_folder(self.client, where, detail=False)
            return {e["name"]: e["type"] for e in entries} if isinstance(entries, list) else {}

        found: dict[str, str] = {}
        for outcome in run_batch(kinds, lookups, self.batch_size):
            if isinstance(outcome, FileNotFoundError):
                continue
            if isinstance(outcome, Exception):
                raise outcome
            found.update(outcome)
        missing = [p for p in paths if p not in found]
        if missing:
            raise FileNotFoundError(errno.ENOENT, "no such file or folder", missing[0])
        folders = [p for p in paths if found[p] == "directory"]
        contents = run_batch(
            lambda d: listings.list_folder(self.client, d, detail=False), folders, self.batch_size
        )
        for folder, entries in zip(folders, contents, strict=True):
            if isinstance(entries, Exception):
                raise entries
            if entries:
                raise OSError(errno.ENOTEMPTY, "folder is not empty (use recursive=True)", folder)
        return paths

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy; else a checksum deploy; else download and upload."""
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        source = self.info(path1)
        if source["type"] == "directory":
            self.makedirs(path2, exist_ok=True)
            return
        try:
            if self.client.copy_api and uploads.server_side(self.client, "copy", path1, path2):
                return
            if not source.get("sha256") or not source.get("sha1"):
                source = self.info(path1, refresh=True)
            if uploads.deploy_by_checksum(self.client, path2, source):
                return
            streaming.copy_by_streaming(self.client, path1, path2, source.get("size"))
        finally:
            self.invalidate_cache(path2)

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Server-side move of one file (or folder, with ``recursive``) to a new name."""
        if (
            isinstance(path1, str)
            and isinstance(path2, str)
            and maxdepth is None
            and self.client.copy_api
            and not _GLOB_CHARS.search(path1)
        ):
            src = self._strip_protocol(path1)
            dst = self._strip_protocol(path2)
            if src == dst:
                return
            kind = self.info(src)["type"]
            # An existing target folder would receive the source inside it: only move
            # to a free name, so the result is exactly ``dst``.
            free = "/" in dst and not self._exists_on_server(dst)
            if (kind == "file" or recursive) and "/" in src and free:
                try:
                    if uploads.server_side(self.client, "move", src, dst):
                        return
                finally:
                    self.invalidate_cache(src)
                    self.invalidate_cache(dst)
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
