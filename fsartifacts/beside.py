"""One piece of work run on a thread of its own while the caller goes on with another.

A command waits for the store one round trip after another where nothing forces the
order: a request whose answer is needed later (a listing) or never (a note written once
a version is published) can be on its way while the caller does something else, local
work or a request of its own. :class:`Beside` starts the work at once; :meth:`result`
waits for it and gives back its value or raises its error, in the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")


class Beside(Generic[R]):
    """``work()`` running on a daemon thread named ``name`` from construction on."""

    def __init__(self, work: Callable[[], R], name: str) -> None:
        self._done = threading.Event()
        self._value: R | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(work,), name=name, daemon=True).start()

    def _run(self, work: Callable[[], R]) -> None:
        try:
            self._value = work()
        except BaseException as exc:  # handed to the caller by result(), in its thread
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> R:
        """Wait for the work to end: its value, or its error raised here."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set once the work returned
