"""``fsartifacts://``: a project's artifacts, by version, for every fsspec reader.

``fsartifacts://model@^1.4`` is the file artifact ``model`` at the highest
version matching ``^1.4``; ``fsartifacts://features@prod/part-0003.parquet`` a
file inside the folder artifact ``features`` at the version its alias ``prod``
points at; ``fsartifacts://model`` asks for the artifact's default (its
configured range, else LATEST). The project's configuration is found as the CLI
finds it (from the working directory) or given as the storage option
``config=``; the store is the one it names, and the bytes are read through that
store's own filesystem (s3fs, ``artifactory://``, a local folder...).

Each ``ARTIFACT@VERSION`` is resolved once per filesystem instance and then
fixed: :meth:`VersionedFileSystem.resolved` says to what. A pickled instance
carries those resolutions, so every worker of a Dask job reads the same version
even after a newer one is pushed. Instances are not shared between calls of
``fsspec.filesystem``: a new one resolves anew. Read-only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fsspec import AbstractFileSystem

from fsartifacts.errors import ConfigError, NotFoundError
from fsartifacts.versionspec import ALIAS_MARK, validate_alias_name

if TYPE_CHECKING:
    from fsartifacts.project import Project
    from fsartifacts.stores.store import Store

PROTOCOL = "fsartifacts"
READ_ONLY = (
    "fsartifacts:// is read-only: {what} {path} is refused. Push a new version with "
    "`fsartifacts push` (or Project.push) instead."
)


@dataclass(frozen=True)
class Pinned:
    """What one ``ARTIFACT@VERSION`` resolved to: travels in pickles as plain data."""

    version: str | None  # None for a singular artifact
    name: str  # the copy's name on the store, relative to its root
    kind: str  # "file" or "folder"


class VersionedFileSystem(AbstractFileSystem):
    """Read a project's artifacts by ``ARTIFACT@VERSION`` (exact, LATEST, range, alias)."""

    protocol = PROTOCOL
    root_marker = ""
    # Each fsspec.filesystem() call resolves anew; an instance (and its pickles) stays fixed.
    cachable = False

    def __init__(
        self,
        config: str | None = None,
        *,
        env: str | None = None,
        project_version: str | None = None,
        prefix: str = "",
        pre: bool = False,
        user: str | None = None,
        token: str | None = None,
        pinned: dict[str, tuple[str | None, str, str]] | None = None,
        **storage_options: Any,
    ) -> None:
        from fsartifacts.project import Project

        super().__init__(**storage_options)
        self.project: Project = Project.load(
            config, env=env, project_version=project_version, user=user, token=token
        )
        self.prefix, self.pre = prefix, pre
        self._pinned = {key: Pinned(*value) for key, value in (pinned or {}).items()}
        self._lock = threading.Lock()
        # What a pickle carries: the config found here (absolute), not the cwd of a worker.
        self._options = {
            "config": str(self.project.config.path), "env": env,
            "project_version": project_version, "prefix": prefix, "pre": pre,
            "user": user, "token": token, **storage_options,
        }  # fmt: skip

    def __reduce__(self) -> Any:
        pinned = {key: (p.version, p.name, p.kind) for key, p in self._pinned.items()}
        return _rebuild, (type(self), {**self._options, "pinned": pinned})

    # -- resolving ---------------------------------------------------------------

    def resolved(self, path: str) -> str | None:
        """The version ``ARTIFACT@VERSION`` (a path or URL starting so) reads, fixed for the
        life of this instance (None for a singular artifact)."""
        return self._pin(self._split(path)[0]).version

    def _split(self, path: str) -> tuple[str, str]:
        """(``ARTIFACT@VERSION``, the path inside a folder artifact)."""
        stripped = self._strip_protocol(path).strip("/")
        key, _, inner = stripped.partition("/")
        if not key:
            raise FileNotFoundError(
                f"{path!r}: name an artifact, as fsartifacts://ARTIFACT@VERSION[/PATH]"
            )
        parts = [p for p in inner.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise FileNotFoundError(f"{path!r}: '.' and '..' name nothing inside an artifact")
        return key, "/".join(parts)

    def _pin(self, key: str) -> Pinned:
        with self._lock:
            pinned = self._pinned.get(key)
            if pinned is None:
                name, _, wanted = key.partition(ALIAS_MARK)
                try:
                    copy = self.project.find(
                        name, request_text(wanted), prefix=self.prefix, pre=self.pre
                    )
                except NotFoundError as exc:  # what fsspec's readers expect of a missing path
                    raise FileNotFoundError(f"fsartifacts://{key}: {exc}") from exc
                pinned = Pinned(
                    None if copy.version is None else str(copy.version), copy.name, copy.kind
                )
                self._pinned[key] = pinned
            return pinned

    @property
    def store(self) -> Store:
        return self.project.store

    def _target(self, path: str) -> tuple[str, str, str]:
        """(the path on the store's filesystem, the key's path there, the key) for ``path``."""
        key, inner = self._split(path)
        pinned = self._pin(key)
        base = self.store.path(pinned.name)
        if inner and pinned.kind != "folder":
            raise FileNotFoundError(f"{key} is a file artifact: it holds no {inner!r}")
        return (f"{base}/{inner}" if inner else base), base, key

    def _ours(self, entry: dict[str, Any], base: str, key: str) -> dict[str, Any]:
        """A store entry renamed into this filesystem's namespace."""
        name = entry["name"].rstrip("/")
        inner = name[len(base) :].lstrip("/") if name.startswith(base) else name
        return {**entry, "name": f"{key}/{inner}" if inner else key}

    # -- reading -----------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        target, base, key = self._target(path)
        entries = [
            self._ours(e, base, key) for e in self.store.fs.ls(target, detail=True, **kwargs)
        ]
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        target, base, key = self._target(path)
        return self._ours(self.store.fs.info(target, **kwargs), base, key)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" not in mode or "+" in mode:
            raise PermissionError(READ_ONLY.format(what=f"opening with mode {mode!r}", path=path))
        target, _, _ = self._target(path)
        kwargs.pop("autocommit", None)
        return self.store.fs.open(target, mode="rb", **kwargs)

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        target, _, _ = self._target(path)
        return bytes(self.store.fs.cat_file(target, start=start, end=end, **kwargs))

    # -- writing: refused ---------------------------------------------------------

    def _refuse(self, what: str, path: Any) -> None:
        raise PermissionError(READ_ONLY.format(what=what, path=path))

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        self._refuse("removing", path)

    def rm_file(self, path: str) -> None:
        self._refuse("removing", path)

    def _rm(self, path: str) -> None:
        self._refuse("removing", path)

    def rmdir(self, path: str) -> None:
        self._refuse("removing", path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self._refuse("creating", path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self._refuse("creating", path)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        self._refuse("copying to", path2)

    def mv(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        self._refuse("moving", path1)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        self._refuse("writing", path)

    def put_file(self, lpath: str, rpath: str, **kwargs: Any) -> None:
        self._refuse("writing", rpath)

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        self._refuse("writing", path)


def request_text(wanted: str) -> str | None:
    """What ``ARTIFACT@WANTED`` asks for: ``model@prod`` names the alias prod (as does
    ``model@@prod``), ``model@^1.4`` a range, ``model@1.4.0`` a version, ``model`` the
    artifact's default. A word that may name an alias is one, except ``x`` (npm: any)."""
    if not wanted or wanted.startswith(ALIAS_MARK) or wanted in ("x", "X"):
        return wanted or None
    try:
        validate_alias_name(wanted)
    except ConfigError:
        return wanted
    return ALIAS_MARK + wanted


def _rebuild(cls: type[VersionedFileSystem], options: dict[str, Any]) -> VersionedFileSystem:
    return cls(**options)
