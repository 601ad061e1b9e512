"""Item info, listings and the listing cache of ``artifactory://``.

A mixin of :class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`,
which gives it ``client``. Listings are cached (fsspec's ``dircache``, guarded by a
lock: one instance may serve many threads); a write forgets the written path, what
is below it and every ancestor.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from fsspec.spec import AbstractFileSystem

from fsartifacts.artifactoryfs import listing as listings
from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.pool import BatchPool


class Metadata(AbstractFileSystem):
    """info, exists, ls, find, checksums and times over ``self.client``, cached."""

    client: ArtifactoryClient
    batch_pool: BatchPool  # runs the requests of a call that needs many, batch_size at once

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache_lock = threading.RLock()

    # -- metadata ---------------------------------------------------------------

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One ``GET /api/storage`` (or a cached listing): name, size, type, times, checksums."""
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        if not refresh:
            cached = self._cached_info(path)
            if cached is not None:
                return cached
        return listings.item_info(self.client, path)

    def _cached_info(self, path: str) -> dict[str, Any] | None:
        with self._cache_lock:
            listing = self._ls_from_cache(path)  # FileNotFoundError: the parent listing lacks it
        if listing is None:
            return None
        for entry in listing:
            if entry["name"] == path:
                return dict(entry)
        # ``path`` is itself a cached listing's key: a directory.
        return {"name": path, "size": 0, "type": "directory"}

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Only a 404 means False: connection and auth errors raise."""
        try:
            self.info(path, **kwargs)
        except FileNotFoundError:
            return False
        return True

    lexists = exists

    def isdir(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except FileNotFoundError:
            return False

    def created(self, path: str) -> datetime:
        return self._timestamp(path, "created")

    def modified(self, path: str) -> datetime:
        return self._timestamp(path, "mtime")

    def _timestamp(self, path: str, key: str) -> datetime:
        value = self.info(path).get(key)
        if value is None:  # listing entries lack some: ask the storage API
            value = self.info(path, refresh=True).get(key)
        if value is None:
            raise ValueError(f"the server gave no {key} time for {path}")
        return value

    def _sha256(self, path: str) -> str | None:
        info = self.info(path)
        if info["type"] == "file" and not info.get("sha256"):
            info = self.info(path, refresh=True)
        return info.get("sha256")

    def checksum(self, path: str) -> int:
        """The sha256 the server computed, as an int (directories: fsspec's default)."""
        digest = self._sha256(path)
        return int(digest, 16) if digest else super().checksum(path)

    def ukey(self, path: str) -> str:
        """The sha256 of the content: equal keys mean equal bytes."""
        return self._sha256(path) or super().ukey(path)

    # -- listings ---------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any) -> list[Any]:
        """Entries directly under ``path``; ``[info(path)]`` when ``path`` is a file."""
        path = self._strip_protocol(path)
        entries: list[dict[str, Any]] | None = None
        if not refresh:
            with self._cache_lock:
                # The exact key only: _ls_from_cache would answer a directory with itself.
                entries = self.dircache.get(path)
        if entries is None:
            listed = (
                listings.list_repositories(self.client)
                if not path
                else listings.list_folder(self.client, path, detail, self.batch_pool)
            )
            if isinstance(listed, dict):  # a file
                return [listed] if detail else [path]
            entries = listed
            if all(e["size"] is not None for e in entries):  # complete: worth caching
                self._remember_listing(path, entries)
        if detail:
            return [dict(e) for e in entries]
        return [e["name"] for e in entries]

    def _remember_listing(self, path: str, entries: list[dict[str, Any]]) -> None:
        with self._cache_lock:
            self.dircache[path] = entries

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Everything below ``path`` in one File List request where the server allows it,
        else a listing per folder, each level's folders side by side."""
        path = self._strip_protocol(path)
        if maxdepth is not None or not path or not self.client.file_list_api:
            return self._find_by_levels(path, maxdepth, withdirs, detail)
        try:
            entries = listings.file_list(self.client, path, deep=True)
            if entries is None:
                info = self.info(path, refresh=True)
        except FileNotFoundError:
            return {} if detail else []
        out: dict[str, dict[str, Any]] = {}
        if entries is None and info["type"] == "directory":
            return self._find_by_levels(path, maxdepth, withdirs, detail)
        if entries is None:
            out[path] = info
        else:
            with self._cache_lock:
                self.dircache.update(listings.folder_listings(path, entries))
            if withdirs:
                out[path] = {"name": path, "size": 0, "type": "directory"}
            for entry in entries:
                if withdirs or entry["type"] != "directory":
                    out[entry["name"]] = dict(entry)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def _find_by_levels(self, path: str, maxdepth: int | None, withdirs: bool, detail: bool) -> Any:
        """fsspec's ``find``, with the folders of each level listed concurrently."""
        out: dict[str, dict[str, Any]] = {}
        level, depth = [path], 1
        while level:
            listed = self.batch_pool.run(lambda d: self._list_for_walk(d, detail), level)
            below: list[str] = []
            for folder, entries in zip(level, listed, strict=True):
                if isinstance(entries, FileNotFoundError):
                    if folder == path:
                        return {} if detail else []
                    continue  # deleted while we walk
                if isinstance(entries, Exception):
                    raise entries
                if isinstance(entries, dict):  # ``path`` is a file
                    out[folder] = entries
                    continue
                if withdirs and folder == path and path:
                    out[path] = {"name": path, "size": 0, "type": "directory"}
                for entry in entries:
                    if entry["type"] == "directory":
                        if maxdepth is None or depth < maxdepth:
                            below.append(entry["name"])
                        if not withdirs:
                            continue
                    out[entry["name"]] = entry
            level, depth = below, depth + 1
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def _list_for_walk(self, path: str, detail: bool) -> list[dict[str, Any]] | dict[str, Any]:
        """Entries of folder ``path`` with their types (the info of a file ``path``)."""
        with self._cache_lock:
            cached = self.dircache.get(path)
        if cached is not None:
            return [dict(e) for e in cached]
        if not path:
            return listings.list_repositories(self.client)
        listed = listings.list_folder(self.client, path, detail, self.batch_pool)
        if isinstance(listed, list) and all(e["size"] is not None for e in listed):
            self._remember_listing(path, listed)
        return listed

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget ``path``, everything below it and every ancestor (a deploy makes parents)."""
        if path is not None:
            path = self._strip_protocol(path)
        with self._cache_lock:
            if path is None:
                self.dircache.clear()
            elif self.dircache:  # empty while a folder's files go up one after another
                prefix = path + "/"
                for key in [k for k in self.dircache if k == path or k.startswith(prefix)]:
                    self.dircache.pop(key, None)
                ancestor = path
                while ancestor:
                    ancestor = ancestor.rpartition("/")[0]  # a stripped path's parent
                    self.dircache.pop(ancestor, None)
        super().invalidate_cache(path)
