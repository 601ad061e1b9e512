"""How a store's folder upload runs its files: handed a runner (the engine's runs
several at once within the run's bound on transfers, each with its own progress),
one after another without one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from fsspec.callbacks import Callback, NoOpCallback

from fsartifacts.copyworker import Slots

T = TypeVar("T")


class FileRunner(Protocol):
    """Runs ``action(item, callback)`` for the files of one artifact, each reporting its
    progress to ``callback``: what a store's folder upload is handed."""

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None: ...

    def beside(self) -> contextlib.AbstractContextManager[Slots]:
        """The block in which the caller copies files itself, outside :meth:`each` (a batch
        of small ones in one loop), holding one place among the transfers in flight; the
        places it yields are for worker processes copying beside it, each taken only if
        free."""
        ...

    def moved(self, files: int, size: int) -> None:
        """Count ``files`` of ``size`` bytes in all, copied outside :meth:`each`, as done."""
        ...


class _NoPlaces:
    def take(self, wanted: int) -> int:
        return 0


class OneAfterAnother:
    """The plain loop, without progress: for callers outside an engine run (no worker
    process beside it: nothing bounds them there)."""

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None:
        for item in items:
            action(item, NoOpCallback())

    @contextlib.contextmanager
    def beside(self) -> Iterator[Slots]:
        yield _NoPlaces()

    def moved(self, files: int, size: int) -> None:
        pass
