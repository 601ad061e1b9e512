"""The push of a folder of many small files to a folder store: copied in batches, the
last of them by worker processes beside the push, each file's digests those of the bytes
its copy read and wrote, and whatever a copy did not make left to the usual upload."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import semver

from fsartifacts import Project, copyshares, copyworker
from fsartifacts.config.model import Artifact
from fsartifacts.engine.runner import Engine
from fsartifacts.hashcache import HashCache
from fsartifacts.stores import smallfiles
from fsartifacts.stores.local import LocalOps
from tests.fixtures.cli import tree_digest, write_project
from tests.fixtures.workers import kill_each_worker_once_it_copies, workers_started

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: data
      file: data
"""
COUNT = 40
V1 = semver.Version.parse("1.0.0")


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers beside the push of a folder of :data:`COUNT` files, on any machine."""
    monkeypatch.setattr(copyworker, "cores", lambda: 3)
    monkeypatch.setattr(copyworker, "SHARE_MIN", 4)


def _project(tmp_path: Path, count: int = COUNT) -> tuple[Path, list[Path]]:
    """A project holding the folder ``data`` of ``count`` small files of several sizes (the
    empty one too) and modes, in path order."""
    root = write_project(tmp_path / "project", CONFIG, "1.0.0")
    files = []
    for n in range(count):
        path = root / "data" / f"part-{n % 4}" / f"{n:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(n % 50 * 41))
        os.chmod(path, 0o640 if n % 3 else 0o600)
        files.append(path)
    return root, sorted(files)


def _uploaded_one_by_one(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the store uploads one at a time from now on (not in a batch)."""
    done: list[str] = []
    real = LocalOps.upload_member

    def counting(self: LocalOps, folder: str, file: Any, *args: Any, **kwargs: Any) -> None:
        done.append(file[1])
        real(self, folder, file, *args, **kwargs)

    monkeypatch.setattr(LocalOps, "upload_member", counting)
    return done


