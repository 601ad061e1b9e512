"""The lock a pull holds on its destination (engine/pulllock.py); pulls of one destination
in real processes are tests/e2e/test_concurrent_pulls.py."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.engine.pulllock import pull_lock
from fsartifacts.errors import LocalError
from tests.fixtures.cli import write_api_project


def test_the_pull_lock_is_held_once_and_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    # The holder (this process here) is named: the pid the lock's file holds.
    busy = pytest.raises(
        LocalError, match=rf"another pull of {dest} is under way \(process {os.getpid()} holds"
    )
    with pull_lock(dest), busy, pull_lock(dest):
        pytest.fail("a second holder got the lock")
    with pull_lock(dest):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_filesystem_without_locks_pulls_unguarded_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """NFS without its lock service answers every flock with ENOLCK: a pull (its lock on the
    destination, its record in fsartifacts.lock) fails there as a local write error,
    though nothing but the guard against a second run at once is missing."""
    root = write_api_project(tmp_path / "p")
    project = Project.load(start=root, environ={})
    assert project.push("ALL").ok
    shutil.rmtree(root / "data")
    (root / "model.pkl").unlink()

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    pulled = project.pull("ALL")
    assert pulled.ok, [r.error for r in pulled]
    assert Path(pulled[0].local or "").read_bytes() == b"weights"
    assert "model" in (root / "fsartifacts.lock").read_text()
    assert "no file locks" in caplog.text
    assert sorted(p.name for p in root.iterdir() if "lock" in p.name) == ["fsartifacts.lock"]
