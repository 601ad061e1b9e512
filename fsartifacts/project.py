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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semver

from fsartifacts.config.load import load_config
from fsartifacts.config.model import Artifact, Config
from fsartifacts.errors import ConfigError
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.projectqueries import (
    ALL,
    RemoteQueries,
    Requested,
    default_request,
    parse_request,
)
from fsartifacts.projectremovals import RemoteRemovals
from fsartifacts.projecttransfers import Transfers
from fsartifacts.versioning import artifact_version, resolve_project_version
from fsartifacts.versionspec import VersionSpec

if TYPE_CHECKING:
    # The engine and the stores bring fsspec; `validate` and `--help` need neither.
    from fsartifacts.engine.runner import Engine
    from fsartifacts.redaction import HoldsSecret
    from fsartifacts.stores.store import Store


class Project(Transfers, RemoteQueries, RemoteRemovals):
    """A loaded configuration, its project version, and (lazily) its store.

    Its pushes and pulls are :class:`~fsartifacts.projecttransfers.Transfers`'; what it
    asks of the store without changing it (versions, copies, a folder's files), and its
    aliases, are :class:`~fsartifacts.projectqueries.RemoteQueries`'; its deletions (rm,
    prune, gc) :class:`~fsartifacts.projectremovals.RemoteRemovals`'.
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
            from fsartifacts.collector import loading

            with loading():  # the engine's modules and fsspec, kept for the process's life
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

    # -- credentials ------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with this run's secret (in every form it travels in) replaced by ***."""
        if self.credentials is None or self.credentials.anonymous:
            return text
        from fsartifacts.redaction import redact, secret_forms

        return redact(text, secret_forms(self.credentials))
