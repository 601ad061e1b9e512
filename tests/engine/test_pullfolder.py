"""The pull of a folder of many small files from a folder store, copied at once by the
pull and the store's worker processes beside it: verified, installed and refused as
every file is, and whatever a copy did not make downloaded as any file."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from fsartifacts import Project, copyshares, copyworker
from fsartifacts.atomic import TEMP_MARKER
from fsartifacts.hashcache import HashCache
from fsartifacts.stores.local import LocalOps
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import in_process, tree_digest, write_project
from tests.fixtures.syscalls import WRITE_BEHIND, fsyncs_below, syncfs_calls
from tests.fixtures.workers import kill_each_worker_once_it_copies, workers_started

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: data
      file: data
"""
COUNT = 40


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers beside the pull for a folder of :data:`COUNT` files, on any machine."""
    monkeypatch.setattr(copyworker, "cores", lambda: 3)
    monkeypatch.setattr(copyworker, "SHARE_MIN", 4)


def _pushed(tmp_path: Path, count: int = COUNT) -> tuple[Path, Path]:
    """A project whose folder ``data`` of ``count`` files is pushed as 1.0.0 (and then
    removed locally), and the pushed copy on the store."""
    root = write_project(tmp_path / "project", CONFIG, "1.0.0")
    for n in range(count):
        path = root / "data" / f"part-{n % 4}" / f"{n:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(n % 50 * 41))
    (pushed,) = Project.load(start=root, environ={}).push("data")
    assert pushed.action == "pushed", pushed.error
    shutil.rmtree(root / "data")  # nothing local to copy a file from: each one is fetched
    return root, tmp_path / "store" / "data_v1.0.0"


def _downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files this process downloads from the folder store (the workers' are not)."""
    done: list[str] = []
    real = LocalOps.download

    def counting(self: LocalOps, rpath: str, *args: Any, **kwargs: Any) -> None:
        done.append(rpath)
        real(self, rpath, *args, **kwargs)

    monkeypatch.setattr(LocalOps, "download", counting)
    return done


def test_the_small_files_are_copied_at_once_installed_verified_and_remembered(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file is copied by the one loop the pull runs beside its workers, none
    downloaded one by one (a transfer of its own for each, which cost a folder of 20,000
    small files more than the copies did)."""
    root, stored = _pushed(tmp_path)
    downloads = _downloads(monkeypatch)
    started = workers_started(monkeypatch)
    cache = tmp_path / "cache"
    (pulled,) = Project.load(start=root, environ={"FSARTIFACTS_CACHE_DIR": str(cache)}).pull(
        "data", "1.0.0"
    )
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert [len(copies) for copies in started] == [20, 20]  # a share each
    assert downloads == []  # each share copied by its worker and this process
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]
    # Every installed file is remembered under its new name: nothing is read again.
    hashes = HashCache(cache / "hashes")
    for path in (root / "data_v1.0.0").rglob("*.bin"):
        hashes.sha256(path)
    assert (hashes.hits, hashes.misses) == (COUNT, 0)


def test_a_worker_killed_mid_pull_leaves_its_files_to_the_pull(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed once it has written some of its files: what it wrote is not taken
    (it handed back nothing), the pull copies the rest of its share from the end, up to
    the first file the worker wrote, downloads each of those, and the folder installed is
    the store's, byte for byte."""
    monkeypatch.setattr(copyworker, "cores", lambda: 2)  # one worker, the first half
    monkeypatch.setattr(copyworker, "SHARE_MIN", 4)
    root, stored = _pushed(tmp_path, 3000)
    killed = kill_each_worker_once_it_copies(monkeypatch)
    downloads = _downloads(monkeypatch)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "pulled", pulled.error
    assert killed.process.returncode == -signal.SIGKILL
    written, share = killed.written, killed.share
    assert 0 < written < share, "the worker ended before the test could kill it"
    assert len(downloads) == written  # what it wrote, downloaded again one by one
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]


