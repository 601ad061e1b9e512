"""Files made durable one by one beside the transfers, and the tree sync that then syncs
only the folders."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from fsartifacts.atomic import sync_tree
from fsartifacts.syncer import FileSyncer
from tests.fixtures.syscalls import fsyncs_below


def _tree(top: Path, count: int) -> list[str]:
    """``count`` small files in two folders below ``top``, named as ``os.walk`` joins them."""
    paths = []
    for n in range(count):
        path = top / f"d{n % 2}" / f"{n}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(100 + n))
        paths.append(os.path.join(top, f"d{n % 2}", f"{n}.bin"))
    return paths


def test_each_file_handed_over_is_fsynced_once_and_named_once_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _tree(tmp_path / "staged", 12)
    synced = fsyncs_below(monkeypatch, tmp_path)
    syncer = FileSyncer()
    for path in paths:
        syncer.add(Path(path))
    assert syncer.settle() == set(paths)
    assert synced == ["file"] * 12


def test_a_file_gone_before_its_turn_is_not_named_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _tree(tmp_path / "staged", 3)
    os.unlink(paths[1])
    syncer = FileSyncer()
    for path in paths:
        syncer.add(path)
    assert syncer.settle() == {paths[0], paths[2]}


def test_nothing_handed_over_after_it_settled_is_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _tree(tmp_path / "staged", 2)
    synced = fsyncs_below(monkeypatch, tmp_path)
    syncer = FileSyncer()
    assert syncer.settle() == set()
    syncer.add(paths[0])
    syncer.close()
    assert synced == []


def test_a_tree_whose_files_are_all_durable_has_only_its_folders_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "staged"
    paths = _tree(top, 6)
    synced = fsyncs_below(monkeypatch, tmp_path)
    sync_tree(top, set(paths))
    assert synced == ["folder"] * 3  # the top and its two folders; no file again


def test_a_tree_with_one_file_not_durable_yet_is_synced_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "staged"
    paths = _tree(top, 6)
    synced = fsyncs_below(monkeypatch, tmp_path)
    sync_tree(top, set(paths[1:]))
    if sys.platform.startswith("linux"):
        assert synced == []  # one syncfs of the filesystem, no fsync of a file or folder
    else:
        assert synced.count("file") == 6  # each one, where there is no syncfs


def test_the_folders_of_a_durable_tree_are_synced_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each folder's fsync waits for a journal commit: one after another, a commit each;
    at once, they share one. Each is held here until all three have arrived (or 10 s)."""
    top = tmp_path / "staged"
    paths = _tree(top, 6)
    all_three = threading.Barrier(3, timeout=10)
    met: list[bool] = []
    real_fsync = os.fsync

    def meeting(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode) and os.readlink(f"/proc/self/fd/{fd}").startswith(
            str(top)
        ):
            try:
                all_three.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", meeting)
    sync_tree(top, set(paths))
    assert met == [True, True, True]
