"""Any fsspec URL as a store (``repository.url`` and ``repository.options``).

A relative local path is taken from the project root; the options are checked
against what the URL's filesystem class takes, since fsspec would pass unknown
ones on silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsartifacts.config.model import TransferSettings, store_notes
from fsartifacts.config.values import local_path_of
from fsartifacts.errors import ConfigError, TransferError

if TYPE_CHECKING:
    from fsspec.spec import AbstractFileSystem

    from fsartifacts.stores.store import Store

log = logging.getLogger("fsartifacts")


def check_url_store(url: str, options: Mapping[str, Any]) -> None:
    """Refuse a URL whose protocol fsspec does not know, and options its filesystem
    does not take (fsspec would pass them on silently, and nothing would use them)."""
    if not options and local_path_of(url) is not None:
        return  # a local folder: fsspec's own file:// (and fsspec not loaded for validate)
    import fsspec.core

    if "::" in url:
        return  # a chain: the options go to its parts as fsspec decides
    protocol = fsspec.core.split_protocol(url)[0] or "file"
    if not options:
        # Nothing to check against the class: find its package without importing it
        # (s3fs and aiobotocore cost half a second, and validate sends no request).
        check_protocol_installed(protocol, url)
        return
    cls = filesystem_class(protocol, url)
    accepted = accepted_options(cls)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        raise ConfigError(
            f"repository.options.{unknown[0]}: {protocol}:// ({cls.__name__}) takes no such "
            f"option; it takes {', '.join(sorted(accepted or ()))}"
        )


def check_protocol_installed(protocol: str, url: str) -> None:
    """The ConfigError of :func:`filesystem_class` for ``protocol``, read from fsspec's
    registry and the installed packages, importing none of them."""
    import importlib.util

    from fsspec.registry import known_implementations, registry

    if protocol in registry:
        return
    known = known_implementations.get(protocol)
    if known is None:
        filesystem_class(protocol, url)  # raises the error naming an unknown protocol
        return
    package = str(known.get("class", "")).split(".", 1)[0]
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        filesystem_class(protocol, url)  # raises the error naming the missing package


def filesystem_class(protocol: str, url: str) -> type[AbstractFileSystem]:
    """fsspec's filesystem class for ``protocol``, or a ConfigError naming ``repository.url``."""
    import fsspec

    try:
        return fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise ConfigError(
            f"repository.url: {url!r}: fsspec knows no protocol {protocol!r}; give a local "
            "folder or an fsspec URL (file://, s3://, memory://, ...)"
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"repository.url: {url!r}: the {protocol}:// protocol needs a package that is not "
            f"installed ({exc}); install it, or use another store"
        ) from None


# Options every fsspec filesystem takes through AbstractFileSystem.__init__'s **kwargs.
_COMMON_OPTIONS = frozenset(
    {"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache"}
)


def accepted_options(cls: type) -> set[str] | None:
    """The keyword arguments ``cls`` takes, or None when that cannot be known.

    Named parameters of its ``__init__`` and, while an ``__init__`` only forwards
    its ``**kwargs`` to ``super().__init__``, of its bases' in turn, down to
    AbstractFileSystem's own. An ``__init__`` that keeps or uses its ``**kwargs``
    (s3fs hands them to botocore, HTTP to aiohttp) takes more than it names.
    """
    import inspect

    from fsspec.spec import AbstractFileSystem

    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is AbstractFileSystem:
            return names | _COMMON_OPTIONS
        params = list(inspect.signature(init).parameters.values())
        names |= {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        }
        rest = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)
        if rest is None:
            return names
        if not _only_forwards(init, rest):
            return None
    return None


def _only_forwards(function: Any, kwargs: str) -> bool:
    """Whether ``function`` uses ``**kwargs`` only to pass it on to ``super().__init__``."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    forwarded = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_super_init(node.func):
            forwarded += sum(
                1
                for k in node.keywords
                if k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs
            )
    used = sum(1 for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == kwargs)
    return forwarded > 0 and used == forwarded


def _is_super_init(func: Any) -> bool:
    import ast

    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "super"
    )


def open_url_store(
    url: str, options: dict[str, Any], project_root: Path, transfer: TransferSettings
) -> Store:
    """Any fsspec URL; a relative local path (``file://./x``, ``./x``) is from the project root."""
    import fsspec.core

    from fsartifacts.stores.store import Store, ops_for

    local = local_path_of(url)
    if local is not None and not Path(local).is_absolute():
        url = (project_root / local).resolve().as_uri()
    check_url_store(url, options)
    try:
        if "url" in options:
            # url_to_fs's own first parameter is named `url`, so a storage option of
            # that name (the Artifactory base URL) must go to the class directly.
            protocol = fsspec.core.split_protocol(url)[0] or "file"
            cls = filesystem_class(protocol, url)
            fs = cls(**{**cls._get_kwargs_from_urls(url), **options})
            root = cls._strip_protocol(url)
        else:
            fs, root = fsspec.core.url_to_fs(url, **options)
    except (ValueError, ImportError, TypeError) as exc:
        raise ConfigError(
            f"repository.url: cannot open {url!r}: {exc}. "
            "Give a local folder or an fsspec URL whose package is installed."
        ) from exc
    except OSError as exc:  # a filesystem that connects when it is made (ftp://, sftp://)
        raise TransferError(
            f"repository.url: cannot reach {_display(url)}: {exc.strerror or exc}; "
            "check the host, the port and that the server is up"
        ) from exc
    for note in store_notes(url):
        log.info("%s", note)
    root = root.rstrip("/")
    return Store(fs=fs, root=root, ops=ops_for(fs, transfer), display=_display(url))


def _display(url: str) -> str:
    """The URL without any user:password part."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path}".rstrip("/")
