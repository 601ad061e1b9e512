"""From the repository configuration to a store: an fsspec filesystem and a root path.

Each kind of store is opened by its own modules, imported only when the
configuration names it, so that a command on a folder store never loads
s3fs, botocore or requests, and the configuration can ask a store's rules of
this package without loading fsspec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fsartifacts.collector import loading

if TYPE_CHECKING:
    from fsartifacts.config.model import Config, TransferSettings
    from fsartifacts.redaction import HoldsSecret
    from fsartifacts.stores.store import Store


def open_store(
    config: Config,
    credentials: HoldsSecret | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    user: str | None = None,
    token: str | None = None,
    token_stdin: bool = False,
) -> Store:
    """The store the configuration names.

    A store that authenticates its requests uses ``credentials`` when given, else
    finds its own from the command line's ``user``, ``token`` and ``token_stdin``,
    ``environ`` and its other sources; the store keeps them as ``store.credentials``.
    """
    repo = config.repository
    if repo.s3 is not None:
        with loading():
            from fsartifacts.stores.s3.ops import open_s3_store

        return open_s3_store(repo.s3, config.transfer)
    if repo.artifactory is not None:
        with loading():
            from fsartifacts.stores.artifactory.store import open_authenticated_store

        return open_authenticated_store(
            repo.artifactory, config.transfer, credentials, environ=environ, user=user,
            token=token, token_stdin=token_stdin,
        )  # fmt: skip
    with loading():
        from fsartifacts.stores.url import open_url_store

    return open_url_store(repo.url or "", repo.options, config.root, config.transfer)


def check_store(config: Config) -> None:
    """What can be checked of the configured store without the network (for ``validate``)."""
    repo = config.repository
    if repo.kind == "url":
        from fsartifacts.stores.url import check_url_store

        check_url_store(repo.url or "", repo.options)


def check_transfer(kind: str, transfer: TransferSettings, origin: Mapping[str, str]) -> None:
    """Refuse transfer settings the store of ``kind`` cannot work with, as a ConfigError
    naming the setting's ``origin`` (its key, variable or option)."""
    if kind == "s3":
        from fsartifacts.stores.s3.settings import check_part_size

        check_part_size(transfer.part_size, origin)
