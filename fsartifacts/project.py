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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semver

from fsartifacts.config.load import load_config
from fsartifacts.config.model import Artifact, Config
from fsartifacts.engine import naming
from fsartifacts.engine.lockfile import InstallLog, LockEntry, LockFile
from fsartifacts.engine.options import PullOptions, PushOptions
from fsartifacts.engine.results import Result, Results, not_installed
from fsartifacts.engine.selection import Selection
from fsartifacts.errors import ConfigError, NotFoundError, option
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.projectqueries import (
    ALL,
    RemoteQueries,
    Requested,
    default_request,
    parse_request,
    requested_version,
)
from fsartifacts.projectremovals import RemoteRemovals
from fsartifacts.versioning import artifact_version, resolve_project_version
from fsartifacts.versionspec import VersionSpec

if TYPE_CHECKING:
    # The engine and the stores bring fsspec; `validate` and `--help` need neither.
    from fsartifacts.engine.runner import Engine
    from fsartifacts.redaction import HoldsSecret
    from fsartifacts.stores.store import Store


class Project(RemoteQueries, RemoteRemovals):
    """A loaded configuration, its project version, and (lazily) its store.

    What it asks of the store without changing it (versions, copies, a folder's files),
    and its aliases, are
    :class:`~fsartifacts.projectqueries.RemoteQueries`'; its deletions (rm, prune,
    gc) :class:`~fsartifacts.projectremovals.RemoteRemovals`'.
    """

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
            from fsartifacts.hashcache import HashCache, default_cache_path

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
        resume: bool = True,
    ) -> Results:
        """Upload artifacts as their version; a version already on the store fails
        (whatever its content) unless ``force``. ``check`` raises the first failure's error.
        Each version records its provenance (git commit, user, host, CI run...) and
        ``message``. ``resume`` (the default) continues an upload an interrupted run left
        unfinished; False starts it over."""
        return self._push(
            which, force=force, prefix=prefix, dry_run=dry_run, check=check, sync=False,
            message=message, resume=resume,
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
        resume: bool = True,
    ) -> Results:
        from fsartifacts.engine import provenance

        prefix = naming.validate_prefix(prefix)
        artifacts = self.artifacts(which)  # an unknown name fails before git is asked
        record = {} if dry_run else provenance.collect(
            self.root, message=message, environ=self._environ
        )  # fmt: skip
        options = PushOptions(
            prefix=prefix,
            force=force,
            sync=sync,
            dry_run=dry_run,
            resume=resume,
            provenance=record,
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
        resume: bool = True,
    ) -> Results:
        """Download artifacts and record what was asked and what it resolved to in
        ``fsartifacts.lock``.

        ``version`` is exact, LATEST, a range (``^1.4``) or an alias; None asks each
        artifact for its configured range, else LATEST. ``locked`` installs exactly what
        the lock file says instead of resolving, all or nothing; ``skip_current`` (sync
        pull) leaves destinations that already match alone; ``check`` raises the first
        failure's error. ``include``/``exclude`` (gitignore-style patterns) take part of
        one folder artifact, and are recorded in the lock file for ``locked`` pulls.
        ``resume`` (the default) continues a download an interrupted run left unfinished;
        False starts it over.
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

        installs = InstallLog()  # what was installed, even if the run is interrupted

        def reported(result: Result) -> None:  # a copy up to date is recorded too
            if result.lock is not None and result.action != "planned":
                installs.record(result.artifact, result.lock)

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
                        resume=resume,
                        installs=installs,
                    ),
                ),
                artifacts,
                done,
                version_of=lambda a: requested_version(
                    a, specs[a.name], lock.entry(a.name) if locked else None
                ),
            )

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
                results = pull_all(dry_run, reported)
        finally:
            # In ``finally``: after an interrupt (Ctrl-C) the lock file still records
            # every artifact installed before it, and nothing is installed after.
            installed = installs.close()
            engine.hashes.save()
            if not dry_run:
                self._record(lock, installed)
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

    def _record(self, lock: LockFile, entries: dict[str, LockEntry]) -> None:
        if entries:
            lock.store = self.store.display
            for artifact, entry in entries.items():
                lock.record(artifact, entry)
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
        resume: bool = True,
    ) -> Results:
        """Push that is safe to repeat: an identical copy already there is up to date;
        a different one fails unless ``force``."""
        return self._push(
            which, force=force, prefix=prefix, dry_run=dry_run, check=check, sync=True,
            message=message, resume=resume,
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
        resume: bool = True,
    ) -> Results:
        """Pull that skips every artifact whose local copy already matches."""
        return self.pull(
            which, version, override=override, prefix=prefix, pre=pre, dry_run=dry_run,
            locked=locked, skip_current=True, check=check, include=include, exclude=exclude,
            resume=resume,
        )  # fmt: skip

    # -- credentials ------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with this run's secret (in every form it travels in) replaced by ***."""
        if self.credentials is None or self.credentials.anonymous:
            return text
        from fsartifacts.redaction import redact, secret_forms

        return redact(text, secret_forms(self.credentials))
