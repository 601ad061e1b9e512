"""Who holds a lock, as a waiting process names it: read from the lock's own file, which
is never waited on whatever was put at its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
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
