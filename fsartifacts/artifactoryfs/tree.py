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
from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import ArtifactoryNotFoundError, ArtifactoryPermissionError
from fsartifacts.artifactoryfs.pool import BatchPool

_GLOB_CHARS = re.compile(r"[*?\[]")


class TreeOperations(AbstractFileSystem):
    """mkdir, makedirs, rm, rmdir, cp_file and mv over ``self.client``."""

    client: ArtifactoryClient
    batch_pool: BatchPool  # runs the requests of a call that needs many, batch_size at once

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

    def rm_known_file(self, path: str) -> None:
        """Delete ``path``, which the caller knows is a file, in one DELETE: without the
        look :meth:`rm_file` takes first, since a DELETE of a folder would take everything
        in it. A missing path raises FileNotFoundError."""
        self._delete(self._strip_protocol(path))

    def _delete(self, path: str) -> None:
        _refuse_repositories([path])
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
        """Delete paths (globs expanded): one DELETE per path, ``batch_size`` at once.

        Recursively, each path named is one DELETE whatever it holds (the server
        recurses) and a path below another one named is not sent at all; paths that
        do not exist are skipped, FileNotFoundError only when none did (fsspec's
        rule for a recursive rm). Otherwise a folder named must be empty (ENOTEMPTY
        before anything is deleted) and a path that does not exist raises
        FileNotFoundError once the others are deleted.

        A list is never turned into a delete of a folder it did not name, even one
        naming every file a listing showed in it: a file another client writes
        there between that listing and the DELETE would go with the folder.
        """
        if recursive and maxdepth is not None:  # what lies below maxdepth must stay
            paths = self.expand_path(path, recursive=True, maxdepth=maxdepth)
            _refuse_repositories(paths)
            for p in reversed(paths):
                self.rm_file(p)
            return
        named = self._named_for_rm(path)
        _refuse_repositories(named)
        if recursive:
            chosen = set(named)
            targets = [p for p in named if not any(a in chosen for a in _ancestors(p))]
            missing = self._delete_each(targets)
            if len(missing) == len(targets):
                raise _not_found(missing, len(named))
            return
        kinds = self._kinds_for_rm(named)
        self._refuse_full_folders([p for p in named if kinds[p] == "directory"])
        missing = [p for p in named if kinds[p] is None]
        missing += self._delete_each([p for p in named if kinds[p] is not None])
        if missing:
            raise _not_found(sorted(missing), len(named))

    def _named_for_rm(self, path: Any) -> list[str]:
        """The paths ``path`` names, sorted, each glob replaced by what it matches."""
        out: set[str] = set()
        for p in self._strip_protocol([path] if isinstance(path, str) else list(path)):
            out.update(self.glob(p) if _GLOB_CHARS.search(p) else [p])
        if not out:
            raise FileNotFoundError(errno.ENOENT, "nothing matches", str(path))
        return sorted(out)

    def _delete_each(self, paths: list[str]) -> list[str]:
        """DELETE each of ``paths``, ``batch_size`` at once: those that did not exist.

        Any other failure stops starting new deletes and is raised (the first in
        path order) once the running ones end.
        """

        def delete(p: str) -> bool:
            try:
                self._delete(p)
            except FileNotFoundError:
                return False
            return True

        outcomes = self.batch_pool.run(delete, paths, stop_on_error=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return [p for p, deleted in zip(paths, outcomes, strict=True) if not deleted]

    def _kinds_for_rm(self, paths: list[str]) -> dict[str, str | None]:
        """``"file"``, ``"directory"`` or None (missing) for each of ``paths``.

        Known from the listing cache, no request; else fresh from the server, side
        by side: one listing of a parent folder that holds several of them, the item
        info of a path alone in its folder (a big folder is not listed to delete one
        file).
        """
        kinds: dict[str, str | None] = {}
        unknown: dict[str, list[str]] = {}
        for p in paths:
            try:
                cached = self._cached_info(p)
            except FileNotFoundError:  # a cached listing lacks it: it may be new since
                cached = None
            if cached is not None:
                kinds[p] = cached["type"]
            else:
                unknown.setdefault(self._parent(p), []).append(p)
        lookups = [(d, True) for d, group in unknown.items() if len(group) > 1]
        lookups += [(group[0], False) for group in unknown.values() if len(group) == 1]

        def lookup(item: tuple[str, bool]) -> dict[str, str]:
            where, listing = item
            if not listing:
                return {where: listings.item_info(self.client, where)["type"]}
            entries = listings.list_folder(self.client, where, detail=False)
            return {e["name"]: e["type"] for e in entries} if isinstance(entries, list) else {}

        found: dict[str, str] = {}
        for outcome in self.batch_pool.run(lookup, lookups):
            if isinstance(outcome, FileNotFoundError):
                continue
            if isinstance(outcome, Exception):
                raise outcome
            found.update(outcome)
        for group in unknown.values():
            kinds.update((p, found.get(p)) for p in group)
        return kinds

    def _refuse_full_folders(self, folders: list[str]) -> None:
        """ENOTEMPTY for the first of ``folders`` with anything in it (fresh listings)."""
        contents = self.batch_pool.run(
            lambda d: listings.list_folder(self.client, d, detail=False), folders
        )
        for folder, entries in zip(folders, contents, strict=True):
            if isinstance(entries, FileNotFoundError):
                continue  # gone since: its DELETE will say so
            if isinstance(entries, Exception):
                raise entries
            if entries:
                raise OSError(errno.ENOTEMPTY, "folder is not empty (use recursive=True)", folder)

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


def _refuse_repositories(paths: list[str]) -> None:
    """Before anything is deleted: a repository among ``paths`` is refused."""
    for p in paths:
        if "/" not in p:
            raise ArtifactoryPermissionError(
                f"refusing to delete repository {p!r}: delete what is inside it instead "
                f"(rm('{p}/*', recursive=True))"
            )


def _not_found(missing: list[str], named: int) -> FileNotFoundError:
    """One FileNotFoundError for the paths of a ``rm`` that did not exist."""
    if named == 1:
        return FileNotFoundError(errno.ENOENT, "no such file or folder", missing[0])
    return FileNotFoundError(
        errno.ENOENT,
        f"no such file or folder ({len(missing)} of the {named} paths; the others were deleted)"
        if len(missing) < named
        else f"no such file or folder (none of the {named} paths exists)",
        missing[0],
    )


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
