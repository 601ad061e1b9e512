"""What a command's process asks of Python's cyclic garbage collector, to start and end sooner.

Loading a store's libraries (s3fs, aiobotocore, aiohttp, botocore and the service
models it reads; requests and urllib3) makes hundreds of thousands of objects that live
as long as the process. Collections triggered by those allocations traverse them again
and again and free nothing, and at exit the interpreter runs one more collection over
every object it holds. Both cost CPU before the first request and after the last one:
:func:`loading` pauses the collector while a store's libraries load (and the package's
own modules, the configuration and the engine's libraries, at a command's start) and
then freezes what they made (later collections skip it); :func:`before_exit` freezes everything, so
the collection at exit has nothing to traverse. Nothing that is garbage is kept longer
than the process: a frozen object is only left out of collections, never freed early.

Freezing is for the command's own process only (:func:`command_process`, set by the
console script): a freeze also keeps whatever cyclic garbage is waiting at that moment,
for good, and a program that uses the Python API and opens stores again and again would
grow by all of it each time. There the collector is only paused while libraries load.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_freezing = False


def command_process(enabled: bool = True) -> None:
    """Whether this process is the command's own, which ends with its work: only then is
    what loading made frozen."""
    global _freezing
    _freezing = enabled


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Import long-lived libraries without collections; freeze what they made after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freezing:
            gc.freeze()
        if was_enabled:
            gc.enable()


def before_exit() -> None:
    """Leave every object out of the interpreter's last collection at exit."""
    gc.freeze()