def _store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def _each_worker_ends_first(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each worker started from now on is waited for before this process copies anything
    of its share (which it then finds taken); the answers this process's own copies
    make, by their length."""
    real_worker = copyworker.Worker.__init__
    real_copies = copyshares.copy_files
    made: list[int] = []

    def ended(self: copyworker.Worker, *args: Any, **kwargs: Any) -> None:
        real_worker(self, *args, **kwargs)
        self.answers()  # waits for the process to end

    def counted(*args: Any, **kwargs: Any) -> bytearray:
        answers = real_copies(*args, **kwargs)
        made.append(len(answers))
        return answers

    monkeypatch.setattr(copyworker.Worker, "__init__", ended)
    monkeypatch.setattr(copyshares, "copy_files", counted)
    return made


def test_the_files_copied_by_workers_are_published_hashed_and_remembered(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, files = _project(tmp_path)
    here = _each_worker_ends_first(monkeypatch)
    started = workers_started(monkeypatch)
    one_by_one = _uploaded_one_by_one(monkeypatch)
    cache = tmp_path / "cache"
    (pushed,) = Project.load(start=root, environ={"FSARTIFACTS_CACHE_DIR": str(cache)}).push("data")
    assert pushed.action == "pushed", pushed.error
    assert [len(copies) for copies in started] == [20, 20]  # a share each
    assert here == [0, 0]  # each share copied by its worker: none left to take from its end
    assert one_by_one == []  # every file copied by a worker
    stored = _store(tmp_path) / "data_v1.0.0"
    assert tree_digest(stored) == tree_digest(root / "data")
    for path in files:  # each mode kept
        copy = stored / path.relative_to(root / "data")
        assert copy.stat().st_mode == path.stat().st_mode, copy
    manifest = json.loads((_store(tmp_path) / "data_v1.0.0.manifest.json").read_bytes())
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
        p.relative_to(root / "data").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
    }
    # Every file is remembered with the digest of what was copied: none is read again.
    hashes = HashCache(cache / "hashes")
    for path in files:
        assert hashes.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (hashes.hits, hashes.misses) == (COUNT, 0)


@pytest.mark.parametrize(("jobs", "started"), [(1, 0), (2, 1), (3, 2), (8, 2)])
def test_the_workers_beside_a_push_are_within_its_jobs(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch, jobs: int, started: int
) -> None:
    """-j bounds every transfer in flight: the push's own batch holds a slot of the run,
    and each worker one that was free, for as long as it runs (up to two are wanted)."""
    root, _ = _project(tmp_path)
    made = workers_started(monkeypatch)
    (pushed,) = Project.load(start=root, environ={}, jobs=jobs).push("data")
    assert pushed.action == "pushed", pushed.error
    assert tree_digest(_store(tmp_path) / "data_v1.0.0") == tree_digest(root / "data")
    assert len(made) == started


def test_a_worker_killed_mid_push_leaves_its_files_to_the_push(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed once it has written some of its files: what it wrote is not taken
    (it handed back nothing), the push takes the rest of its share from the end, up to
    the first file the worker wrote, copies each of those again, and the folder
    published is the project's, byte for byte."""
    monkeypatch.setattr(copyworker, "cores", lambda: 2)  # one worker, the second half
    monkeypatch.setattr(copyworker, "SHARE_MIN", 4)
    root, _ = _project(tmp_path, 6000)
    killed = kill_each_worker_once_it_copies(monkeypatch)
    one_by_one = _uploaded_one_by_one(monkeypatch)
    (pushed,) = Project.load(start=root, environ={}).push("data")
    assert pushed.action == "pushed", pushed.error
    assert killed.process.returncode == -signal.SIGKILL
    written, share = killed.written, killed.share
    assert 0 < written < share, "the worker ended before the test could kill it"
    assert len(one_by_one) == written  # what it wrote, copied again one by one
    assert tree_digest(_store(tmp_path) / "data_v1.0.0") == tree_digest(root / "data")


def test_a_file_replaced_after_the_walk_in_a_workers_share_fails_the_push(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker copies whatever is at the name by then: its copy is not taken (another
    inode than the walk found), and the push fails on it, publishing nothing."""
    root, files = _project(tmp_path)
    replaced = files[-1]  # the last files are the workers'
    real = LocalOps.upload_folder

    def replace_then_upload(self: LocalOps, *args: Any, **kwargs: Any) -> None:
        other = replaced.with_name("other")
        other.write_bytes(b"something else")
        other.replace(replaced)
        real(self, *args, **kwargs)

    monkeypatch.setattr(LocalOps, "upload_folder", replace_then_upload)
    (pushed,) = Project.load(start=root, environ={}).push("data")
    assert pushed.action == "failed"
    assert pushed.error is not None and "changed while it was being pushed" in pushed.error
    assert replaced.name in pushed.error
    assert not _store(tmp_path).exists() or list(_store(tmp_path).iterdir()) == []


def test_a_file_changed_after_a_worker_copied_it_fails_the_push(
    tmp_path: Path, workers: None
) -> None:
    """A file rewritten once copied (the store's copy holds what it was): the check after
    the upload finds it changed, and what the push wrote goes."""
    root, files = _project(tmp_path)
    changed = files[-1]

    class RewriteOnceRemembered(HashCache):
        def remember_found(self, real: str, found: Any) -> int:
            count = super().remember_found(real, found)
            changed.write_bytes(b"rewritten")
            return count

    project = Project.load(start=root, environ={})
    engine = Engine(project.store, root, transfer=project.config.transfer,
                    hash_cache=RewriteOnceRemembered())  # fmt: skip
    (pushed,) = engine.run(lambda a: engine.push(a, V1), [Artifact("data", "data")])
    assert pushed.action == "failed"
    assert pushed.error is not None and "changed while it was being pushed" in pushed.error
    assert changed.name in pushed.error
    assert not _store(tmp_path).exists() or list(_store(tmp_path).iterdir()) == []


def test_a_large_folder_is_copied_a_batch_at_a_time(
    tmp_path: Path, workers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is kept of each file while it is copied is bounded by a batch, whatever the
    folder's size: each batch has workers of its own, with a share of it."""
    monkeypatch.setattr(smallfiles, "BATCH", 16)
    root, _ = _project(tmp_path)
    started = workers_started(monkeypatch)
    one_by_one = _uploaded_one_by_one(monkeypatch)
    cache = tmp_path / "cache"
    (pushed,) = Project.load(start=root, environ={"FSARTIFACTS_CACHE_DIR": str(cache)}).push("data")
    assert pushed.action == "pushed", pushed.error
    assert [len(copies) for copies in started] == [8, 8, 8, 8, 4, 4]  # 16, 16 and 8 files
    assert one_by_one == []
    assert tree_digest(_store(tmp_path) / "data_v1.0.0") == tree_digest(root / "data")
    hashes = HashCache(cache / "hashes")
    for path in (root / "data").rglob("*.bin"):
        hashes.sha256(path)
    assert (hashes.hits, hashes.misses) == (COUNT, 0)