def test_a_damaged_file_in_a_workers_share_fails_the_pull_and_installs_nothing(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, stored = _pushed(tmp_path)
    damaged = sorted(stored.rglob("*.bin"))[-1]  # the last files are the workers'
    damaged.write_bytes(bytes(b ^ 1 for b in damaged.read_bytes()))
    downloads = _downloads(monkeypatch)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "failed"
    assert pulled.error is not None and "damaged" in pulled.error, pulled.error
    assert damaged.relative_to(stored).as_posix() in pulled.error
    assert str(damaged) in downloads  # downloaded again by the pull, and refused
    assert not (root / "data_v1.0.0").exists()
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_link_in_a_workers_share_is_refused_as_any_link_on_the_store(
    tmp_path: Path, workers: None, where: str
) -> None:
    root, stored = _pushed(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    last = sorted(stored.rglob("*.bin"))[-1]
    if where == "file":
        (secret / last.name).write_bytes(last.read_bytes())  # the very bytes: only the link differs
        last.unlink()
        last.symlink_to(secret / last.name)
    else:
        for path in last.parent.iterdir():
            path.rename(secret / path.name)
        last.parent.rmdir()
        last.parent.symlink_to(secret)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "failed"
    assert pulled.error is not None and "symbolic link" in pulled.error, pulled.error
    assert not (root / "data_v1.0.0").exists()
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]


def test_where_no_worker_can_be_started_the_pull_copies_every_file_itself(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, stored = _pushed(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    downloads = _downloads(monkeypatch)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert downloads == []


@pytest.mark.parametrize(("jobs", "started"), [(1, 0), (2, 1), (3, 2), (8, 2)])
def test_the_workers_beside_a_pull_are_within_its_jobs(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch, jobs: int, started: int
) -> None:
    """-j bounds every transfer in flight: each worker copies in a slot of the run that was
    free, for as long as it runs (here up to two workers are wanted)."""
    root, stored = _pushed(tmp_path)
    downloads = _downloads(monkeypatch)
    made: list[int] = []
    real = copyworker.Worker.__init__

    def counting(self: copyworker.Worker, *args: Any, **kwargs: Any) -> None:
        made.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(copyworker.Worker, "__init__", counting)
    (pulled,) = Project.load(start=root, environ={}, jobs=jobs).pull("data", "1.0.0")
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert len(made) == started
    assert downloads == []  # -j 1 too: the pull's own loop copies every file


def test_a_folder_downloaded_is_made_durable_file_by_file_and_only_its_folders_after(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file downloaded is fsynced as it is done, beside the downloads still waiting on
    the store, so the swap syncs only the staged folders before the rename: one syncfs
    there would wait for every other write on the filesystem (0.15 s on a quiet machine,
    seconds beside a large write), where the pull's own files are on the disk already."""
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    path: team\n    auth: {{authType: none}}\n"
        "  artifacts:\n    - name: data\n      file: data\n"
    )
    producer = write_project(tmp_path / "producer", config, "1.0.0")
    for n in range(COUNT):
        path = producer / "data" / f"part-{n % 4}" / f"{n:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(n * 41))
    env = {"FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")}
    pushed = in_process("push", "data", "-j", "4", cwd=producer, env=env)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    consumer = write_project(tmp_path / "consumer", config, "1.0.0")
    synced = fsyncs_below(monkeypatch, consumer)
    pulled = in_process("pull", "data", "-j", "4", cwd=consumer, env=env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert tree_digest(consumer / "data_v1.0.0") == tree_digest(producer / "data")
    # Each file once, then the staged folder and its 4 folders, then the consumer's folder
    # once the rename is done; then the lock file, and its folder.
    assert synced == ["file"] * COUNT + ["folder"] * 5 + ["folder"] + ["file", "folder"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_a_folder_copied_to_or_from_the_folder_store_is_written_to_the_disk_behind_its_copies(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a push or a pull copies its files the filesystem writes them to the disk (the
    copies here wait for that each time), and the staged folder is synced once more
    after its last copy, before it is renamed into place: nothing is published or
    installed before that sync returns."""
    calls, behind = syncfs_calls(monkeypatch)
    real = copyshares.copy_files

    def behind_first(*args: Any, **kwargs: Any) -> bytearray:
        assert behind.wait(60), "no syncfs behind the copies"
        behind.clear()
        return real(*args, **kwargs)

    monkeypatch.setattr(copyshares, "copy_files", behind_first)
    root, stored = _pushed(tmp_path)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    who = [name == WRITE_BEHIND for name, _ in calls]
    assert [behind for behind, _ in itertools.groupby(who)] == [True, False, True, False]
    push_sync, pull_sync = (where for (_, where), b in zip(calls, who, strict=True) if not b)
    assert TEMP_MARKER in push_sync and push_sync.startswith(str(tmp_path / "store"))
    assert TEMP_MARKER in pull_sync and pull_sync.startswith(str(root))
