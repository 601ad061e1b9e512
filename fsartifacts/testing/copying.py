"""Copy and move of items in the local Artifactory server's storage (``POST /api/copy``
and ``/api/move``), within a repository or between two.

The whole copy is planned before anything is written, under the storage's lock, so a
file/folder clash or a refused overwrite anywhere in the tree copies nothing. Each file
is copied into the storage's tmp folder first and renamed into place, like an upload.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from fsartifacts.testing.model import (
    ArtifactoryError,
    Item,
    ancestors,
    file_expected,
    folder_expected,
    join_path,
    now_ms,
    overwrite_message,
)
from fsartifacts.testing.storage import Storage


@dataclass(frozen=True)
class CopyResult:
    files: int
    folders: int
    target_repo: str
    target_path: str


def copy_or_move(
    storage: Storage,
    src_repo: str,
    src_path: str,
    dst_repo: str,
    dst_path: str,
    *,
    move: bool,
    dry: bool,
    user: str,
    deny_overwrite: bool,
) -> CopyResult:
    """Copy or move an item; an existing folder as target means "put it inside"."""
    verb = "move" if move else "copy"
    with storage.lock:
        source = storage.stat(src_repo, src_path)
        if source is None:
            raise ArtifactoryError(404, f"Could not find source item '{src_repo}:{src_path}'.")
        if move and deny_overwrite:
            raise ArtifactoryError(403, overwrite_message(src_repo, src_path, user))
        target = storage.stat(dst_repo, dst_path)
        final = dst_path
        if target is not None and target.folder and src_path:
            final = join_path(dst_path, source.name)
        elif not src_path and target is not None and not target.folder:
            raise ArtifactoryError(409, folder_expected(dst_repo, dst_path))
        inside = not src_path or final == src_path or final.startswith(src_path + "/")
        if src_repo == dst_repo and inside:
            raise ArtifactoryError(
                400,
                f"Cannot {verb} '{src_repo}:{src_path}' onto or into itself "
                f"(target '{dst_repo}:{final}').",
            )
        for folder in ancestors(final):
            if os.path.isfile(storage.data_path(dst_repo, folder)):
                raise ArtifactoryError(409, folder_expected(dst_repo, folder))
        plan = _copy_plan(storage, source, dst_repo, final, user, deny_overwrite)
        files = sum(1 for src, _ in plan if not src.folder)
        folders = sum(1 for src, _ in plan if src.folder) - (1 if source.folder else 0)
        if not dry:
            _execute_copy(storage, plan, dst_repo, user)
            if move:
                storage.delete(src_repo, src_path)
        return CopyResult(files, max(folders, 0), dst_repo, final)


def _copy_plan(
    storage: Storage, source: Item, dst_repo: str, final: str, user: str, deny_overwrite: bool
) -> list[tuple[Item, str]]:
    """(source item, target path) pairs, parents first; refuses file/folder clashes."""
    items = [source]
    if source.folder:
        items.extend(storage.walk(source.repo, source.path, None))
    plan = []
    for item in items:
        rel = item.path[len(source.path) :].lstrip("/") if source.path else item.path
        target_path = join_path(final, rel) if rel else final
        existing = storage.stat(dst_repo, target_path)
        if existing is not None and existing.folder != item.folder:
            if item.folder:
                raise ArtifactoryError(409, folder_expected(dst_repo, target_path))
            raise ArtifactoryError(409, file_expected(dst_repo, target_path))
        if existing is not None and not item.folder and deny_overwrite:
            raise ArtifactoryError(403, overwrite_message(dst_repo, target_path, user))
        plan.append((item, target_path))
    return plan


def _execute_copy(storage: Storage, plan: list[tuple[Item, str]], dst_repo: str, user: str) -> None:
    stamp = now_ms()
    rows = []
    for item, target_path in plan:
        target = storage.data_path(dst_repo, target_path)
        if item.folder:
            target.mkdir(parents=True, exist_ok=True)
            existing = storage.index.row(dst_repo, target_path)
            if existing is not None and existing.folder:
                continue
            copied = replace(item, repo=dst_repo, path=target_path)
            copied.created, copied.created_by = stamp, user
            rows.append(copied)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=storage.tmp_dir, prefix="copy-", suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(storage.data_path(item.repo, item.path), tmp)
            os.utime(tmp, ns=(item.modified * 1_000_000, item.modified * 1_000_000))
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        copied = replace(item, repo=dst_repo, path=target_path, properties=dict(item.properties))
        copied.created, copied.created_by, copied.updated = stamp, user, stamp
        copied.disk_mtime_ns = os.stat(target).st_mtime_ns
        rows.append(copied)
    storage.index.write(rows)
