"""A push to a folder store whose disk takes no more (here: a file size limit, EFBIG, as a
full disk gives ENOSPC) says which file on the store and what to do, in one line."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

from tests.fixtures.cli import BIN, command_env, write_project

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - {name: model, file: model.bin}
    - {name: data, file: data}
"""


def small_files_only() -> None:
    """In the child: no file written past 1 MiB."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death, past the limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, resource.RLIM_INFINITY))


def test_a_push_that_finds_no_room_on_the_store_names_the_stored_file_and_the_way_out(
    tmp_path: Path,
) -> None:
    # The system's words alone were the message: "model: [Errno 27] File too large".
    root = write_project(tmp_path / "project", CONFIG, "1.0.0")
    (root / "model.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    run = subprocess.run([str(BIN), "push", "ALL"], cwd=root, env=command_env(root),
                         capture_output=True, text=True, timeout=120,
                         preexec_fn=small_files_only)  # fmt: skip
    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 2 and "Traceback" not in run.stderr, run.stderr
    store = tmp_path / "store"
    for line, stored in zip(sorted(errors), ["data_v1.0.0", "model_v1.0.0.bin"], strict=True):
        assert f"cannot write {store / stored} on the store: File too large" in line, line
        assert "file size limit (ulimit -f)" in line and "[Errno" not in line, line
    assert sorted(p.name for p in store.iterdir() if not p.name.startswith(".")) == []
