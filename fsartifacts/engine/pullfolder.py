"""The pull of a folder version: its files fetched jobs at a time into a staged tree
beside the destination (each copied from a local file that holds its content, or
downloaded, in ranges when large, and verified against the manifest), the tree checked
against the manifest, then swapped in whole; and whether a destination already holds
the version, for a sync pull.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from fsspec.callbacks import Callback

from fsartifacts.atomic import written_behind
from fsartifacts.config.model import Artifact
from fsartifacts.copyworker import Copy
from fsartifacts.engine import reuse
from fsartifacts.engine.compare import local_manifest
from fsartifacts.engine.context import Context
from fsartifacts.engine.folderstop import in_flight_of
from fsartifacts.engine.install import (
    Installing,
    carry_over,
    check_tree,
    contained,
    contained_parts,
    member_target,
    staged_member,
    staging_dir,
    swap_dir,
)
from fsartifacts.engine.largefile import fetch_member_in_ranges, is_large
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.partial import KeptMembers
from fsartifacts.engine.results import version_text
from fsartifacts.engine.selection import EVERY_FILE, Selection
from fsartifacts.engine.verify import checked, verify
from fsartifacts.errors import IntegrityError, LocalError, NotPushable
from fsartifacts.hashing import CHUNK, HashingWriter
from fsartifacts.retry import with_retries
from fsartifacts.stores.filerunner import FileRunner
from fsartifacts.syncer import FileSyncer


def folder_is_current(
    ctx: Context, artifact: Artifact, dest: Path, remote: Manifest, selection: Selection
) -> bool:
    """Whether ``dest`` holds the files of ``remote`` (within ``selection``: the local
    files outside it are not the pull's business)."""
    if not dest.is_dir():
        return False
    try:
        local = local_manifest(ctx.hashes, artifact, remote.version, dest, selection)
    except (LocalError, NotPushable):
        return False  # a link or a special file in it: not the store's copy, pulled again
    return local.same_content(remote)


def pull_folder(
    ctx: Context,
    copy: RemoteCopy,
    manifest: Manifest,
    dest: Path,
    url: str,
    installing: Installing,
    selection: Selection = EVERY_FILE,
    resume: bool = True,
) -> None:
    # Files the destination, the project or an interrupted pull of it already holds are
    # copied, not downloaded; each one downloaded is kept until the pull completes.
    keeping = KeptMembers(dest, resume=resume, local=ctx.ops.on_this_machine)
    local = reuse.local_sources(ctx.hashes, ctx.root, dest, manifest, keeping.folders())
    tally = ctx.tally(copy.artifact, version_text(copy.version), manifest.size,
                      len(manifest.files))  # fmt: skip
    try:
        staging = staging_dir(dest)
    except BaseException:
        tally.close()
        raise
    # From a remote store each file downloaded is made durable beside the transfers still
    # waiting on it. From this machine's there is no wait to do it in: the tree is synced
    # at once, before the swap.
    syncer = None if ctx.ops.on_this_machine else FileSyncer()

    def fetch(entry: ManifestEntry, callback: Callback) -> None:
        callback.absolute_update(0)  # a retried download starts over
        # What the file changes here (the staged tree, what is kept, the progress) is
        # changed within the folder's gate: a file left waiting for its answer once the
        # folder failed (a try after a pause, one answered late) changes nothing of it.
        gate = in_flight_of(callback)
        source = local.get(entry.sha256)
        if source is not None:
            with gate.writing():
                if reuse.copy_member(source, staging, entry, dest):
                    callback.absolute_update(entry.size)
                    return
        if not (is_large(ctx, entry.size) and fetch_member_in_ranges(
            ctx, f"{copy.path}/{entry.path}", member_target(staging, entry.path), entry.size,
            entry.sha256,
            url=f"{url}{entry.path}", callback=callback,
            check=partial(checked, f"{url}{entry.path}", dest, entry.sha256, None, None,
                          entry.size),
        )):  # fmt: skip
            callback.absolute_update(0)  # what a ranged try counted before it fell back
            with contextlib.ExitStack() as member:
                with gate.writing():
                    out = member.enter_context(staged_member(staging, entry.path, dest))
                writer = HashingWriter(out, limit=entry.size, what=f"{url}{entry.path}")
                ctx.ops.download(f"{copy.path}/{entry.path}", writer, callback=callback,
                                 within=copy.path, in_flight=gate)  # fmt: skip
            verify(f"{url}{entry.path}", dest, writer.bytes, writer.digests(), entry.size,
                   entry.sha256, None)  # fmt: skip
        staged = contained(staging, entry.path)
        with gate.writing():
            if syncer is not None:
                syncer.add(staged)
            if keeping.wants(entry.size):
                keeping.keep(staged, entry.path, entry.size)

    def fetch_retrying(entry: ManifestEntry, callback: Callback) -> None:
        with_retries(f"download of {url}{entry.path}", ctx.transfer.attempts,
                     partial(fetch, entry, callback))  # fmt: skip

    def shareable(entry: ManifestEntry) -> bool:
        """Whether the store may copy ``entry`` at once: the pull would download it whole."""
        return (entry.sha256 not in local and not keeping.wants(entry.size)
                and not is_large(ctx, entry.size))  # fmt: skip

    try:
        runner = ctx.files(tally, _entry_size, leave=True)
        # The files each fsynced beside the downloads, or else the disk kept busy with them
        # while they are copied, for the sync before the swap.
        behind = written_behind(staging) if syncer is None else contextlib.nullcontext()
        with behind, ctx.ops.reading_folder(copy.path):
            # A store on this machine may copy the small files at once first (see
            # _copied_at_once); the others move jobs at a time, in the run's slots; the
            # first that fails for good fails the artifact, and the staged tree goes with it.
            files: Iterable[ManifestEntry] = manifest.files
            if ctx.ops.on_this_machine:
                files = _copied_at_once(ctx, copy.path, manifest, staging, shareable, runner)
            runner.each(fetch_retrying, files)
        expected = {entry.path: entry for entry in manifest.files}
        if selection.partial:
            # The local files outside the selection stay: into the new tree with the rest.
            kept = [p for p in manifest.unlisted_files(dest) if not selection.wants(p)]
            carried = carry_over(dest, staging, kept)
            expected.update((p, ManifestEntry(p, size, "")) for p, size in carried.items())
        # Each file's digest is remembered under the name the swap gives it, from the stat
        # the check of the tree takes anyway (the rename keeps size, mtime and inode).
        installed = os.path.join(os.path.realpath(dest.parent), dest.name)
        hashes = ctx.hashes

        def found(relative: str, st: os.stat_result) -> None:
            sha256 = expected[relative].sha256
            if sha256:  # not a file carried over from the old copy
                hashes.remember_stat(os.path.join(installed, relative), st, sha256)

        check_tree(staging, expected, dest, found)
        durable = syncer.settle() if syncer is not None else frozenset[str]()
        with installing():
            swap_dir(staging, dest, durable)
    except BaseException as exc:
        if syncer is not None:
            syncer.close()
        keeping.give_up(exc)
        raise
    else:
        keeping.discard()
    finally:
        tally.close()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _entry_size(entry: ManifestEntry) -> int:
    return entry.size


def _copied_at_once(
    ctx: Context,
    folder: str,
    manifest: Manifest,
    staging: Path,
    eligible: Callable[[ManifestEntry], bool],
    runner: FileRunner,
) -> Sequence[ManifestEntry]:
    """Have the store copy the small files of ``manifest`` that ``eligible`` takes in one
    go (one loop over them, no transfer of its own for each, worker processes beside it:
    :meth:`~fsartifacts.stores.base.StoreOps.copy_members`), each taken with the size and
    sha256 of the very bytes it wrote, all of them counted on ``runner`` at once; the
    files left to download: the others, and each copy that was not made or differs
    (removed first, and then downloaded and verified as any file)."""
    small = _small_copies(manifest, staging, eligible)
    if not small:
        return manifest.files
    with runner.beside() as slots:
        found = ctx.ops.copy_members(folder, [c for _, c in small], slots)
    if found is None:
        return manifest.files
    copied: set[str] = set()
    size = 0
    for (entry, target), outcome in zip(small, found, strict=True):
        if outcome is not None and (outcome.identity[0], outcome.digests[0]) == (
            entry.size, entry.sha256,
        ):  # fmt: skip
            copied.add(entry.path)
            size += entry.size
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target.dst)
    runner.moved(len(copied), size)
    return [entry for entry in manifest.files if entry.path not in copied]


def _small_copies(
    manifest: Manifest, staging: Path, eligible: Callable[[ManifestEntry], bool]
) -> list[tuple[ManifestEntry, Copy]]:
    """The small files of ``manifest`` (one read each) that ``eligible`` takes, each with a
    copy of its path in the folder version into its place in ``staging``; their folders
    made in ``staging`` now. A name refused here is left to its download, which refuses
    it as it refuses any."""
    top = os.fspath(staging)
    made: set[tuple[str, ...]] = set()
    copies = []
    for entry in manifest.files:
        if not entry.sha256 or entry.size >= CHUNK or not eligible(entry):
            continue
        try:
            parts = contained_parts(staging, entry.path)
        except IntegrityError:
            continue
        if parts[:-1] not in made:
            member_target(staging, entry.path)
            made.add(parts[:-1])
        copies.append((entry, Copy(entry.path, os.path.join(top, *parts), entry.size)))
    return copies
