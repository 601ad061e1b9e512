"""Push: upload one artifact's file or folder as a version, never overwriting by surprise."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

import semver
from fsspec.callbacks import Callback

from fsartifacts.beside import Beside
from fsartifacts.config.model import Artifact
from fsartifacts.engine import listnotes, naming, provenance, reuse
from fsartifacts.engine.compare import manifest_of, remote_file_matches
from fsartifacts.engine.context import Context
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.options import PushOptions
from fsartifacts.engine.pushsource import (
    artifact_source,
    folder_files,
    open_source,
    read_digests,
    unchanged_while_uploading,
)
from fsartifacts.engine.results import Result, planned, up_to_date, version_text
from fsartifacts.errors import ConflictError, NotFoundError, option
from fsartifacts.hashing import DigestsOnUse, FileDigests
from fsartifacts.stores.base import StoreOps

log = logging.getLogger("fsartifacts")


def push_artifact(
    ctx: Context,
    artifact: Artifact,
    version: semver.Version,
    options: PushOptions,
) -> Result:
    """Upload the artifact's local file or folder as ``version``.

    A copy of this version already on the store refuses the push unless
    ``force``, whatever its content. With ``sync`` (the safe-to-repeat push)
    an identical copy is up to date instead, and only a different one refuses.
    """
    local, is_folder = artifact_source(artifact, ctx.root)
    pinned = None if artifact.singular else version
    if is_folder:
        return _push_folder(ctx, artifact, pinned, local, options)
    return _push_file(ctx, artifact, pinned, local, options)


def _push_file(
    ctx: Context,
    artifact: Artifact,
    version: semver.Version | None,
    local: Path,
    options: PushOptions,
) -> Result:
    store, ops = ctx.store, ctx.ops
    prefix, force, sync = options.prefix, options.force, options.sync
    name = naming.file_name(artifact, version, prefix)
    rpath, url = store.path(name), store.url(name)
    entry = ctx.index.entry(name)
    stale_notes = ctx.index.notes().paths_of(name)
    copies = _copies(ctx, artifact, prefix)
    hashed: FileDigests | None = None
    size = _hashed_as_uploaded(ctx, local, entry, options, copies, rpath)
    if size is None:
        # Every digest the store wants with the upload, in one read of the file.
        hashed = read_digests(ctx.hashes, artifact, local, ops.upload_digests)
        size = hashed.size
    sha256 = hashed["sha256"] if hashed is not None else None
    result = Result(artifact.name, "pushed", version_text(version), url, str(local), size, sha256)
    if entry is not None:
        assert hashed is not None and sha256 is not None  # hashed first where a copy is there
        if entry.get("type") == "directory":
            raise ConflictError(
                f"{artifact.name}: {url} is a folder on the store and {artifact.file} "
                "is a file; push it as another version, or remove that folder first."
            )
        same = remote_file_matches(ops, rpath, entry, size, sha256, local) if sync else None
        if same:
            return up_to_date(result)
        if not force:
            raise _conflict(artifact, version, url, same, sync)
    if options.dry_run:
        return planned(result, "would replace" if entry else "would upload")
    if not force and not ops.atomic_create:
        log.info("%s: this store cannot create atomically; checked that it is absent first", url)

    journals = ctx.journals.resuming(options.resume) if ctx.journals else None
    # The note of a copy this push replaces (or of one that is gone) would describe another.
    listnotes.remove(ops, stale_notes)
    # The file's digests, by name: filled by an upload that hashes as it copies, and checked
    # against the file once the upload is done.
    files = {local.name: hashed} if hashed is not None else {}

    def upload(callback: Callback) -> None:
        if hashed is None:
            with open_source(artifact, local) as src:
                files[local.name] = ops.upload_hashing(
                    src, rpath, exclusive=not force, callback=callback, journals=journals
                )
            return
        ops.upload(str(local), rpath, sha256=hashed["sha256"], digests=hashed,
                   exclusive=not force, callback=callback, journals=journals)  # fmt: skip

    tally = ctx.tally(artifact.name, result.version, size)
    try:
        with unchanged_while_uploading(artifact, local.parent, files, lambda: ops.remove(rpath)):
            # The same content as an earlier version's: copied on the store, not sent again.
            source = (
                reuse.file_source(ops, copies, size, hashed["sha256"], skip=rpath)
                if hashed is not None
                else None
            )
            if source is None or not ctx.transfers.copied(
                tally,
                lambda: ops.copy(source, rpath, exclusive=not force, record=True, digests=hashed),
                size,
            ):
                ctx.transfers.one(tally, upload)
    except FileExistsError:
        # Another push won the race between our listing and our write.
        ctx.index.invalidate()
        if not sync:
            raise _conflict(artifact, version, url, None, sync) from None
        if hashed is None:
            hashed = read_digests(ctx.hashes, artifact, local, ops.upload_digests)
        same = remote_file_matches(ops, rpath, ctx.index.entry(name) or {}, hashed.size,
                                   hashed["sha256"], local)  # fmt: skip
        if same:
            return up_to_date(result)
        raise _conflict(artifact, version, url, same, sync) from None
    finally:
        tally.close()
        ctx.index.invalidate()
    if hashed is None:  # hashed by the upload, from the bytes it copied
        hashed = files[local.name]
        result.bytes, result.sha256 = hashed.size, hashed["sha256"]
        ctx.hashes.remember_stat(
            os.path.realpath(local), hashed.identity, hashed["sha256"], also=hashed
        )
    if options.provenance:
        _write_file_provenance(ctx, name, dict(options.provenance))
        if options.provenance.get("commit"):  # its size is in every listing already
            listnotes.write(ops, rpath, size, options.provenance)
    return result


def _hashed_as_uploaded(
    ctx: Context,
    local: Path,
    entry: dict[str, Any] | None,
    options: PushOptions,
    copies: list[RemoteCopy],
    rpath: str,
) -> int | None:
    """The file's size if the store is to hash it as it uploads it (``hashes_uploads``),
    sparing the push a read of the whole file first; None to hash it first. Only for a
    file of a size the store hashes so (``hashes_upload_of``), a new copy (none there to
    compare it with), pushed for real, of a file the cache has no digests of and that no
    earlier version of its size might hold (that takes its sha256 before the upload)."""
    ops = ctx.ops
    if not ops.hashes_uploads or entry is not None or options.dry_run:
        return None
    try:
        size = local.stat().st_size
        if not ops.hashes_upload_of(size) or ctx.hashes.known(local, ops.upload_digests):
            return None
    except OSError:
        return None  # the read of its digests says what is wrong
    return None if reuse.may_share(ops, copies, size, skip=rpath) else size


def _write_file_provenance(ctx: Context, name: str, record: dict[str, Any]) -> None:
    """The provenance object beside a pushed file; the push stands without it."""
    where = ctx.store.path(provenance.object_name(name))
    try:
        ctx.ops.write_bytes(where, provenance.to_bytes(record), exclusive=False)
    except Exception as exc:  # the version is published: only its provenance is missing
        log.warning("%s: pushed, but its provenance could not be written: %s", name, exc)


def _conflict(
    artifact: Artifact, version: semver.Version | None, url: str, same: bool | None, sync: bool
) -> ConflictError:
    """The refusal of a push onto a copy of this version that is already there."""
    if not sync:
        content = ""  # push refuses any copy of the version, as skelebot does
    elif same is False:
        content = " with different content"
    else:
        content = " with content fsartifacts cannot compare"
    force = option("force")
    if version is None:
        return ConflictError(
            f"{artifact.name} already exists at {url}{content} and is singular (no version "
            f"in its name): push with {force} to replace it."
        )
    return ConflictError(
        f"{artifact.name} {version} already exists at {url}{content}: bump the version, "
        f"or push with {force}."
    )


def _push_folder(
    ctx: Context,
    artifact: Artifact,
    version: semver.Version | None,
    local: Path,
    options: PushOptions,
) -> Result:
    store, ops = ctx.store, ctx.ops
    force = options.force
    name = naming.folder_name(artifact, version, options.prefix)
    rpath, url = store.path(name), store.url(name) + "/"
    manifest_path = store.path(naming.manifest_name(name))
    # The folder's files as walked, each hashed (every digest the store wants, in one read)
    # when first needed: by the worker that sends it, unless something needs the whole
    # manifest before the upload (a copy of this version to compare it with, a dry run).
    digests = folder_files(ctx.hashes, artifact, local, ops.upload_digests)
    if not digests:
        raise NotFoundError(
            f"{artifact.name}: the folder {artifact.file} holds no files; nothing to push."
        )
    result = Result(artifact.name, "pushed", version_text(version), url, str(local))
    built: list[Manifest] = []

    def manifest() -> Manifest:
        """The folder's manifest (reading the files not hashed yet), built once."""
        if not built:
            built.append(dataclasses.replace(
                manifest_of(artifact, version_text(version), digests),
                provenance=dict(options.provenance),
            ))  # fmt: skip
            result.bytes, result.sha256 = built[0].size, built[0].digest
        return built[0]

    def published() -> Result | None:
        return _existing_version(ops, artifact, version, manifest_path, manifest(), result,
                                 options)  # fmt: skip

    entry = ctx.index.entry(naming.manifest_name(name))
    folder_entry = ctx.index.entry(name)
    if entry is not None:
        existing = published()
        if existing is not None:
            return existing
    if folder_entry is not None and folder_entry.get("type") != "directory":
        raise ConflictError(
            f"{artifact.name}: {url} is a file on the store and {artifact.file} is a folder; "
            "push it as another version, or remove that file first."
        )
    if options.dry_run:
        manifest()
        return planned(result, "would replace" if entry else "would upload")
    # The folders an election of the claim listed after writing it, each through the index:
    # the root's listing is then the one the index needs once the claim is held.
    relisted: list[str] = []

    def listing(folder: str) -> list[dict[str, Any]]:
        relisted.append(folder)
        return ctx.index.relist(folder)

    # Nothing under name_vX/ is touched before this push holds the version: another
    # push may be writing there. What ``after_release`` holds is waited for once the claim
    # is dropped.
    after_release = contextlib.ExitStack()
    with after_release, ctx.claims.claimed(artifact.name, rpath, url, listing=listing) as claim:
        try:
            # What the claim's holder sees, not what the first listing said: listed again
            # unless the election just did.
            if store.root not in relisted:
                ctx.index.invalidate()
            if ctx.index.entry(naming.manifest_name(name)) is not None:
                existing = published()
                if existing is not None:
                    return existing
                # Manifest first: the old version stops being visible before it is torn down.
                ops.remove(manifest_path)
            if ctx.index.entry(name) is not None:
                ops.remove(rpath, recursive=True)  # left by an abandoned push, or replaced
            # While the version is invisible: a note of what it was must not outlive it.
            listnotes.remove(ops, ctx.index.notes().paths_of(name))
            top = str(local)
            files = ((os.path.join(top, rel), rel, d) for rel, d in digests.items())
            # Files an earlier version holds with the same sha256 are copied on the store.
            sources = reuse.folder_sources(
                ops, _copies(ctx, artifact, options.prefix),
                {d.size_found for d in digests.values()}, skip=rpath,
            )  # fmt: skip
            found_size = sum(d.size_found for d in digests.values())
            tally = ctx.tally(artifact.name, result.version, found_size, len(digests))
            try:
                with unchanged_while_uploading(
                    artifact, local, digests, lambda: ops.remove(rpath, recursive=True),
                    partial=True,
                ):  # fmt: skip
                    # Files move (and are hashed) jobs at a time, in the run's slots.
                    ops.upload_folder(files, rpath, ctx.files(tally, _file_size), sources)
                    # Whether the claim is still this push's (an election can be lost
                    # late), asked beside the rest: the files checked unchanged, the hash
                    # cache written, the manifest built.
                    check = partial(ctx.claims.still_held, artifact.name, rpath, url, claim)
                    held = Beside(check, "fsartifacts-claim-check")
                    # The digests a store's copies computed, remembered in one batch.
                    ctx.hashes.remember_found(os.path.realpath(local), (
                        (rel, d) for rel, d in digests.items() if d.copied
                    ))  # fmt: skip
            finally:
                tally.close()
            body = manifest().to_bytes()
            # What this push hashed, written while the version is published (once the
            # manifest is built: both are the interpreter's work, which one thread does at
            # a time).
            after_release.callback(Beside(ctx.hashes.save, "fsartifacts-hash-cache").result)
            listed = held.result()
            exclusive = not force
            if exclusive and not ops.atomic_create and listed is not None:
                # Checked absent in the listing that showed the claim still held (a write
                # that cannot create only if absent asks the store first otherwise).
                if any(e["name"].rstrip("/") == manifest_path for e in listed):
                    raise FileExistsError(manifest_path)
                exclusive = False
            ops.write_bytes(manifest_path, body, exclusive=exclusive)
            # Published: its listing note (written after the manifest, so no older than the
            # version) needs no claim, and goes beside the claim's release.
            note = partial(listnotes.write, ops, rpath, manifest().size, manifest().provenance)
            after_release.callback(ctx.index.invalidate)
            after_release.callback(Beside(note, "fsartifacts-note").result)
        except FileExistsError:
            # A push that takes no claim (an older fsartifacts) got there first.
            ctx.index.invalidate()
            existing = published()
            if existing is not None:
                return existing
            raise
        finally:
            ctx.index.invalidate()
    return result


def _file_size(file: tuple[str, str, DigestsOnUse]) -> int:
    """The size of a folder's file as it was found: not a read of it (its digests are
    computed by whichever thread sends it)."""
    return file[2].size_found


def _copies(ctx: Context, artifact: Artifact, prefix: str) -> list[RemoteCopy]:
    """The versions of ``artifact`` on the store now, newest first (none on a new store)."""
    return ctx.index.copies(artifact, prefix, creating=True)


def _existing_version(
    ops: StoreOps,
    artifact: Artifact,
    version: semver.Version | None,
    manifest_path: str,
    manifest: Manifest,
    result: Result,
    options: PushOptions,
) -> Result | None:
    """What a published copy of the version means: up to date (sync push with the same
    content), a conflict, or None to go on and replace it (``force``)."""
    url = result.remote or manifest_path
    if options.sync:
        try:
            remote = Manifest.from_bytes(ops.read_bytes(manifest_path), url)
        except FileNotFoundError:
            return None  # removed since it was listed
        if remote.same_content(manifest):
            return up_to_date(result)
    if not options.force:
        raise _conflict(artifact, version, url, False, options.sync)
    return None
