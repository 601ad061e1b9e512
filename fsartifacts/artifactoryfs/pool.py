"""The threads of one ``artifactory://`` filesystem's many-path calls.

One :class:`BatchPool` per filesystem, so successive calls reuse its threads and
their connections (each thread keeps its own ``requests.Session``) instead of
starting ``batch_size`` new ones per call. Its threads are made on first use
(a filesystem that never makes a many-path call starts none), shut down by
:meth:`BatchPool.close`, and made anew in a forked child, where the parent's
threads do not exist.

A call runs ``func`` over its items with the calling thread taking items too,
plus at most ``size - 1`` of the pool's threads: ``size`` at once. Because the
caller works through its own items rather than only waiting for them, a call
made from inside another call's item (a listing that asks for each file's info
while ``find`` lists folders side by side) cannot deadlock the pool when every
pool thread is busy: it goes on in its caller's thread, and pool threads help
as they come free.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BatchPool:
    """At most ``size`` items of a call at once: the caller and ``size - 1`` threads."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool runs at least 1 item at once, not {size}")
        self.size = size
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = os.getpid()

    def run(
        self, func: Callable[[T], R], items: Sequence[T], *, stop_on_error: bool = False
    ) -> list[R | Exception]:
        """``func`` of each item, ``size`` at once: results in item order.

        A failed item's place holds its exception. With ``stop_on_error``, items not
        yet started when one fails are not started (their place holds the first
        failure's exception, in item order); those running end first. An interrupt
        (KeyboardInterrupt) in the caller stops starting items and is raised at once;
        one that is not a failure of an item (SystemExit and the like) in a pool
        thread is raised once the running items end.
        """
        batch = _Batch(func, items, stop_on_error)
        helpers = min(self.size, len(items)) - 1
        if helpers > 0:
            executor = self._threads()
            for _ in range(helpers):
                try:
                    executor.submit(batch.work)
                except RuntimeError:  # closed meanwhile, or the interpreter is exiting
                    break
        try:
            batch.work()
            batch.wait()
        except BaseException:
            batch.halt()
            raise
        return batch.outcomes()

    def _threads(self) -> ThreadPoolExecutor:
        if self._pid != os.getpid():
            # A forked child: the parent's threads are not here, and its lock may
            # have been held by one of them at the fork.
            self._lock = threading.Lock()
            self._executor = None
            self._pid = os.getpid()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.size - 1, thread_name_prefix="artifactory-batch"
                )
            return self._executor

    def close(self) -> None:
        """Let the threads end once idle (never waiting for them); a later call makes new ones."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._pid == os.getpid():
            executor.shutdown(wait=False)


SERIAL = BatchPool(1)  # runs every item in the caller's thread: no threads of its own


class _Batch(Generic[T, R]):
    """The items of one call, taken in order by whichever thread is free."""

    def __init__(self, func: Callable[[T], R], items: Sequence[T], stop_on_error: bool) -> None:
        self._func = func
        self._items = items
        self._stop_on_error = stop_on_error
        self._done = threading.Condition()
        self._next = 0
        self._running = 0
        self._halted = False
        self._fatal: BaseException | None = None
        self._results: list[R | None] = [None] * len(items)
        self._errors: list[Exception | None] = [None] * len(items)

    def work(self) -> None:
        """Run items until none is left (or the call halted)."""
        while True:
            with self._done:
                if self._halted or self._next >= len(self._items):
                    return
                index = self._next
                self._next += 1
                self._running += 1
            try:
                self._results[index] = self._func(self._items[index])
            except Exception as error:
                self._finish(index, error=error)
                continue
            except BaseException as fatal:
                self._finish(index, fatal=fatal)
                raise
            self._finish(index)

    def _finish(
        self, index: int, error: Exception | None = None, fatal: BaseException | None = None
    ) -> None:
        with self._done:
            self._errors[index] = error
            self._running -= 1
            if fatal is not None and self._fatal is None:
                self._fatal = fatal
            if fatal is not None or (error is not None and self._stop_on_error):
                self._halted = True
            self._done.notify_all()

    def wait(self) -> None:
        """Until no item is running; then a pool thread's fatal error is raised here."""
        with self._done:
            while self._running:
                self._done.wait()
            if self._fatal is not None:
                raise self._fatal

    def halt(self) -> None:
        with self._done:
            self._halted = True

    def outcomes(self) -> list[R | Exception]:
        first = next((e for e in self._errors if e is not None), None)
        out: list[R | Exception] = []
        for index in range(len(self._items)):
            error = self._errors[index]
            if error is not None:
                out.append(error)
            elif index >= self._next:  # never started: only a failure halts a call
                assert first is not None
                out.append(first)
            else:
                out.append(self._results[index])  # type: ignore[arg-type]
        return out
