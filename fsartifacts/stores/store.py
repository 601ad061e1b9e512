"""A store: an fsspec filesystem, a root path on it, and the :class:`StoreOps` that
knows it best, picked from the filesystem's protocol by :func:`ops_for`, which imports
a store's ops only when it is used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from fsspec.spec import AbstractFileSystem

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import AuthError
from fsartifacts.redaction import HoldsSecret
from fsartifacts.stores.base import StoreOps


@dataclass
class Store:
    """A place artifacts live: ``root`` on ``fs``, with the ops that know it."""

    fs: AbstractFileSystem
    root: str  # a path of ``fs``, stripped of protocol and trailing slash ("" is the top)
    ops: StoreOps
    display: str  # how to name the root to a user: a URL without credentials
    credentials: HoldsSecret | None = None  # what its requests authenticate with, if anything

    def auth_error(self, exc: PermissionError) -> AuthError:
        """What the store refusing access (``exc``) means to the user; stores that know
        their credentials and their server's answers say more."""
        return AuthError(f"the store refused access: {exc}")

    def path(self, name: str) -> str:
        return f"{self.root}/{name}" if self.root else name

    def url(self, name: str) -> str:
        return f"{self.display.rstrip('/')}/{name}"


# protocol -> "module:Class", imported on first use so that s3fs and requests
# load only for the stores that need them.
_OPS_BY_PROTOCOL: dict[str, str] = {
    "file": "fsartifacts.stores.local:LocalOps",
    "local": "fsartifacts.stores.local:LocalOps",
    "s3": "fsartifacts.stores.s3.ops:S3Ops",
    "s3a": "fsartifacts.stores.s3.ops:S3Ops",
    "artifactory": "fsartifacts.stores.artifactory.ops:ArtifactoryOps",
}


def ops_for(fs: AbstractFileSystem, transfer: TransferSettings | None = None) -> StoreOps:
    """The StoreOps that knows ``fs`` best; the generic one for unknown stores."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    for protocol in protocols:
        target = _OPS_BY_PROTOCOL.get(protocol)
        if target:
            module_name, _, class_name = target.partition(":")
            cls: type[StoreOps] = getattr(importlib.import_module(module_name), class_name)
            return cls(fs, transfer)
    return StoreOps(fs, transfer)
