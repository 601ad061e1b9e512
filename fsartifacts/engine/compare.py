"""Whether local content is the same as a remote copy: what a sync push and a sync
pull ask before moving anything."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsartifacts.config.model import Artifact
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.pushsource import folder_digests
from fsartifacts.engine.selection import EVERY_FILE, Selection
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import FileDigests, hash_file
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.entries import entry_size


def remote_file_matches(
    ops: StoreOps, rpath: str, entry: dict[str, Any], size: int, sha256: str, local: Path
) -> bool | None:
    """Whether the remote file holds the same bytes as ``local``; None when the store
    cannot tell."""
    remote_size = entry_size(entry)
    if remote_size is not None and remote_size != size:
        return False
    recorded = ops.recorded_sha256(rpath, entry)
    if recorded:
        return recorded == sha256
    native = ops.native_checksum(entry)
    if native:
        algorithm, value = native
        return hash_file(local, [algorithm])[algorithm] == value.lower()
    return None


def manifest_of(
    artifact: Artifact, version: str | None, digests: Mapping[str, FileDigests]
) -> Manifest:
    """The manifest of a folder whose files hashed to ``digests`` (by relative path)."""
    return Manifest(
        artifact.name,
        version,
        tuple(ManifestEntry(rel, d.size, d["sha256"]) for rel, d in digests.items()),
    )


def local_manifest(
    hashes: HashCache,
    artifact: Artifact,
    version: str | None,
    local: Path,
    selection: Selection = EVERY_FILE,
) -> Manifest:
    """The manifest of a local folder (of the files ``selection`` takes), hashing through
    the cache."""
    wanted = selection.wants if selection.partial else None
    digests = folder_digests(hashes, artifact, local, ("sha256",), wanted)
    return manifest_of(artifact, version, digests)
