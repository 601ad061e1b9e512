"""The lock a pull holds on its destination (engine/pulllock.py); pulls of one destination
in real processes are tests/e2e/test_concurrent_pulls.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsartifacts.engine.pulllock import pull_lock
from fsartifacts.errors import LocalError


def test_the_pull_lock_is_held_once_and_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    busy = pytest.raises(LocalError, match=f"another pull of {dest} is under way")
    with pull_lock(dest), busy, pull_lock(dest):
        pytest.fail("a second holder got the lock")
    with pull_lock(dest):
        pass
    assert list(tmp_path.iterdir()) == []
