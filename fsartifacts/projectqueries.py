"""What a :class:`~fsartifacts.project.Project` asks of its store without pushing or
pulling: the versions and copies there, what a version means now (and what a version
argument asks for), one copy's details, a folder version's files, a remote file opened
for reading, and the artifacts' aliases.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from fsartifacts.engine import naming
from fsartifacts.engine.manifest import Manifest
from fsartifacts.errors import ConfigError
from fsartifacts.versioning import parse_version
from fsartifacts.versionspec import VersionSpec

if TYPE_CHECKING:
    from pathlib import Path

    import semver

    from fsartifacts.config.model import Artifact, Config
    from fsartifacts.engine.aliases import Alias, Move
    from fsartifacts.engine.info import VersionInfo
    from fsartifacts.engine.lockfile import LockEntry
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.engine.runner import Engine
    from fsartifacts.stores.store import Store

ALL = "ALL"

# What a version argument may be: the user's text, a parsed request, or None for each
# artifact's own default (its `version:` range or alias from the config, else LATEST).
Requested = str | VersionSpec | None


def parse_request(requested: Requested) -> VersionSpec | None:
    """``requested`` parsed once, before any artifact is looked at (exit 2 when malformed)."""
    if requested is None or isinstance(requested, VersionSpec):
        return requested
    return VersionSpec.parse(requested)


def default_request(artifact: Artifact) -> VersionSpec:
    """What a pull of ``artifact`` asks for when no version is given: its ``version:`` from
    the config when that is a range or an alias, else LATEST (judged against its pin)."""
    if artifact.version is None:
        return VersionSpec.latest()
    spec = VersionSpec.parse(artifact.version, source=f"artifact {artifact.name!r}: version")
    return VersionSpec.latest() if spec.kind == "exact" else spec


def requested_version(
    artifact: Artifact, requested: VersionSpec, locked: LockEntry | None
) -> str | None:
    """The version a pull of ``artifact`` asks for, when known before it resolves."""
    if locked is not None:
        return locked.version
    if artifact.singular or requested.version is None:
        return None
    return str(requested.version)


class ProjectParts:
    """What :class:`~fsartifacts.project.Project` provides to the parts of its API kept
    in other modules: the configuration, the store, the engine and the artifacts."""

    if TYPE_CHECKING:
        config: Config
        _environ: dict[str, str]

        @property
        def root(self) -> Path: ...

        @property
        def store(self) -> Store: ...

        @property
        def engine(self) -> Engine: ...

        def artifacts(self, which: str = ALL) -> list[Artifact]: ...

        def artifact_version(self, artifact: Artifact) -> semver.Version: ...

        def request(self, artifact: Artifact, requested: Requested = None) -> VersionSpec: ...

        def _sweep(self, which: str, prefix: str, started: float) -> None: ...


class RemoteQueries(ProjectParts):
    """The read-only questions and the alias moves of a project."""

    def versions(self, name: str, *, prefix: str = "") -> list[semver.Version]:
        """The remote versions of one artifact, newest first (empty for singular ones)."""
        (artifact,) = self.artifacts(name)
        copies = self.engine.index.copies(artifact, naming.validate_prefix(prefix))
        return [c.version for c in copies if c.version is not None]

    def copies(self, name: str, *, prefix: str = "") -> list[RemoteCopy]:
        """The remote copies of one artifact with their names, sizes and dates, newest
        first, all from one listing: a folder's size is the one its push noted there, None
        for a folder pushed before fsartifacts noted it (:meth:`files` reads it)."""
        (artifact,) = self.artifacts(name)
        return self.engine.index.copies(artifact, naming.validate_prefix(prefix))

    def files(
        self, name: str, version: Requested = None, *, prefix: str = "", pre: bool = False
    ) -> tuple[RemoteCopy, Manifest]:
        """A remote folder version and its manifest: every file with its size and sha256."""
        copy = self.find(name, version, prefix=prefix, pre=pre)
        if copy.kind != "folder":
            raise ConfigError(
                f"{name}: {self.store.url(copy.display_name)} is a file, not a folder: "
                "`fsartifacts list` shows its size."
            )
        return copy, Manifest.from_bytes(
            self.engine.ops.read_bytes(copy.manifest_path), self.store.url(copy.display_name)
        )

    def resolve(
        self, name: str, version: Requested = None, *, prefix: str = "", pre: bool = False
    ) -> semver.Version | None:
        """The version ``version`` (exact, LATEST, a range, an alias; None: the artifact's
        default) means now; None for singular artifacts."""
        return self.find(name, version, prefix=prefix, pre=pre).version

    def find(
        self, name: str, version: Requested = None, *, prefix: str = "", pre: bool = False
    ) -> RemoteCopy:
        """The remote copy ``version`` means now (see :meth:`resolve`)."""
        (artifact,) = self.artifacts(name)
        return self.engine.find(
            artifact,
            self.request(artifact, version),
            self.artifact_version(artifact),
            prefix=naming.validate_prefix(prefix),
            pre=pre,
        )

    def open(
        self, name: str, version: Requested = None, *, prefix: str = "", pre: bool = False
    ) -> IO[bytes]:
        """A binary file object reading a remote file artifact, without writing to disk."""
        copy = self.find(name, version, prefix=prefix, pre=pre)
        if copy.kind != "file":
            raise ConfigError(
                f"{name}: {copy.name} is a folder artifact; pull it instead of opening it."
            )
        return self.store.ops.open_read(copy.path)

    def info(
        self, name: str, version: Requested = None, *, prefix: str = "", pre: bool = False
    ) -> VersionInfo:
        """One remote version (exact, LATEST, a range or @alias; by default what a pull
        asks for): size, sha256, a folder's files, its provenance and its aliases."""
        from fsartifacts.engine.info import describe

        artifact = self._one(name, "info")
        copy = self.find(artifact.name, version, prefix=prefix, pre=pre)
        return describe(self.engine, artifact, copy, naming.validate_prefix(prefix))

    def version_notes(self, name: str, *, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Per remote copy of one artifact (by remote name): its commit, as its listing note
        says, and its aliases."""
        from fsartifacts.engine.info import version_notes

        (artifact,) = self.artifacts(name)
        prefix = naming.validate_prefix(prefix)
        copies = self.engine.index.copies(artifact, prefix)
        return version_notes(self.engine, artifact, copies, prefix)

    # -- aliases ----------------------------------------------------------------

    def alias_set(
        self,
        name: str,
        version: str,
        alias: str,
        *,
        prefix: str = "",
        expect: str | None = None,
    ) -> tuple[Alias, Move]:
        """Point ``alias`` (prod, staging...) of one artifact at ``version`` (exact, LATEST
        or another alias); ``expect``: only if it points at that version now ("none": unset).
        """
        from fsartifacts.engine.aliases import validate_name

        artifact = self._one(name, "alias set")
        validate_name(alias)
        if expect is not None and expect != "none":
            expect = str(parse_version(expect, source="--from"))
        copy = self.find(artifact.name, version, prefix=prefix, pre=False)
        return self.engine.aliases.set(
            artifact, copy, alias, prefix=naming.validate_prefix(prefix), expect=expect
        )

    def alias_rm(self, name: str, alias: str, *, prefix: str = "") -> tuple[Alias, Move]:
        """Unset ``alias`` of one artifact (its history stays on the store)."""
        from fsartifacts.engine.aliases import validate_name

        artifact = self._one(name, "alias rm")
        validate_name(alias)
        return self.engine.aliases.remove(artifact, alias, prefix=naming.validate_prefix(prefix))

    def aliases(self, which: str = ALL, *, prefix: str = "", removed: bool = False) -> list[Alias]:
        """The aliases of the artifacts ``which`` names (with ``removed``, unset ones too)."""
        prefix = naming.validate_prefix(prefix)
        found: list[Alias] = []
        for artifact in self.artifacts(which):
            found += self.engine.aliases.list(artifact, prefix, removed=removed)
        return found

    def _one(self, name: str, command: str) -> Artifact:
        if name.upper() == ALL and self.config.repository.artifact(name) is None:
            raise ConfigError(f"{command} takes one artifact, not ALL")
        (artifact,) = self.artifacts(name)
        return artifact
