"""On-disk storage of the local Artifactory server.

Layout under the root folder:

* ``<root>/<repo>/<path>``: the artifacts themselves, as plain files and folders, so a
  demo can look at them (or drop files in: they are picked up and hashed on first use).
* ``<root>/.fsartifacts-artifactory/index.sqlite3``: one row of metadata per item
  (checksums, client checksums, timestamps, users, properties). A small index rather
  than sidecar files, so that no user file name can collide with a metadata name and
  so that checksum deploy can find content by sha256/sha1.
* ``<root>/.fsartifacts-artifactory/tmp/``: uploads in progress. A file reaches its
  final path only by an atomic rename after its checksums were verified, so a failed,
  aborted or rejected upload stores nothing.

A checksum deploy gives the new path a hard link to the stored file with that content,
as Artifactory links the one binary it keeps (no byte copied: a 1 GiB deploy costs what
a small one does). Files are never written in place (every write is a rename), so two
names sharing bytes stay the same content. A linked file keeps the modification time
it has on disk: setting it would set the other name's too (its row would no longer
match the disk, and the file be hashed again); the item's own time is its row's.

The data files are the truth for what exists; a metadata row whose file changed on
disk (other size or mtime) is refreshed by hashing the file again (testing/adoption.py).
Copies and moves of trees are testing/copying.py; the words of refusals are model's.

All metadata changes and renames happen under one lock; streaming bytes does not.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from fsartifacts.testing.adoption import adopt_file, discovered_folder
from fsartifacts.testing.itemindex import ItemIndex
from fsartifacts.testing.model import (
    SYSTEM_USER,
    ArtifactoryError,
    Checksums,
    Item,
    PendingUpload,
    ancestors,
    file_expected,
    folder_expected,
    join_path,
    now_ms,
    overwrite_message,
    parent_of,
    same_content,
    valid_repo_key,
)

INTERNAL_DIR = ".fsartifacts-artifactory"


class Storage:
    """The repositories of one server: files on disk plus their metadata index."""

    def __init__(self, root: str | os.PathLike[str], repos: Iterable[str]) -> None:
        self.root = Path(root).resolve()
        internal = self.root / INTERNAL_DIR
        self.tmp_dir = internal / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():  # uploads cut short by a previous crash
            leftover.unlink(missing_ok=True)
        # Public because the copy and move of trees (testing/copying.py) plans and writes
        # under the same lock and into the same index as every other change.
        self.lock = threading.RLock()
        self.index = ItemIndex(internal / "index.sqlite3", self.lock)
        self._repos: list[str] = []
        for repo in repos:
            self.add_repo(repo)

    # -- repositories -----------------------------------------------------------------

    @property
    def repos(self) -> tuple[str, ...]:
        with self.lock:
            return tuple(self._repos)

    def has_repo(self, repo: str) -> bool:
        with self.lock:
            return repo in self._repos

    def add_repo(self, repo: str) -> None:
        """Create (or adopt the existing folder of) a local repository."""
        if not valid_repo_key(repo):
            raise ValueError(
                f"invalid repository key {repo!r}: use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit (and not 'api')"
            )
        with self.lock:
            if repo in self._repos:
                return
            self.data_path(repo, "").mkdir(parents=True, exist_ok=True)
            if self.index.row(repo, "") is None:
                stamp = now_ms()
                root = Item(repo, "", True, stamp, SYSTEM_USER, stamp, SYSTEM_USER, stamp)
                self.index.write([root])
            self._repos.append(repo)

    def close(self) -> None:
        with self.lock:
            self.index.close()

    def data_path(self, repo: str, path: str) -> Path:
        # Paths reach here already split into validated segments (no "", ".", ".."),
        # so they cannot leave the repository folder.
        return self.root / repo / path if path else self.root / repo

    # -- reading ----------------------------------------------------------------------

    def stat(self, repo: str, path: str) -> Item | None:
        """The item at ``path``, or None. Files changed on disk behind our back are rehashed."""
        for _ in range(5):
            with self.lock:
                if repo not in self._repos:
                    return None
                data = self.data_path(repo, path)
                try:
                    st = os.stat(data)
                except (FileNotFoundError, NotADirectoryError):
                    return None
                row = self.index.row(repo, path)
                if os.path.isdir(data):
                    if row is not None and row.folder:
                        return row
                    return discovered_folder(repo, path, st.st_mtime_ns)
                if not os.path.isfile(data):
                    return None
                if (
                    row is not None
                    and not row.folder
                    and row.size == st.st_size
                    and row.disk_mtime_ns == st.st_mtime_ns
                ):
                    return row
            # Unknown or changed on disk: hash it outside the lock, then record it
            # unless it changed again meanwhile.
            item = adopt_file(self.index, self.lock, data, repo, path, row)
            if item is not None:
                return item
        raise ArtifactoryError(500, f"The file '{repo}:{path}' keeps changing on disk.")

    def open_file(self, repo: str, path: str) -> tuple[Item, BinaryIO] | None:
        """The metadata and an open handle of a file whose content matches that metadata.

        The handle stays valid (and its content unchanged) even if the file is
        overwritten or deleted meanwhile, because writes replace files by renaming.
        """
        for _ in range(5):
            item = self.stat(repo, path)
            if item is None or item.folder:
                return None
            with self.lock:
                handle = open(self.data_path(repo, path), "rb")  # noqa: SIM115 (returned)
                st = os.fstat(handle.fileno())
                current = self.index.row(repo, path)
                if (
                    current is not None
                    and current.size == st.st_size
                    and current.disk_mtime_ns == st.st_mtime_ns
                ):
                    return current, handle
                handle.close()
        raise ArtifactoryError(500, f"The file '{repo}:{path}' keeps changing on disk.")

    def children(self, repo: str, path: str) -> list[tuple[str, bool]]:
        """(name, is_folder) of the immediate children of a folder, sorted by name."""
        entries = []
        with os.scandir(self.data_path(repo, path)) as scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False):
                    entries.append((entry.name, True))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((entry.name, False))
        return sorted(entries)

    def walk(self, repo: str, path: str, max_depth: int | None) -> Iterator[Item]:
        """Items under folder ``path`` (depth first, sorted), down to ``max_depth`` levels."""

        def visit(folder: str, depth: int) -> Iterator[Item]:
            for name, _is_folder in self.children(repo, folder):
                child = join_path(folder, name)
                item = self.stat(repo, child)
                if item is None:  # deleted while we walk
                    continue
                yield item
                if item.folder and (max_depth is None or depth < max_depth):
                    yield from visit(child, depth + 1)

        return visit(path, 1)

    def find_by_checksum(self, algorithm: str, value: str) -> Item | None:
        """A stored file with this sha256 or sha1, verified against the disk."""
        column = {"sha256": "sha256", "sha1": "sha1"}[algorithm]
        with self.lock:
            rows = self.index.files_with(column, value)
        for repo, path in rows:
            item = self.stat(repo, path)
            if item is not None and item.checksums and item.checksums.get(algorithm) == value:
                return item
        return None

    def newest_under(self, repo: str, path: str) -> Item | None:
        """The most recently modified file at or under ``path`` (the folder if it has none)."""
        start = self.stat(repo, path)
        if start is None or not start.folder:
            return start
        files = [item for item in self.walk(repo, path, None) if not item.folder]
        return max(files, key=lambda item: item.modified, default=start)

    # -- writing ----------------------------------------------------------------------

    def new_upload(self) -> PendingUpload:
        return PendingUpload(self.tmp_dir)

    def commit_file(
        self,
        repo: str,
        path: str,
        upload: Path,
        size: int,
        checksums: Checksums,
        *,
        user: str,
        originals: Mapping[str, str],
        last_modified: int | None,
        properties: Mapping[str, list[str]],
        deny_overwrite: bool,
        declared: Mapping[str, str],
    ) -> Item:
        """Move a verified upload to its path and record its metadata.

        ``deny_overwrite`` refuses to replace an existing file unless the client declared
        its current sha1 or sha256 (Artifactory does not count that as an overwrite).
        """
        with self.lock:
            existing = self._file_target(repo, path)
            if existing is not None and deny_overwrite and not same_content(existing, declared):
                raise ArtifactoryError(403, overwrite_message(repo, path, user))
            self._make_parents(repo, path, user)
            data = self.data_path(repo, path)
            os.replace(upload, data)
            stamp = now_ms()
            modified = stamp if last_modified is None else last_modified
            disk_mtime_ns = _stamp(data, modified)
            item = Item(
                repo=repo,
                path=path,
                folder=False,
                size=size,
                checksums=checksums,
                originals=dict(originals),
                created=existing.created if existing else stamp,
                created_by=existing.created_by if existing else user,
                modified=modified,
                modified_by=user,
                updated=stamp,
                properties={k: list(v) for k, v in properties.items()},
                properties_modified=stamp if properties else None,
                disk_mtime_ns=disk_mtime_ns,
            )
            self.index.write([item])
            return item

    def touch_identical(
        self,
        repo: str,
        path: str,
        *,
        user: str,
        last_modified: int | None,
        properties: Mapping[str, list[str]],
    ) -> Item:
        """A checksum deploy of the content a file already has: update metadata only."""
        with self.lock:
            existing = self._file_target(repo, path)
            if existing is None:
                raise ArtifactoryError(500, f"Expected a file at '{repo}:{path}'.")
            stamp = now_ms()
            modified = stamp if last_modified is None else last_modified
            item = replace(
                existing,
                modified=modified,
                modified_by=user,
                updated=stamp,
                disk_mtime_ns=_stamp(self.data_path(repo, path), modified),
            )
            if properties:
                item.properties = {**existing.properties, **properties}
                item.properties_modified = stamp
            self.index.write([item])
            return item

    def link_to(self, item: Item) -> Path | None:
        """A new name in the uploads folder for the bytes of the stored file ``item`` (a
        hard link), for :meth:`commit_file` to move to another path; None when the file on
        disk is no longer what ``item`` says, or the filesystem cannot link (copy then)."""
        with self.lock:  # every rename happens under it: the file cannot change meanwhile
            data = self.data_path(item.repo, item.path)
            row = self.index.row(item.repo, item.path)
            try:
                st = os.stat(data)
            except OSError:
                return None
            if (
                row is None
                or row.folder
                or row.checksums != item.checksums
                or (row.size, row.disk_mtime_ns) != (st.st_size, st.st_mtime_ns)
            ):
                return None
            link = self.tmp_dir / f"link-{os.urandom(8).hex()}.part"
            try:
                os.link(data, link)
            except OSError:  # no hard links here (or too many): the caller copies
                return None
            return link

    def file_at(self, repo: str, path: str) -> Item | None:
        """The file at ``path`` (None if missing); a folder or a file above it is a conflict."""
        with self.lock:
            return self._file_target(repo, path)

    def mkdirs(
        self, repo: str, path: str, *, user: str, properties: Mapping[str, list[str]]
    ) -> Item:
        """Create a folder and its parents (idempotent); a file in the way is a conflict."""
        with self.lock:
            for folder in [*ancestors(path), path] if path else []:
                if os.path.isfile(self.data_path(repo, folder)):
                    raise ArtifactoryError(409, folder_expected(repo, folder))
            self._make_folders(repo, path, user)
            item = self.stat(repo, path)
            assert item is not None and item.folder
            if properties:
                item.properties = {**item.properties, **properties}
                item.properties_modified = now_ms()
                self.index.write([item])
            return item

    def delete(self, repo: str, path: str) -> None:
        """Delete a file or a folder recursively (the root: all its content)."""
        with self.lock:
            data = self.data_path(repo, path)
            if path == "":
                for name, is_folder in self.children(repo, ""):
                    _remove(data / name, is_folder)
                self.index.delete_all(repo)
                return
            if os.path.isdir(data):
                _remove(data, True)
            elif os.path.isfile(data):
                _remove(data, False)
            else:
                raise FileNotFoundError(path)
            self.index.delete(repo, path)

    def update_properties(
        self,
        repo: str,
        path: str,
        changes: Mapping[str, list[str] | None],
        *,
        recursive: bool,
    ) -> None:
        """Set (list of values) or remove (None) properties on an item, maybe recursively."""
        with self.lock:
            start = self.stat(repo, path)
            if start is None:
                raise ArtifactoryError(404, "Unable to find item")
            targets = [start]
            if recursive and start.folder:
                targets.extend(self.walk(repo, path, None))
            stamp = now_ms()
            for item in targets:
                props = dict(item.properties)
                for key, values in changes.items():
                    if values is None:
                        props.pop(key, None)
                    else:
                        props[key] = list(values)
                item.properties = props
                item.properties_modified = stamp
            self.index.write(targets)

    # -- internals --------------------------------------------------------------------

    def _file_target(self, repo: str, path: str) -> Item | None:
        """Check that ``path`` can hold a file; return the file already there, if any."""
        for folder in ancestors(path):
            if os.path.isfile(self.data_path(repo, folder)):
                raise ArtifactoryError(409, folder_expected(repo, folder))
        data = self.data_path(repo, path)
        if os.path.isdir(data):
            raise ArtifactoryError(409, file_expected(repo, path))
        if os.path.isfile(data):
            return self.stat(repo, path)
        return None

    def _make_parents(self, repo: str, path: str, user: str) -> None:
        self._make_folders(repo, parent_of(path), user)

    def _make_folders(self, repo: str, path: str, user: str) -> None:
        """Create folder ``path`` and its missing parents, with metadata rows."""
        new_rows = []
        stamp = now_ms()
        for folder in [*ancestors(path), path] if path else []:
            data = self.data_path(repo, folder)
            if not os.path.isdir(data):
                data.mkdir()
                new_rows.append(Item(repo, folder, True, stamp, user, stamp, user, stamp))
        self.index.write(new_rows)


def _stamp(data: Path, modified_ms: int) -> int:
    """Set the file's modification time to ``modified_ms`` unless it shares its bytes
    with another name (see the module docstring); its time on disk, in ns, to record."""
    st = os.stat(data)
    if st.st_nlink > 1:
        return st.st_mtime_ns
    os.utime(data, ns=(modified_ms * 1_000_000, modified_ms * 1_000_000))
    return os.stat(data).st_mtime_ns


def _remove(path: Path, is_folder: bool) -> None:
    if is_folder:
        shutil.rmtree(path)
    else:
        path.unlink()
