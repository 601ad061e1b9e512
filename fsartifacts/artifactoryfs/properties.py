"""Artifactory item properties as fsspec extended attributes of ``artifactory://``.

A property is a key with one or more string values, on a file or a folder. They
are read with ``GET /api/storage/<path>?properties`` and changed with one
``PATCH /api/metadata/<path>`` whose JSON body sets and removes keys together, so
values need no escaping (``,`` ``;`` ``=`` and ``\\`` are plain characters there)
and a folder's change stays on the folder unless ``recursive`` asks otherwise.

Values come back as a ``str`` when a key has one value, a ``list`` of ``str``
when it has several: what was set is what is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fsspec.spec import AbstractFileSystem

from fsartifacts.artifactoryfs.client import ArtifactoryClient
from fsartifacts.artifactoryfs.errors import (
    ArtifactoryError,
    error_from_response,
    json_body,
    server_message,
)

PropertyValue = str | list[str]

# Characters Artifactory refuses in a property key.
FORBIDDEN_KEY_CHARS = frozenset(")(}{][*+^$\\/~`!@#%&<>;=,±§ ")
NO_PROPERTIES = "no properties could be found"


def check_key(key: str) -> None:
    """A ValueError naming the key and the characters it may not hold."""
    bad = sorted(set(key) & FORBIDDEN_KEY_CHARS)
    if not key or bad:
        what = "an empty key" if not key else f"key {key!r} holds {''.join(bad)!r}"
        raise ValueError(
            f"invalid Artifactory property {what}: keys may not be empty nor contain "
            "spaces or any of )(}{][*+^$\\/~`!@#%&<>;=,±§; rename the property"
        )


def read_properties(client: ArtifactoryClient, path: str) -> dict[str, PropertyValue]:
    """Every property of ``path`` (``{}`` when it has none); FileNotFoundError if missing."""
    if not path:
        raise ValueError("properties belong to a repository, folder or file: name one")
    action = f"read properties of {path}"
    response = client.send("GET", client.storage_url(path) + "?properties", action)
    with response:
        if response.status_code == 404 and NO_PROPERTIES in server_message(response).lower():
            return {}
        if response.status_code != 200:
            raise error_from_response(response, action)
        body = json_body(response, action)
    raw = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        raise ArtifactoryError(f"{action}: the server's answer has no properties object")
    return {str(key): _shown(values) for key, values in sorted(raw.items())}


def write_properties(
    client: ArtifactoryClient,
    path: str,
    changes: Mapping[str, str | Sequence[str] | None],
    *,
    recursive: bool,
) -> None:
    """Set (a value or a list of values) or remove (None) properties in one request."""
    if not path:
        raise ValueError("properties belong to a repository, folder or file: name one")
    props: dict[str, list[str] | None] = {}
    for key, value in changes.items():
        check_key(key)
        props[key] = None if value is None else _as_list(key, value)
    if not props:
        return
    query = f"?recursiveProperties={int(recursive)}&atomicProperties=1"
    url = client.api_url("metadata", path) + query
    client.call(
        "PATCH", url, f"set properties of {path}", ok=(200, 204), json={"props": props}
    ).close()


def _as_list(key: str, value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    values = list(value)
    if not values or not all(isinstance(v, str) for v in values):
        raise ValueError(
            f"property {key!r}: give a string or a non-empty list of strings "
            f"(None removes it), not {value!r}"
        )
    return values


def _shown(values: Any) -> PropertyValue:
    if isinstance(values, list):
        strings = [str(v) for v in values]
        return strings[0] if len(strings) == 1 else strings
    return str(values)


class PropertyOperations(AbstractFileSystem):
    """A mixin of the filesystem: item properties as extended attributes, and ``sign``."""

    client: ArtifactoryClient

    def listxattrs(self, path: str) -> dict[str, str | list[str]]:
        """Every Artifactory property of ``path`` (a file, folder or repository).

        A key with one value maps to a ``str``, one with several to a ``list``.
        """
        return read_properties(self.client, self._strip_protocol(path))

    def getxattr(self, path: str, attr_name: str) -> str | list[str] | None:
        """The Artifactory property ``attr_name`` of ``path``; None when it is not set."""
        return self.listxattrs(path).get(attr_name)

    def setxattrs(
        self, path: str, recursive: bool = False, **attrs: str | list[str] | None
    ) -> None:
        """Set properties (a str, or a list of str for several values); None removes one.

        One request changes them all. On a folder the change stays on the folder
        unless ``recursive=True`` (then everything below it changes too).
        Keys that are not Python names go as ``**{"build.number": "7"}``.
        """
        write_properties(self.client, self._strip_protocol(path), attrs, recursive=recursive)

    setxattr = setxattrs  # s3fs's name for it

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """Not possible on Artifactory: NotImplementedError saying what to do instead."""
        raise NotImplementedError(
            f"cannot sign {path}: Artifactory has no pre-signed or token-carrying download "
            "URL for a file in a repository, so any client that GETs it needs its own "
            "credentials; give it a read-only access token, or allow anonymous reads on "
            "the repository"
        )
