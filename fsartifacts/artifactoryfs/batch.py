"""Many-path operations of ``artifactory://``, run up to ``batch_size`` requests at once.

fsspec's own ``cat``, ``cat_ranges``, ``pipe``, ``get``, ``put`` and ``copy`` call
the one-path method (``cat_file``, ``pipe_file``, ``get_file``, ``put_file``,
``cp_file``) once per path, one after the other: over a link with latency, forty
files cost forty round trips end to end. Here the same calls run ``batch_size``
at once on the filesystem's :class:`~fsartifacts.artifactoryfs.pool.BatchPool`,
each thread with its own ``requests.Session`` (the filesystem keeps one per
thread). Which paths
a call means is still decided by fsspec's code (globs, recursion, destination
naming and its containment check): it runs against a planner that records each
one-path call instead of making it.

Errors surface as fsspec's do. ``cat`` honours ``on_error`` ("raise": the first
failing path's error, in path order, once every read ended; "omit"; "return": the
exception as that path's value) and ``cat_ranges`` returns exceptions in place
by default. ``get``, ``put``, ``pipe`` and ``copy`` stop starting new transfers at
the first failure, let the running ones end, and raise the first failure in path
order (``copy`` skips a missing source where fsspec's ``on_error`` says so).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem

from fsartifacts.artifactoryfs.pool import BatchPool

# s3fs's default (fsspec's gather_batch_size): requests of one batch call in flight at once.
DEFAULT_BATCH_SIZE = 128


def check_batch_size(value: Any) -> int:
    """``batch_size`` as a positive int, or a ValueError naming the option."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 1 or isinstance(value, bool):
        raise ValueError(
            f"batch_size must be a whole number of requests at once, 1 or more, not {value!r}"
        )
    return size


def first_error(results: Sequence[object]) -> Exception | None:
    return next((r for r in results if isinstance(r, Exception)), None)


class _Planner:
    """Stands in for the filesystem in fsspec's ``get``/``put``/``copy``: records each pair."""

    def __init__(self, fs: AbstractFileSystem) -> None:
        self._fs = fs
        self.pairs: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)

    def get_file(self, rpath: str, lpath: str, **kwargs: Any) -> None:
        self.pairs.append((rpath, lpath))

    def put_file(self, lpath: str, rpath: str, **kwargs: Any) -> None:
        self.pairs.append((lpath, rpath))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        self.pairs.append((path1, path2))


class BatchOperations(AbstractFileSystem):
    """The many-path methods of fsspec, run concurrently (see the module docstring)."""

    batch_size: int = DEFAULT_BATCH_SIZE
    batch_pool: BatchPool

    def cat(
        self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any
    ) -> Any:
        paths = self.expand_path(path, recursive=recursive, **kwargs)
        if (
            len(paths) == 1
            and not isinstance(path, list)
            and paths[0] == self._strip_protocol(path)
        ):
            return self.cat_file(paths[0], **kwargs)
        results = self.batch_pool.run(lambda p: self.cat_file(p, **kwargs), paths)
        error = first_error(results)
        if error is not None and on_error == "raise":
            raise error
        return {
            p: r
            for p, r in zip(paths, results, strict=True)
            if not (isinstance(r, Exception) and on_error == "omit")
        }

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int],
        ends: int | list[int],
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        if max_gap is not None:
            raise NotImplementedError("max_gap is not supported: each range is its own request")
        if not isinstance(paths, list):
            raise TypeError(f"paths must be a list, not {type(paths).__name__}")
        starts_list = starts if isinstance(starts, list) else [starts] * len(paths)
        ends_list = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(starts_list) != len(paths) or len(ends_list) != len(paths):
            raise ValueError("paths, starts and ends must have the same length")
        ranges = list(zip(paths, starts_list, ends_list, strict=True))
        results = self.batch_pool.run(lambda r: self.cat_file(r[0], r[1], r[2], **kwargs), ranges)
        error = first_error(results)
        if error is not None and on_error != "return":
            raise error
        return results

    def pipe(self, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        if isinstance(path, str):
            self.pipe_file(self._strip_protocol(path), value, **kwargs)
            return
        if not isinstance(path, dict):
            raise ValueError("path must be str or dict")
        items = [(self._strip_protocol(k), v) for k, v in path.items()]
        results = self.batch_pool.run(
            lambda kv: self.pipe_file(kv[0], kv[1], **kwargs), items, stop_on_error=True
        )
        _raise_first(results)

    def get(
        self,
        rpath: Any,
        lpath: Any,
        recursive: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        planner = _Planner(self)
        AbstractFileSystem.get(planner, rpath, lpath, recursive=recursive, maxdepth=maxdepth,
                               **kwargs)  # fmt: skip
        self._transfer(self.get_file, planner.pairs, callback, kwargs)

    def put(
        self,
        lpath: Any,
        rpath: Any,
        recursive: bool = False,
        callback: Callback = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        planner = _Planner(self)
        AbstractFileSystem.put(planner, lpath, rpath, recursive=recursive, maxdepth=maxdepth,
                               **kwargs)  # fmt: skip
        self._transfer(self.put_file, planner.pairs, callback, kwargs)

    def copy(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        on_error: str | None = None,
        **kwargs: Any,
    ) -> None:
        planner = _Planner(self)
        AbstractFileSystem.copy(planner, path1, path2, recursive=recursive, maxdepth=maxdepth,
                                on_error=on_error, **kwargs)  # fmt: skip
        # fsspec's rule: a source that does not exist is skipped in a recursive copy.
        skip_missing = (on_error or ("ignore" if recursive else "raise")) == "ignore"

        def one(pair: tuple[str, str]) -> None:
            try:
                self.cp_file(pair[0], pair[1], **kwargs)
            except FileNotFoundError:
                if not skip_missing:
                    raise

        _raise_first(self.batch_pool.run(one, planner.pairs, stop_on_error=True))

    def _transfer(
        self,
        method: Callable[..., None],
        pairs: list[tuple[str, str]],
        callback: Callback,
        kwargs: dict[str, Any],
    ) -> None:
        """One ``method(src, dst)`` per pair, concurrently; ``callback`` counts whole files."""
        callback.set_size(len(pairs))
        lock = threading.Lock()

        def one(pair: tuple[str, str]) -> None:
            with callback.branched(pair[0], pair[1]) as child:
                method(pair[0], pair[1], callback=child, **kwargs)
            with lock:
                callback.relative_update(1)

        _raise_first(self.batch_pool.run(one, pairs, stop_on_error=True))


def _raise_first(results: Sequence[object]) -> None:
    error = first_error(results)
    if error is not None:
        raise error
