"""Who holds a lock, as a waiting process names it: read from the lock's own file, which
is never waited on whatever was put at its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fsartifacts import locks

SCRIPT = """
import sys
from pathlib import Path

import pytest
from fsartifacts import locks
path = Path(sys.argv[1])
fd = locks.take(path)
print(fd is not None, locks.holder(path))
"""


def test_the_holder_of_a_lock_whose_file_is_a_fifo_is_named_without_waiting(
    tmp_path: Path,
) -> None:
    # Held open for writing by the lock itself, the FIFO opened at once for the read, and
    # the read of the holder's pid waited for bytes no one writes (a pid is not written
    # into a FIFO): the wait for the lock hung at its first notice.
    fifo = tmp_path / ".data.fsartifacts-lock"
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(fifo)], capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "another", "process"]


def test_the_holder_writes_its_pid_over_an_older_one_without_emptying_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file truncated to nothing and written again is written out to the disk at its
    close by ext4 (its guard for files replaced by truncation), which each release of a
    lock then waited for: the pid goes over the old content, cut to its own length."""
    path = tmp_path / ".data.fsartifacts-lock"
    path.write_text("4194304999\n")  # a longer pid, left by a holder before
    sizes: list[int] = []
    real_ftruncate = os.ftruncate

    def recording(fd: int, length: int) -> None:
        sizes.append(length)
        real_ftruncate(fd, length)

    monkeypatch.setattr(os, "ftruncate", recording)
    fd = locks.take(path)
    assert fd is not None
    try:
        assert path.read_text() == f"{os.getpid()}\n"
        assert 0 not in sizes
    finally:
        locks.release(path, fd)
    assert not path.exists()
