"""Push: upload one artifact's file or folder as a version, never overwriting by surprise."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semver

from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming
from fsartifacts.engine.claims import Claim, claim_path
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.pushsource import artifact_source, folder_digests, unchanged_while_uploading
from fsartifacts.engine.results import Result, entry_size, planned, up_to_date, version_text
from fsartifacts.errors import ConflictError, NotFoundError, option
from fsartifacts.hashing import FileDigests, hash_file

if TYPE_CHECKING:
    from fsartifacts.engine.runner import Engine

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
    local, is_folder = artifact_source(artifact, engine.root)
    pinned = None if artifact.singular else version
    if is_folder:
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
    # Every digest the store wants with the upload, in one read of the file.
    hashed = engine.hashes.digests(local, ops.upload_digests)
    size, sha256 = hashed.stat.st_size, hashed["sha256"]
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
        with unchanged_while_uploading(artifact, [(local, hashed)], lambda: ops.remove(rpath)):
            ops.upload(
                str(local), rpath, sha256=sha256, digests=hashed, exclusive=not force,
                callback=callback,
            )  # fmt: skip
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
    digests = folder_digests(engine.hashes, artifact, local, ("sha256",))
    return _manifest_of(artifact, version, digests)


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
    digests = folder_digests(engine.hashes, artifact, local, ops.upload_digests)
    manifest = _manifest_of(artifact, version_text(version), digests)
    if not manifest.files:
        raise NotFoundError(
            f"{artifact.name}: the folder {artifact.file} holds no files; nothing to push."
        )
    result = Result(
        artifact.name, "pushed", version_text(version), url, str(local),
        manifest.size, manifest.digest,
    )  # fmt: skip

    def published() -> Result | None:
        return _existing_version(
            engine, artifact, version, manifest_path, manifest, result, force, sync
        )

    entry = engine.entry(naming.manifest_name(name))
    folder_entry = engine.entry(name)
    if entry is not None:
        existing = published()
        if existing is not None:
            return existing
    if folder_entry is not None and folder_entry.get("type") != "directory":
        raise ConflictError(
            f"{artifact.name}: {url} is a file on the store and {artifact.file} is a folder; "
            "push it as another version, or remove that file first."
        )
    if dry_run:
        return planned(result, "would replace" if entry else "would upload")
    # Nothing under name_vX/ is touched before this push holds the version: another
    # push may be writing there.
    with engine.claimed(artifact.name, rpath, url) as claim:
        try:
            engine.changed()  # what the claim's holder sees, not what the first listing said
            if engine.entry(naming.manifest_name(name)) is not None:
                existing = published()
                if existing is not None:
                    return existing
                # Manifest first: the old version stops being visible before it is torn down.
                ops.remove(manifest_path)
            if engine.entry(name) is not None:
                ops.remove(rpath, recursive=True)  # left by an abandoned push, or replaced
            hashed = [(local / rel, d) for rel, d in digests.items()]
            with unchanged_while_uploading(
                artifact, hashed, lambda: ops.remove(rpath, recursive=True), partial=True
            ):
                ops.upload_folder([(str(local / rel), rel, d) for rel, d in digests.items()], rpath)
            _check_still_held(engine, artifact, rpath, url, claim)
            ops.write_bytes(manifest_path, manifest.to_bytes(), exclusive=not force)
        except FileExistsError:
            # A push that takes no claim (an older fsartifacts) got there first.
            engine.changed()
            existing = published()
            if existing is not None:
                return existing
            raise
        finally:
            engine.changed()
    return result


def _existing_version(
    engine: Engine,
    artifact: Artifact,
    version: semver.Version | None,
    manifest_path: str,
    manifest: Manifest,
    result: Result,
    force: bool,
    sync: bool,
) -> Result | None:
    """What a published copy of the version means: up to date (sync push with the same
    content), a conflict, or None to go on and replace it (``force``)."""
    url = result.remote or manifest_path
    if sync:
        try:
            remote = Manifest.from_bytes(engine.ops.read_bytes(manifest_path), url)
        except FileNotFoundError:
            return None  # removed since it was listed
        if remote.same_content(manifest):
            return up_to_date(result)
    if not force:
        raise _conflict(artifact, version, url, False, sync)
    return None


def _check_still_held(
    engine: Engine, artifact: Artifact, rpath: str, url: str, claim: Claim
) -> None:
    """Before publishing: the claim must still be ours (an election can be lost late)."""
    holder = engine.ops.holder(claim_path(rpath))
    if holder is None or holder.claim is None or holder.claim.token != claim.token:
        raise ConflictError(
            f"{artifact.name}: another push took {url} while this one was uploading "
            f"({holder.describe() if holder else 'its claim was removed'}); nothing was "
            "published. Run this push again once the other is done."
        )
