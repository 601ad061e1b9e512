"""botocore's loader of service models, reading what S3's client needs and no more.

Making the S3 client reads S3's service model and endpoint rules (JSON files, most of
them gzipped). Before reading each kind, botocore's loader lists every service it ships
(over 400 folders, a few ``stat`` calls each) to check that S3 is among them: a tenth of
the client's making. This loader answers that check from S3's own folder, and lists
every service only when asked for the list itself. It also reads a gzipped model in one
piece, not in the small chunks of a ``GzipFile``, and parses every file into plain
dicts, which keep the file's order as botocore's OrderedDicts do. The same files are
read, from the same search path (``AWS_DATA_PATH`` and ``~/.aws/models`` included), into
the same data.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from botocore.loaders import JSONFileLoader, Loader

from fsartifacts.home import expand_home


class _ModelFiles(JSONFileLoader):
    def _load_file(self, full_path: str, open_method: Callable[..., Any]) -> Any:
        if open_method not in (gzip.open, open) or not os.path.isfile(full_path):
            return super()._load_file(full_path, open_method)
        with open(full_path, "rb") as f:
            payload = f.read()
        return _parse(gzip.decompress(payload) if open_method is gzip.open else payload)


def _parse(payload: bytes) -> Any:
    # Mappings in the file's order, as botocore's OrderedDicts keep it: plain dicts keep
    # it too, and are parsed by json's C scanner without a hook per object (endpoints.json,
    # read by every client: 11 ms, against 30 ms into OrderedDicts).
    return json.loads(payload.decode("utf-8"))


class KnownServices(Sequence[str]):
    """The services with a model of one kind: ``in`` looks in that service's folders
    only; anything else lists them all (as botocore does), once."""

    def __init__(self, loader: ServiceLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name
        self._all: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or name in ("", ".", "..") or os.sep in name:
            return False  # not the name of a folder botocore would list
        for root in self._loader.search_paths:
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                continue
            for version in os.listdir(folder):
                if self._loader.file_loader.exists(os.path.join(folder, version, self._type_name)):
                    return True
        return False

    def _listed(self) -> list[str]:
        if self._all is None:
            self._all = self._loader.all_services(self._type_name)
        return self._all

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._listed()[index]

    def __len__(self) -> int:
        return len(self._listed())

    def __iter__(self) -> Iterator[str]:
        return iter(self._listed())


class ServiceLoader(Loader):
    """botocore's :class:`~botocore.loaders.Loader`, with :class:`KnownServices` for its
    check of a service and :class:`_ModelFiles` for its files."""

    FILE_LOADER_CLASS = _ModelFiles

    def list_available_services(self, type_name: str) -> KnownServices:
        return KnownServices(self, type_name)

    def all_services(self, type_name: str) -> list[str]:
        """Every service with a model of ``type_name``, as botocore lists them."""
        listed: list[str] = super().list_available_services(type_name)
        return listed


def service_loader(data_path: str | None) -> ServiceLoader:
    """A :class:`ServiceLoader` of the search path botocore would make of ``data_path``
    (the session's ``data_path`` setting, ``AWS_DATA_PATH``)."""
    if data_path is None:
        return ServiceLoader()
    # As botocore expands them, but a path in a home folder the system does not know
    # (``$HOME`` empty, say) names no folder, never one at the root.
    expanded = (expand_home(os.path.expandvars(p)) for p in data_path.split(os.pathsep))
    paths = [os.fspath(p) for p in expanded if p is not None]
    return ServiceLoader(extra_search_paths=paths)
