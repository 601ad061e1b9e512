"""The one atomic write: a temporary beside the target, flushed, renamed, the folder synced."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from fsartifacts.atomic import TEMP_MARKER, atomic_write, write_atomic, written_behind
from tests.fixtures.syscalls import WRITE_BEHIND, fsyncs_below, syncfs_calls


def test_the_target_gets_the_whole_content_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_a_failure_while_writing_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write(b"half")
        assert any(TEMP_MARKER in name for name in os.listdir(tmp_path))  # beside the target
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_exclusive_creates_only_what_is_absent(tmp_path: Path) -> None:
    target = tmp_path / "claim"
    write_atomic(target, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", exclusive=True)
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["claim"]


@pytest.mark.parametrize("durable", [True, False])
def test_the_file_is_synced_and_a_durable_write_syncs_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    synced = fsyncs_below(monkeypatch, tmp_path)
    write_atomic(tmp_path / "f", b"data", durable=durable)
    assert synced == (["file", "folder"] if durable else ["file"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_what_a_block_writes_goes_to_the_disk_behind_it_and_the_thread_ends_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, behind = syncfs_calls(monkeypatch)
    with written_behind(tmp_path):
        (tmp_path / "new.bin").write_bytes(os.urandom(1000))
        assert behind.wait(60), "no syncfs behind the block's writes"
    assert not [t for t in threading.enumerate() if t.name == WRITE_BEHIND]
    assert calls and {where for _, where in calls} == {str(tmp_path)}
    started: list[threading.Thread] = []
    with pytest.raises(RuntimeError), written_behind(tmp_path):
        started += [t for t in threading.enumerate() if t.name == WRITE_BEHIND]
        raise RuntimeError("the block failed")  # left at once, not waiting for the thread
    (thread,) = started
    thread.join(60)  # told to stop: it ends on its own
    assert not thread.is_alive()
