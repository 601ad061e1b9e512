"""``repository.artifactory`` of the configuration to a store.

The layout is skelebot's: ``{url}/{repo}/{path}/{name}_v{version}{ext}``, so
the store's root is ``{repo}`` or ``{repo}/{path}`` on an
:class:`~fsartifacts.artifactoryfs.filesystem.ArtifactoryFileSystem`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import ConfigError
from fsartifacts.stores.base import Store, ops_for

if TYPE_CHECKING:
    from fsartifacts.stores.artifactory.auth import Credentials


def open_artifactory_store(
    cfg: dict[str, Any], credentials: Credentials | None, transfer: TransferSettings
) -> Store:
    """A store on the Artifactory server ``cfg`` names, with ``credentials`` (None: anonymous).

    The filesystem is never taken from fsspec's instance cache, so a run never
    reuses one built with other (stale) credentials.
    """
    from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem

    url = _required(cfg, "url")
    repo = _required(cfg, "repo").strip("/")
    if "/" in repo:
        raise ConfigError(
            f"repository.artifactory.repo: {repo!r} is a repository key, without '/'; "
            "put the folder inside it in repository.artifactory.path"
        )
    path = "/".join(part for part in str(cfg.get("path") or "").split("/") if part)
    root = f"{repo}/{path}" if path else repo
    verify = cfg.get("verify")
    options: dict[str, Any] = {
        "url": url,
        "verify": True if verify is None else verify,
        "cert": cfg.get("cert"),
        "timeout": transfer.timeout,
        "attempts": transfer.attempts,
        "skip_instance_cache": True,
        **_auth_options(credentials),
    }
    try:
        fs = ArtifactoryFileSystem(**options)
    except ValueError as exc:
        raise ConfigError(f"repository.artifactory: {exc}") from None
    return Store(fs=fs, root=root, ops=ops_for(fs, transfer), display=f"{fs.url}/{root}")


def _required(cfg: dict[str, Any], key: str) -> str:
    value = cfg.get(key)
    if not isinstance(value, str) or not value.strip("/ "):
        raise ConfigError(f"repository.artifactory.{key}: required (a non-empty string)")
    return value.strip()


def _auth_options(credentials: Credentials | None) -> dict[str, Any]:
    """Storage options for the credentials: user_pass is Basic, token Bearer, api_key a header."""
    if credentials is None or credentials.auth_type == "none" or not credentials.secret:
        return {"anon": True}
    if credentials.auth_type == "user_pass":
        if not credentials.user:
            raise ConfigError(
                f"Artifactory user_pass credentials from {credentials.source} have no user name"
            )
        return {"user": credentials.user, "password": credentials.secret}
    if credentials.auth_type == "token":
        return {"token": credentials.secret}
    return {"api_key": credentials.secret}
