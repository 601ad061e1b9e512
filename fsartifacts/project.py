"""The public Python API: a project, its artifacts and its store.

```python
from fsartifacts import Project
project = Project.load()
results = project.pull("ALL", "LATEST")
```

The CLI is a thin layer over this class.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import semver

from fsartifacts.config.load import load_config
from fsartifacts.config.model import Artifact, Config
from fsartifacts.engine import naming
from fsartifacts.engine.lockfile import LockEntry, LockFile
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.options import PullOptions, PushOptions
from fsartifacts.engine.results import Result, Results, not_installed
from fsartifacts.engine.selection import Selection
from fsartifacts.errors import ConfigError, ConflictError, NotFoundError, option
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.versioning import artifact_version, parse_version, resolve_project_version
from fsartifacts.versionspec import VersionSpec

if TYPE_CHECKING:
    # The engine and the stores bring fsspec; `validate` and `--help` need neither.
    from fsartifacts.engine.aliases import Alias, Move
    from fsartifacts.engine.info import VersionInfo
    from fsartifacts.engine.naming import RemoteCopy
    from fsartifacts.engine.runner import Engine
    from fsartifacts.redaction import HoldsSecret
    from fsartifacts.stores.base import Store

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


class Project:
    """A loaded configuration, its project version, and (lazily) its store."""

    def __init__(
        self,
        config: Config,
        version: semver.Version,
        *,
        credentials: HoldsSecret | None = None,
        store: Store | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.version = version
        self.credentials = credentials
        self._store = store
        self._engine: Engine | None = None
        self._environ = dict(os.environ if environ is None else environ)
        self._credential_options: dict[str, Any] = {}
        self.version_source = "given"
        self.progress: ProgressFactory = no_progress

    @classmethod
    def load(
        cls,
        config: str | os.PathLike[str] | None = None,
        *,
        env: str | None = None,
        project_version: str | None = None,
        jobs: int | None = None,
        start: str | os.PathLike[str] | None = None,
        user: str | None = None,
        token: str | None = None,
        token_stdin: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> Project:
        """Find and load the configuration and the project version as the CLI does."""
        environ = dict(os.environ if environ is None else environ)
        loaded = load_config(
            explicit=str(config) if config is not None else None,
            start=Path(start) if start is not None else Path.cwd(),
            env_name=env,
            environ=environ,
            jobs=jobs,
        )
        version, source = resolve_project_version(
            loaded, cli_version=project_version, environ=environ
        )
        project = cls(loaded, version, environ=environ)
        project.version_source = source
        project._credential_options = {"user": user, "token": token, "token_stdin": token_stdin}
        return project

    # -- pieces -----------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def store(self) -> Store:
        if self._store is None:
            from fsartifacts.stores import open_store

            given = self.credentials
            store = open_store(
                self.config, given, environ=self._environ, **self._credential_options
            )
            if store.credentials is not None and store.credentials is not given:
                # Found by the store itself: a secret this run must keep out of every log.
                self.credentials = store.credentials
                if not store.credentials.anonymous:
                    from fsartifacts.redaction import install_secret_filter

                    install_secret_filter(store.credentials)
            self._store = store
        return self._store

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from fsartifacts.engine.runner import Engine
            from fsartifacts.hashing import HashCache, default_cache_path

            self._engine = Engine(
                self.store,
                self.root,
                transfer=self.config.transfer,
                hash_cache=HashCache(default_cache_path(self._environ)),
                auth_error=self.store.auth_error,
                progress=self.progress,
            )
        return self._engine

    def artifacts(self, which: str = ALL) -> list[Artifact]:
        """The artifacts ``which`` names: one by name, or every one for ALL (in any case,
        like LATEST: no artifact may be named so)."""
        configured = list(self.config.repository.artifacts)
        if which.upper() == ALL and self.config.repository.artifact(which) is None:
            return configured
        found = self.config.repository.artifact(which)
        if found is None:
            names = ", ".join(a.name for a in configured) or "none"
            # A usage error (exit 2): the command line names something the config lacks.
            raise ConfigError(
                f"no artifact named {which!r} in {self.config.path}; configured: {names} (or ALL)."
            )
        return [found]

    def artifact_version(self, artifact: Artifact) -> semver.Version:
        """The version an artifact is pushed as and resolved against (its pin wins)."""
        return artifact_version(artifact, self.version)

    def request(self, artifact: Artifact, requested: Requested = None) -> VersionSpec:
        """What is asked of ``artifact``: ``requested``, else the artifact's default."""
        return parse_request(requested) or default_request(artifact)

    # -- operations -------------------------------------------------------------

    def push(
        self,
        which: str = ALL,
        *,
        force: bool = False,
        prefix: str = "",
        dry_run: bool = False,
        check: bool = False,
        message: str | None = None,
    ) -> Results:
        """Upload artifacts as their version; a version already on the store fails
        (whatever its content) unless ``force``. ``check`` raises the first failure's error.
        Each version records its provenance (git commit, user, host, CI run...) and
        ``message``."""
        return self._push(
            which, force=force, prefix=prefix, dry_run=dry_run, check=check, sync=False,
            message=message,
        )  # fmt: skip

    def _push(
        self,
        which: str,
        *,
        force: bool,
        prefix: str,
        dry_run: bool,
        check: bool,
        sync: bool,
        message: str | None = None,
    ) -> Results:
        from fsartifacts.engine import provenance

        prefix = naming.validate_prefix(prefix)
        artifacts = self.artifacts(which)  # an unknown name fails before git is asked
        record = {} if dry_run else provenance.collect(
            self.root, message=message, environ=self._environ
        )  # fmt: skip
        options = PushOptions(
            prefix=prefix, force=force, sync=sync, dry_run=dry_run, provenance=record
        )
        engine = self.engine
        try:
            results = engine.run(
                lambda a: engine.push(a, self.artifact_version(a), options),
                artifacts,
                version_of=lambda a: None if a.singular else str(self.artifact_version(a)),
            )
        finally:
            engine.hashes.save()
        if results.ok and not dry_run:
            self._sweep(which, prefix)
        return results.raise_for_status() if check else results

    def pull(
        self,
        which: str = ALL,
        version: Requested = None,
        *,
        override: bool = False,
        prefix: str = "",
        pre: bool = False,
        dry_run: bool = False,
        locked: bool = False,
        skip_current: bool = False,
        check: bool = False,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> Results:
        """Download artifacts and record what was asked and what it resolved to in
        ``fsartifacts.lock``.

        ``version`` is exact, LATEST, a range (``^1.4``) or an alias; None asks each
        artifact for its configured range, else LATEST. ``locked`` installs exactly what
        the lock file says instead of resolving, all or nothing; ``skip_current`` (sync
        pull) leaves destinations that already match alone; ``check`` raises the first
        failure's error. ``include``/``exclude`` (gitignore-style patterns) take part of
        one folder artifact, and are recorded in the lock file for ``locked`` pulls.
        """
        prefix = naming.validate_prefix(prefix)
        asked = parse_request(version)
        engine = self.engine
        lock = LockFile.read(self.root)
        artifacts = self.artifacts(which)
        selection = self._selection(which, artifacts, include, exclude, locked)
        specs = {a.name: asked or default_request(a) for a in artifacts}
        if locked:
            unlocked = [a.name for a in artifacts if lock.entry(a.name) is None]
            if unlocked:
                raise NotFoundError(
                    f"{', '.join(unlocked)}: not in {lock.path}; pull without "
                    f"{option('locked')} first to record what to lock."
                )
        if not dry_run:
            lock.check_writable()

        def pull_all(dry: bool, done: Callable[[Result], None] | None = None) -> Results:
            return engine.run(
                lambda a: engine.pull(
                    a,
                    specs[a.name],
                    self.artifact_version(a),
                    PullOptions(
                        prefix=prefix,
                        override=override,
                        pre=pre,
                        dry_run=dry,
                        locked=lock.entry(a.name) if locked else None,
                        skip_current=skip_current,
                        selection=selection,
                    ),
                ),
                artifacts,
                done,
                version_of=lambda a: requested_version(
                    a, specs[a.name], lock.entry(a.name) if locked else None
                ),
            )

        finished: list[Result] = []  # what was installed, even if the run is interrupted
        try:
            results = None
            if locked and not dry_run and len(artifacts) > 1:
                # A dry run checks every locked copy against the lock (presence, recorded
                # sha256, folder manifest) before anything is installed: all or nothing.
                checked = pull_all(True)
                if not checked.ok:
                    results = Results(
                        r if r.action == "failed" else not_installed(r) for r in checked
                    )
            if results is None:
                results = pull_all(dry_run, finished.append)
        finally:
            engine.hashes.save()
            if not dry_run:
                # In ``finally``: after an interrupt (Ctrl-C) the lock file still
                # records the artifacts that were installed before it.
                self._record(lock, list(finished))
        return results.raise_for_status() if check else results

    def _selection(
        self,
        which: str,
        artifacts: list[Artifact],
        include: Sequence[str],
        exclude: Sequence[str],
        locked: bool,
    ) -> Selection:
        """The files of one folder artifact a pull takes (all of them without patterns)."""
        selection = Selection.of(include, exclude)
        if not selection.partial:
            return selection
        if locked:
            raise ConfigError(
                f"{selection.describe()} cannot go with {option('locked')}: a locked pull takes "
                "the files fsartifacts.lock recorded. Pull without one of them."
            )
        if len(artifacts) != 1 or artifacts[0].name != which:
            raise ConfigError(
                f"{selection.describe()} takes files of one folder artifact: name it instead "
                f"of {which}."
            )
        return selection

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

    def _record(self, lock: LockFile, results: list[Result]) -> None:
        recorded = [r for r in results if r.lock is not None and r.action != "planned"]
        if recorded:
            lock.store = self.store.display
            for r in recorded:
                assert r.lock is not None
                lock.record(r.artifact, r.lock)
            lock.write()

    def sync_push(
        self,
        which: str = ALL,
        *,
        force: bool = False,
        prefix: str = "",
        dry_run: bool = False,
        check: bool = False,
        message: str | None = None,
    ) -> Results:
        """Push that is safe to repeat: an identical copy already there is up to date;
        a different one fails unless ``force``."""
        return self._push(
            which, force=force, prefix=prefix, dry_run=dry_run, check=check, sync=True,
            message=message,
        )  # fmt: skip

    def sync_pull(
        self,
        which: str = ALL,
        version: Requested = None,
        *,
        override: bool = False,
        prefix: str = "",
        pre: bool = False,
        dry_run: bool = False,
        locked: bool = False,
        check: bool = False,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> Results:
        """Pull that skips every artifact whose local copy already matches."""
        return self.pull(
            which, version, override=override, prefix=prefix, pre=pre, dry_run=dry_run,
            locked=locked, skip_current=True, check=check, include=include, exclude=exclude,
        )  # fmt: skip

    def rm(self, name: str, version: str, *, prefix: str = "", dry_run: bool = False) -> Results:
        """Delete one remote version of one artifact (exact version; singular: its copy)."""
        (artifact,) = self.artifacts(name)
        engine = self.engine
        spec = VersionSpec.parse(version)
        if not artifact.singular and spec.kind != "exact":
            raise ConfigError(
                f"rm takes an exact version, not {spec}: name the version to delete "
                f"(`fsartifacts list {artifact.name}` shows them)."
            )
        copy = engine.find(
            artifact, spec, self.artifact_version(artifact),
            prefix=naming.validate_prefix(prefix), pre=True,
        )  # fmt: skip
        pointing = engine.aliases.pointing_at(
            artifact, copy.version, naming.validate_prefix(prefix)
        )
        if pointing:
            names = ", ".join(f"@{a}" for a in pointing)
            raise ConflictError(
                f"{artifact.name} {copy.version}: {names} points at it, so it is not deleted. "
                f"Move the alias first (`fsartifacts alias set {artifact.name} VERSION "
                f"{pointing[0]}`) or remove it (`fsartifacts alias rm {artifact.name} "
                f"{pointing[0]}`)."
            )
        # Through run(), as every transfer: a store error becomes a failed result (and
        # its typed error), not an exception past the CLI.
        results = engine.run(
            lambda c: engine.remove(c, dry_run=dry_run), engine.with_folder_sizes([copy])
        )
        if results.ok and not dry_run:
            self._sweep(name, prefix)
        return results

    def prune_plan(self, which: str = ALL, *, keep: int, prefix: str = "") -> list[RemoteCopy]:
        """What ``prune --keep`` would delete: all but the newest ``keep`` of each major."""
        if keep < 1:
            raise ConfigError(f"keep={keep}: keep at least 1 version of each major.")
        prefix = naming.validate_prefix(prefix)
        return self.engine.with_folder_sizes(
            [
                copy
                for artifact in self.artifacts(which)
                for copy in self.engine.prune_plan(artifact, keep, prefix)
            ]
        )

    def prune(
        self, which: str = ALL, *, keep: int, prefix: str = "", dry_run: bool = False
    ) -> Results:
        """Delete all but the newest ``keep`` versions of each major, per artifact."""
        engine = self.engine
        doomed = self.prune_plan(which, keep=keep, prefix=prefix)
        results = engine.run(lambda copy: engine.remove(copy, dry_run=dry_run), doomed)
        if results.ok and not dry_run:
            self._sweep(which, prefix)
        return results

    def gc(
        self,
        which: str = ALL,
        *,
        prefix: str = "",
        older_than: timedelta | None = None,
        dry_run: bool = False,
    ) -> Results:
        """List, and unless ``dry_run`` remove, what interrupted pushes left on the store
        (claims, temporaries, unfinished folders, multipart uploads) idle for ``older_than``
        (default: an hour)."""
        from fsartifacts.engine import leftovers
        from fsartifacts.engine.claims import ABANDONED_AFTER

        return leftovers.collect(
            self.store, self.artifacts(which), translate=self.engine.translate,
            prefix=naming.validate_prefix(prefix),
            older_than=ABANDONED_AFTER if older_than is None else older_than, dry_run=dry_run,
        )  # fmt: skip

    def _sweep(self, which: str, prefix: str) -> None:
        """After a push, prune or rm that went well: remove the leftovers that are provably
        abandoned. (After a failure the store may be unwell: no more requests.)"""
        from fsartifacts.engine import leftovers

        leftovers.sweep(self.store, self.artifacts(which), prefix=naming.validate_prefix(prefix))

    def versions(self, name: str, *, prefix: str = "") -> list[semver.Version]:
        """The remote versions of one artifact, newest first (empty for singular ones)."""
        (artifact,) = self.artifacts(name)
        copies = self.engine.index.copies(artifact, naming.validate_prefix(prefix))
        return [c.version for c in copies if c.version is not None]

    def copies(self, name: str, *, prefix: str = "") -> list[RemoteCopy]:
        """The remote copies of one artifact with their names, sizes (a folder's from its
        manifest) and dates, newest first."""
        (artifact,) = self.artifacts(name)
        return self.engine.with_folder_sizes(
            self.engine.index.copies(artifact, naming.validate_prefix(prefix))
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
        """Per remote copy of one artifact (by remote name): its commit and its aliases."""
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

    # -- credentials ------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with this run's secret (in every form it travels in) replaced by ***."""
        if self.credentials is None or self.credentials.anonymous:
            return text
        from fsartifacts.redaction import redact, secret_forms

        return redact(text, secret_forms(self.credentials))
