"""SIGTERM stops a command the way Ctrl-C does.

A CI runner cancels a job with SIGTERM, then SIGKILL a while later. Python's default for
SIGTERM ends the process at once, skipping every cleanup a Ctrl-C runs: the multipart
window stopped before the upload is kept or aborted, what was downloaded kept for a
resume, the lock file written with what was installed, the staged temporaries removed.
So SIGTERM raises :class:`Terminated`, a KeyboardInterrupt, in the main thread, and the
command takes the Ctrl-C path to the end. It exits 130 like Ctrl-C (not the 143 a shell
reports for a process SIGTERM killed): the command was interrupted and cleaned up after
itself, and 130 is the one exit code that means that.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The command was asked to stop by SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # One stop is enough: a second SIGTERM while the first one's cleanup runs would cut
    # that cleanup short. SIGKILL is what ends a cleanup that takes too long.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """For the block, SIGTERM raises :class:`Terminated` in the main thread. Left alone
    off the main thread (signals cannot be handled there) and where SIGTERM was ignored
    when the process started (the parent asked for that, as with ``nohup``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGTERM)
    if before is signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
