"""SIGTERM inside :func:`sigterm_interrupts` raises Terminated, a KeyboardInterrupt; the
handler before it is back after the block. In a process of its own: a test worker's
own SIGTERM handling is left alone."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, signal
from fsartifacts.cli.stopping import Terminated, sigterm_interrupts
before = signal.getsignal(signal.SIGTERM)
try:
    with sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
except KeyboardInterrupt as exc:
    print(type(exc).__name__, isinstance(exc, Terminated))
print(signal.getsignal(signal.SIGTERM) is before)
"""


def test_sigterm_raises_a_keyboard_interrupt_in_the_block_and_the_handler_is_restored() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["Terminated", "True", "True"]


def test_sigterm_ignored_when_the_process_started_stays_ignored() -> None:
    ignored = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    script = ignored + SCRIPT.replace("signal.pause()", "pass")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True"]
