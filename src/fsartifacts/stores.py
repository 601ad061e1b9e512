"""From the repository configuration to a store: an fsspec filesystem and a root path.

S3 and Artifactory are opened by their own modules, imported only when the
configuration names them, so that a command on a folder store never loads
s3fs, botocore or requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config, TransferSettings
from .errors import ConfigError
from .storeops import StoreOps, ops_for

if TYPE_CHECKING:
    from fsspec.spec import AbstractFileSystem

    from .auth import Credentials


@dataclass
class Store:
    """A place artifacts live: ``root`` on ``fs``, with the ops that know it."""

    fs: AbstractFileSystem
    root: str  # a path of ``fs``, stripped of protocol and trailing slash ("" is the top)
    ops: StoreOps
    display: str  # how to name the root to a user: a URL without credentials

    def path(self, name: str) -> str:
        return f"{self.root}/{name}" if self.root else name

    def url(self, name: str) -> str:
        return f"{self.display.rstrip('/')}/{name}"


def open_store(config: Config, credentials: Credentials | None = None) -> Store:
    """The store the configuration names."""
    repo = config.repository
    if repo.kind == "s3":
        from .s3 import open_s3_store

        return open_s3_store(repo.s3 or {}, config.transfer)
    if repo.kind == "artifactory":
        from .artifactory_store import open_artifactory_store

        return open_artifactory_store(repo.artifactory or {}, credentials, config.transfer)
    return open_url_store(repo.url or "", repo.options, config.root, config.transfer)


def open_url_store(
    url: str, options: dict[str, Any], project_root: Path, transfer: TransferSettings
) -> Store:
    """Any fsspec URL; a relative local path (``file://./x``, ``./x``) is from the project root."""
    import fsspec
    import fsspec.core

    local = _relative_local_path(url)
    if local is not None:
        target = (project_root / local).resolve()
        url = target.as_uri()
    try:
        if "url" in options:
            # url_to_fs's own first parameter is named `url`, so a storage option of
            # that name (the Artifactory base URL) must go to the class directly.
            protocol = fsspec.core.split_protocol(url)[0] or "file"
            cls = fsspec.get_filesystem_class(protocol)
            fs = cls(**{**cls._get_kwargs_from_urls(url), **options})
            root = cls._strip_protocol(url)
        else:
            fs, root = fsspec.core.url_to_fs(url, **options)
    except (ValueError, ImportError, TypeError) as exc:
        raise ConfigError(
            f"repository.url: cannot open {url!r}: {exc}. "
            "Give a local folder or an fsspec URL whose package is installed."
        ) from exc
    root = root.rstrip("/")
    return Store(fs=fs, root=root, ops=ops_for(fs, transfer), display=_display(url))


def _relative_local_path(url: str) -> str | None:
    if url.startswith("file://"):
        rest = url[len("file://") :]
        return None if rest.startswith("/") else rest
    if "://" in url or "::" in url:
        return None
    return None if Path(url).is_absolute() else url


def _display(url: str) -> str:
    """The URL without any user:password part."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path}".rstrip("/")
