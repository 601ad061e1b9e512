"""What is known about one remote version: size, sha256, files, provenance, aliases."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fsartifacts.config.model import Artifact
from fsartifacts.engine import provenance
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.results import version_text

if TYPE_CHECKING:
    from fsartifacts.engine.runner import Engine

log = logging.getLogger("fsartifacts")


@dataclass
class VersionInfo:
    """One version of an artifact as ``fsartifacts info`` shows it."""

    artifact: str
    version: str | None
    kind: str
    remote: str
    size: int | None
    sha256: str | None
    provenance: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    files: list[ManifestEntry] | None = None  # a folder's

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "artifact": self.artifact,
            "version": self.version,
            "kind": self.kind,
            "remote": self.remote,
            "size": self.size,
            "sha256": self.sha256,
            "aliases": self.aliases,
            "provenance": self.provenance,
        }
        if self.files is not None:
            doc["files"] = [
                {"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files
            ]
        return doc


def describe(engine: Engine, artifact: Artifact, copy: RemoteCopy, prefix: str = "") -> VersionInfo:
    """Everything the store says about ``copy``: reads its manifest (a folder) or its
    recorded sha256 and provenance object (a file), and the artifact's aliases."""
    info = VersionInfo(
        artifact.name,
        version_text(copy.version),
        copy.kind,
        engine.store.url(copy.display_name),
        copy.size,
        None,
    )
    if copy.kind == "folder":
        manifest = Manifest.from_bytes(engine.ops.read_bytes(copy.manifest_path), info.remote)
        info.size, info.sha256 = manifest.size, manifest.digest
        info.files, info.provenance = list(manifest.files), manifest.provenance
    else:
        info.sha256 = engine.ops.recorded_sha256(copy.path, copy.entry)
        info.provenance = file_provenance(engine, copy)
    info.aliases = [
        a.name for a in engine.aliases.list(artifact, prefix) if a.version == copy.version
    ]
    return info


def file_provenance(engine: Engine, copy: RemoteCopy) -> dict[str, Any]:
    """The provenance object beside a file version; {} when it has none."""
    try:
        data = engine.ops.read_bytes(engine.store.path(provenance.object_name(copy.name)))
    except FileNotFoundError:
        return {}
    return provenance.from_bytes(data)


def version_notes(
    engine: Engine, artifact: Artifact, copies: list[RemoteCopy], prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """For ``list``: each copy's commit (and whether its tree was dirty) and the aliases
    pointing at it, by remote name. The commit is the one its listing note carries, so
    that a listing of many versions reads nothing per version (``info`` reads the
    provenance itself); what cannot be read is left out, never fatal."""
    if artifact.singular or not copies:
        return {}
    try:
        aliases = engine.aliases.list(artifact, prefix)
    except Exception:  # only shown: an unreadable alias leaves the column empty
        log.debug("%s: no aliases for the listing", artifact.name, exc_info=True)
        aliases = []
    return {
        copy.name: {
            "commit": copy.note.commit if copy.note else None,
            "dirty": copy.note.dirty if copy.note and copy.note.commit else None,
            "aliases": [a.name for a in aliases if a.version == copy.version],
        }
        for copy in copies
    }
