"""Push: upload one artifact's file or folder as a version, never overwriting by surprise."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semver

from . import naming
from .config import Artifact
from .errors import ConflictError, NotFoundError, option
from .hashing import FileDigests, hash_file
from .manifest import Manifest, ManifestEntry
from .results import Result, entry_size, planned, up_to_date, version_text

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("fsartifacts")


def push_artifact(
    engine: Engine,
    artifact: Artifact,
    version: semver.Version,
    *,
    prefix: str = "",
    force: bool = False,
    sync: bool = False,
    dry_run: bool = False,
) -> Result:
    """Upload the artifact's local file or folder as ``version``.

    A copy of this version already on the store refuses the push unless
    ``force``, whatever its content. With ``sync`` (the safe-to-repeat push)
    an identical copy is up to date instead, and only a different one refuses.
    """
    local = engine.root / artifact.file
    if not local.exists():
        raise NotFoundError(
            f"{artifact.name}: {artifact.file} does not exist in {engine.root}; "
            "build it first, or fix its `file:` in the config."
        )
    pinned = None if artifact.singular else version
    if local.is_dir():
        return _push_folder(engine, artifact, pinned, local, prefix, force, sync, dry_run)
    return _push_file(engine, artifact, pinned, local, prefix, force, sync, dry_run)


def _push_file(
    engine: Engine,
    artifact: Artifact,
    version: semver.Version | None,
    local: Path,
    prefix: str,
    force: bool,
    sync: bool,
    dry_run: bool,
) -> Result:
    store, ops = engine.store, engine.ops
    name = naming.file_name(artifact, version, prefix)
    rpath, url = store.path(name), store.url(name)
    size = local.stat().st_size
    # Every digest the store wants with the upload, in one read of the file.
    hashed = engine.hashes.digests(local, ops.upload_digests)
    sha256 = hashed["sha256"]
    result = Result(artifact.name, "pushed", version_text(version), url, str(local), size, sha256)
    entry = engine.entry(name)
    if entry is not None:
        if entry.get("type") == "directory":
            raise ConflictError(
                f"{artifact.name}: {url} is a folder on the store and {artifact.file} "
                "is a file; push it as another version, or remove that folder first."
            )
        same = remote_file_matches(engine, rpath, entry, size, sha256, local) if sync else None
        if same:
            return up_to_date(result)
        if not force:
            raise _conflict(artifact, version, url, same, sync)
    if dry_run:
        return planned(result, "would replace" if entry else "would upload")
    if not force and not ops.atomic_create:
        log.info("%s: this store cannot create atomically; checked that it is absent first", url)
    callback = engine.progress(name, size)
    try:
        ops.upload(
            str(local), rpath, sha256=sha256, digests=hashed, exclusive=not force, callback=callback
        )
    except FileExistsError:
        # Another push won the race between our listing and our write.
        engine.changed()
        if not sync:
            raise _conflict(artifact, version, url, None, sync) from None
        same = remote_file_matches(engine, rpath, engine.entry(name) or {}, size, sha256, local)
        if same:
            return up_to_date(result)
        raise _conflict(artifact, version, url, same, sync) from None
    finally:
        callback.close()
        engine.changed()
    return result


def remote_file_matches(
    engine: Engine, rpath: str, entry: dict[str, Any], size: int, sha256: str, local: Path
) -> bool | None:
    """Whether the remote file holds the same bytes; None when the store cannot tell."""
    remote_size = entry_size(entry)
    if remote_size is not None and remote_size != size:
        return False
    recorded = engine.ops.recorded_sha256(rpath, entry)
    if recorded:
        return recorded == sha256
    native = engine.ops.native_checksum(entry)
    if native:
        algorithm, value = native
        return hash_file(local, [algorithm])[algorithm] == value.lower()
    return None


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


def local_manifest(
    engine: Engine, artifact: Artifact, version: str | None, local: Path
) -> Manifest:
    """The manifest of a local folder, hashing through the engine's cache."""
    return _manifest_of(artifact, version, _folder_digests(engine, local, ("sha256",)))


def _folder_digests(
    engine: Engine, local: Path, algorithms: Iterable[str]
) -> dict[str, FileDigests]:
    """{relative path: digests} of the files below ``local``, each file read at most once."""
    return {
        rel: engine.hashes.digests(local / rel, algorithms) for rel in sorted(_walk_files(local))
    }


def _manifest_of(
    artifact: Artifact, version: str | None, digests: dict[str, FileDigests]
) -> Manifest:
    return Manifest(
        artifact.name,
        version,
        tuple(ManifestEntry(rel, d.stat.st_size, d["sha256"]) for rel, d in digests.items()),
    )


def _push_folder(
    engine: Engine,
    artifact: Artifact,
    version: semver.Version | None,
    local: Path,
    prefix: str,
    force: bool,
    sync: bool,
    dry_run: bool,
) -> Result:
    store, ops = engine.store, engine.ops
    name = naming.folder_name(artifact, version, prefix)
    rpath, url = store.path(name), store.url(name) + "/"
    manifest_path = store.path(naming.manifest_name(name))
    # Every digest the store wants for the upload, in the one read that builds the manifest.
    digests = _folder_digests(engine, local, ops.upload_digests)
    manifest = _manifest_of(artifact, version_text(version), digests)
    if not manifest.files:
        raise NotFoundError(
            f"{artifact.name}: the folder {artifact.file} holds no files; nothing to push."
        )
    result = Result(
        artifact.name, "pushed", version_text(version), url, str(local),
        manifest.size, manifest.digest,
    )  # fmt: skip
    entry = engine.entry(naming.manifest_name(name))
    folder_entry = engine.entry(name)
    if entry is not None:
        same = sync and Manifest.from_bytes(ops.read_bytes(manifest_path), url).same_content(
            manifest
        )
        if same:
            return up_to_date(result)
        if not force:
            raise _conflict(artifact, version, url, False, sync)
    if folder_entry is not None and folder_entry.get("type") != "directory":
        raise ConflictError(
            f"{artifact.name}: {url} is a file on the store and {artifact.file} is a folder; "
            "push it as another version, or remove that file first."
        )
    if dry_run:
        return planned(result, "would replace" if entry else "would upload")
    try:
        if entry is not None:
            # Manifest first: the old version stops being visible before it is torn down.
            ops.remove(manifest_path)
        if folder_entry is not None:
            ops.remove(rpath, recursive=True)  # an unfinished earlier push, or replaced
        ops.upload_folder([(str(local / rel), rel, d) for rel, d in digests.items()], rpath)
        ops.write_bytes(manifest_path, manifest.to_bytes(), exclusive=not force)
    except FileExistsError:
        # Another push of this version got there first.
        engine.changed()
        try:
            remote = Manifest.from_bytes(ops.read_bytes(manifest_path), url)
        except FileNotFoundError:
            raise ConflictError(
                f"{artifact.name}: another push of {url} is under way (or was interrupted); "
                f"run this push again once it is done, or push with {option('force')}."
            ) from None
        if sync and remote.same_content(manifest):
            return up_to_date(result)
        raise _conflict(artifact, version, url, False, sync) from None
    finally:
        engine.changed()
    return result


def _walk_files(folder: Path) -> Iterable[str]:
    """Relative POSIX paths of the regular files below ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in filenames:
            full = Path(dirpath) / filename
            if full.is_file():
                yield full.relative_to(folder).as_posix()
