"""How a store's folder upload runs its files: handed a runner (the engine's runs
several at once within the run's bound on transfers, each with its own progress),
one after another without one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from fsspec.callbacks import Callback, NoOpCallback

T = TypeVar("T")


class FileRunner(Protocol):
    """Runs ``action(item, callback)`` for the files of one artifact, each reporting its
    progress to ``callback``: what a store's folder upload is handed."""

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None: ...


class OneAfterAnother:
    """The plain loop, without progress: for callers outside an engine run."""

    def each(self, action: Callable[[T, Callback], None], items: Iterable[T]) -> None:
        for item in items:
            action(item, NoOpCallback())
