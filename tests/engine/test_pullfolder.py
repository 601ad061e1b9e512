"""The pull of a folder of many small files from a folder store, a share of them copied
by the store's worker processes: verified, installed and refused as every file is."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from fsartifacts import Project, copyworker
from fsartifacts.hashcache import HashCache
from fsartifacts.stores.local import LocalOps
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import in_process, tree_digest, write_project
from tests.fixtures.syscalls import fsyncs_below

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


def _pushed(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose folder ``data`` of :data:`COUNT` files is pushed as 1.0.0 (and then
    removed locally), and the pushed copy on the store."""
    root = write_project(tmp_path / "project", CONFIG, "1.0.0")
    for n in range(COUNT):
        path = root / "data" / f"part-{n % 4}" / f"{n:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(n * 41))
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


def test_the_files_copied_by_workers_are_installed_verified_and_remembered(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, stored = _pushed(tmp_path)
    downloads = _downloads(monkeypatch)
    cache = tmp_path / "cache"
    (pulled,) = Project.load(start=root, environ={"FSARTIFACTS_CACHE_DIR": str(cache)}).pull(
        "data", "1.0.0"
    )
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert 0 < len(downloads) < COUNT  # the workers copied the others
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]
    # Every installed file is remembered under its new name: nothing is read again.
    hashes = HashCache(cache / "hashes")
    for path in (root / "data_v1.0.0").rglob("*.bin"):
        hashes.sha256(path)
    assert (hashes.hits, hashes.misses) == (COUNT, 0)


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


def test_where_no_worker_can_be_started_the_pull_downloads_every_file_itself(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, stored = _pushed(tmp_path)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    downloads = _downloads(monkeypatch)
    (pulled,) = Project.load(start=root, environ={}).pull("data", "1.0.0")
    assert pulled.action == "pulled", pulled.error
    assert tree_digest(root / "data_v1.0.0") == tree_digest(stored)
    assert len(downloads) == COUNT


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
    assert (len(downloads) == COUNT) == (started == 0)


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
