"""Aliases: names such as ``prod`` that point at one version of an artifact.

An alias is one small JSON object beside the artifact's versions,
``.{prefix}{artifact}.fsartifacts-alias.{name}.json``, holding the version, the
artifact's sha256 (a folder's: its manifest's tree digest) and the history of
every move. Its name is hidden and never matches a version's pattern, so no
listing (ours, or skelebot's ``name_vX`` prefix and substring matches) takes it
for a version. Removing an alias keeps its object, with no version, so the
history survives.

Every move is a conditional replacement of that object
(:meth:`~fsartifacts.stores.base.StoreOps.write_if`): of two moves racing from
the same state, one wins and the other fails, naming the alias; neither
overwrites the other silently.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import semver

from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming, provenance
from fsartifacts.engine.index import RemoteIndex
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.errors import ConfigError, ConflictError, IntegrityError, NotFoundError
from fsartifacts.escaping import has_control_characters
from fsartifacts.hashing import HashingWriter
from fsartifacts.stores.conditional import ChangedMeanwhile
from fsartifacts.stores.entries import strip_slash
from fsartifacts.stores.store import Store
from fsartifacts.versionspec import VersionSpec
from fsartifacts.versionspec import validate_alias_name as validate_name

log = logging.getLogger("fsartifacts")

FORMAT = "fsartifacts-alias/1"
MARKER = ".fsartifacts-alias."
SUFFIX = ".json"
_SHA256 = re.compile(r"[0-9a-f]{64}", re.ASCII)
HISTORY_KEPT = 1000  # moves kept in the object; older ones are dropped first


def object_name(stem: str, name: str) -> str:
    """The basename of the alias object of ``name`` for the artifact stem ``prefix+artifact``."""
    return f".{stem}{MARKER}{name}{SUFFIX}"


def is_alias_object(basename: str) -> bool:
    """Whether ``basename`` is named like an alias object (of any artifact)."""
    head, marker, tail = basename.rpartition(MARKER)
    return bool(marker) and head.startswith(".") and tail.endswith(SUFFIX)


@dataclass(frozen=True)
class Move:
    """One change of an alias: from which version to which, by whom, when."""

    old: str | None
    new: str | None
    by: str
    host: str
    at: str  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new, "by": self.by, "host": self.host, "at": self.at}


@dataclass(frozen=True)
class Alias:
    """What an alias object says; ``version`` None once the alias was removed."""

    artifact: str
    name: str
    version: semver.Version | None
    sha256: str | None
    remote: str | None  # the copy's name on the store when it was set
    history: tuple[Move, ...] = field(default=())

    def to_dict(self, *, history: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "artifact": self.artifact,
            "alias": self.name,
            "version": str(self.version) if self.version else None,
            "sha256": self.sha256,
            "remote": self.remote,
        }
        if history:
            doc["history"] = [m.to_dict() for m in self.history]
        return doc

    def to_bytes(self) -> bytes:
        doc = {"format": FORMAT, **self.to_dict(history=True)}
        return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, artifact: str, name: str, where: str) -> Alias:
        """The alias in ``data``, which must name ``artifact`` and ``name`` itself: an object
        copied under another alias's name cannot stand in for it."""
        try:
            doc: Any = json.loads(data)
            if doc.get("format") != FORMAT:
                raise ValueError(f"unknown format {str(doc.get('format'))[:40]!r}")
            if doc.get("artifact") != artifact or doc.get("alias") != name:
                raise ValueError("it names another artifact or alias than its object name")
            version = semver.Version.parse(doc["version"]) if doc.get("version") else None
            sha256 = str(doc["sha256"]).lower() if doc.get("sha256") else None
            if version is not None and (sha256 is None or not _SHA256.fullmatch(sha256)):
                raise ValueError("no valid sha256")
            remote = doc.get("remote")
            if remote is not None and (not isinstance(remote, str) or "/" in remote):
                raise ValueError("a malformed remote name")
            history = tuple(
                Move(
                    _version_text(m.get("from")),
                    _version_text(m.get("to")),
                    _text(m.get("by")),
                    _text(m.get("host")),
                    _text(m.get("at")),
                )
                for m in doc.get("history", [])
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(
                f"{where}: the alias object is unreadable ({exc}); fsartifacts never writes "
                f"such an object. Remove it from the store, then set the alias again.",
                transient=False,
            ) from exc
        return cls(artifact, name, version, sha256, remote, history)


def _text(value: Any) -> str:
    """A field of a move as the store holds it, as short printable text ("?" when none)."""
    return (provenance.short_text(str(value)) if value is not None else "") or "?"


def _version_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(semver.Version.parse(str(value)))


class Aliases:
    """The aliases of a store, found through its remote index."""

    def __init__(self, store: Store, index: RemoteIndex) -> None:
        self.store = store
        self.index = index

    def find(
        self,
        artifact: Artifact,
        requested: VersionSpec | str,
        base: semver.Version,
        *,
        prefix: str = "",
        pre: bool = False,
    ) -> RemoteCopy:
        """The copy ``requested`` (exact, LATEST, a range or @alias) means now."""
        spec = requested if isinstance(requested, VersionSpec) else VersionSpec.parse(requested)
        if not artifact.singular and spec.kind == "alias":
            alias = self.require(artifact, spec.alias or "", prefix)
            return self.copy_of(artifact, alias, base, prefix)
        return self.index.find(artifact, spec, base, prefix=prefix, pre=pre)

    def copy_of(
        self, artifact: Artifact, alias: Alias, base: semver.Version, prefix: str = ""
    ) -> RemoteCopy:
        """The copy ``alias`` points at; NotFoundError naming the alias when it is gone."""
        try:
            return self.index.find(artifact, str(alias.version), base, prefix=prefix, pre=True)
        except NotFoundError as exc:
            raise NotFoundError(
                f"{artifact.name}: @{alias.name} points at {alias.version}, which is gone "
                f"from {self.store.display}; point it at a version that is there "
                f"(`fsartifacts alias set {artifact.name} VERSION {alias.name}`)."
            ) from exc

    def path(self, artifact: Artifact, name: str, prefix: str = "") -> str:
        return self.store.path(object_name(f"{prefix}{artifact.name}", name))

    def url(self, artifact: Artifact, name: str, prefix: str = "") -> str:
        return self.store.url(object_name(f"{prefix}{artifact.name}", name))

    def _read(self, artifact: Artifact, name: str, prefix: str) -> tuple[Alias | None, str | None]:
        """The alias (set or removed) and the revision it was read at; (None, None) if absent."""
        found = self.store.ops.read_revision(self.path(artifact, name, prefix))
        if found is None:
            return None, None
        data, revision = found
        return Alias.from_bytes(data, artifact.name, name, self.url(artifact, name, prefix)), (
            revision
        )

    def get(self, artifact: Artifact, name: str, prefix: str = "") -> Alias | None:
        """The alias ``name`` of ``artifact`` while it is set, else None."""
        alias, _ = self._read(artifact, validate_name(name), prefix)
        return alias if alias is not None and alias.version is not None else None

    def require(self, artifact: Artifact, name: str, prefix: str = "") -> Alias:
        """The alias ``name`` of ``artifact``; NotFoundError naming the ones there are."""
        found = self.get(artifact, name, prefix)
        if found is None:
            there = ", ".join(f"@{a.name}" for a in self.list(artifact, prefix)) or "none"
            raise NotFoundError(
                f"{artifact.name}: no alias @{name} at {self.store.display}. Aliases there: "
                f"{there}. Set one with `fsartifacts alias set {artifact.name} VERSION {name}`."
            )
        return found

    def list(self, artifact: Artifact, prefix: str = "", *, removed: bool = False) -> list[Alias]:
        """The aliases of ``artifact`` (with ``removed``, those removed too), by name."""
        stem = naming.stem(artifact, prefix)
        names = []
        for entry in self.index.starting_with(f".{stem}{MARKER}"):
            base = strip_slash(entry["name"]).rpartition("/")[2]
            if entry.get("type") == "directory" or has_control_characters(base):
                continue
            head, marker, tail = base.rpartition(MARKER)
            name = tail.removesuffix(SUFFIX)
            if marker and head == f".{stem}" and tail.endswith(SUFFIX) and _valid(name):
                names.append(name)
        found = []
        for name in sorted(names):
            alias, _ = self._read(artifact, name, prefix)
            if alias is not None and (removed or alias.version is not None):
                found.append(alias)
        return found

    def pointing_at(
        self, artifact: Artifact, version: semver.Version | None, prefix: str = ""
    ) -> tuple[str, ...]:
        """The names of the aliases of ``artifact`` that point at ``version`` now."""
        if version is None:
            return ()
        return tuple(a.name for a in self.list(artifact, prefix) if a.version == version)

    def set(
        self,
        artifact: Artifact,
        copy: RemoteCopy,
        name: str,
        *,
        prefix: str = "",
        expect: str | None = None,
    ) -> tuple[Alias, Move]:
        """Point ``name`` at ``copy``; ``expect`` (a version, or "none") refuses unless the
        alias points there now."""
        if copy.version is None:
            raise ConfigError(f"{artifact.name} is singular (it has no versions): no aliases")
        return self._move(artifact, name, prefix, copy, expect)

    def remove(self, artifact: Artifact, name: str, *, prefix: str = "") -> tuple[Alias, Move]:
        """Unset ``name``; its object stays, with its history and no version."""
        return self._move(artifact, name, prefix, None, None)

    def _move(
        self,
        artifact: Artifact,
        name: str,
        prefix: str,
        copy: RemoteCopy | None,
        expect: str | None,
    ) -> tuple[Alias, Move]:
        validate_name(name)
        url = self.url(artifact, name, prefix)
        ops = self.store.ops
        if not ops.atomic_replace:
            log.info(
                "%s: this store has no conditional write, so a move of the alias is guarded "
                "by an election among claim objects (a claimer wins only alone), not atomically",
                url,
            )
        current, revision = self._read(artifact, name, prefix)
        old = current.version if current is not None else None
        if expect is not None and str(old or "none") != expect:
            raise ConflictError(
                f"{artifact.name}: alias @{name} points at {old or 'nothing'} now, not at "
                f"{expect}; nothing was changed. See `fsartifacts alias list {artifact.name}`."
            )
        if copy is None and old is None:
            raise NotFoundError(f"{artifact.name}: no alias @{name} at {self.store.display}")
        move = Move(
            str(old) if old else None,
            str(copy.version) if copy is not None else None,
            provenance.user(),
            provenance.host(),
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        history = (current.history if current else ()) + (move,)
        new = Alias(
            artifact.name,
            name,
            copy.version if copy is not None else None,
            self.sha256_of(copy) if copy is not None else None,
            copy.display_name.rstrip("/") if copy is not None else None,
            history[-HISTORY_KEPT:],
        )
        try:
            ops.write_if(self.path(artifact, name, prefix), new.to_bytes(), revision)
        except ChangedMeanwhile as exc:
            raise ConflictError(
                f"{artifact.name}: alias @{name} was not moved: {exc}. Nothing was changed by "
                f"this move; see `fsartifacts alias list {artifact.name} --history` and set it "
                "again if you still mean to."
            ) from exc
        finally:
            self.index.invalidate()
        return new, move

    def sha256_of(self, copy: RemoteCopy) -> str:
        """The sha256 a pull of ``copy`` is checked against: a file's recorded one (else its
        bytes, read once), a folder's manifest tree digest."""
        ops = self.store.ops
        if copy.kind == "folder":
            where = self.store.url(copy.display_name)
            return Manifest.from_bytes(ops.read_bytes(copy.manifest_path), where).digest
        recorded = ops.recorded_sha256(copy.path, copy.entry)
        if recorded:
            return recorded
        writer = HashingWriter(_Discard(), limit=copy.size, what=copy.path)
        ops.download(copy.path, writer)
        return writer.digests()["sha256"]


class _Discard:
    """A sink that keeps nothing: only the hashes of what passes count."""

    def write(self, data: bytes, /) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _valid(name: str) -> bool:
    try:
        validate_name(name)
    except ConfigError:
        return False
    return True
