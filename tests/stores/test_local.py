"""The folder store's copies: hard links to what is already there, checked first."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from fsartifacts.hashing import (
    CHUNK,
    THREADED_MIN,
    DigestsOnUse,
    FileDigests,
    HashingWriter,
    ReadFile,
)
from fsartifacts.stores.base import StoredCopy
from fsartifacts.stores.local import LocalOps
from tests.fixtures.cli import in_process, write_project
from tests.fixtures.syscalls import fsyncs_below


def stored(path: Path, data: bytes) -> StoredCopy:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredCopy(str(path), len(data), hashlib.sha256(data).hexdigest())


def test_a_copy_is_a_hard_link_that_outlives_its_source(tmp_path: Path) -> None:
    ops = LocalOps(LocalFileSystem())
    source = stored(tmp_path / "data_v1.0.0" / "a.bin", b"a" * 5000)
    target = tmp_path / "model_v1.0.1.bin"
    assert ops.copy(source, str(target), exclusive=True, record=True)
    assert target.stat().st_ino == Path(source.path).stat().st_ino
    assert ops.recorded_sha256(str(target)) == source.sha256
    os.unlink(source.path)
    assert target.read_bytes() == b"a" * 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data_v1.0.0",
        "model_v1.0.1.bin",
        "model_v1.0.1.bin.sha256",
    ]


def test_a_source_that_changed_is_not_linked(tmp_path: Path) -> None:
    ops = LocalOps(LocalFileSystem())
    source = stored(tmp_path / "v1" / "a.bin", b"a" * 5000)
    Path(source.path).write_bytes(b"b" * 5000)  # same size, other bytes
    assert not ops.copy(source, str(tmp_path / "v2" / "a.bin"))
    Path(source.path).unlink()
    os.symlink(tmp_path / "elsewhere", source.path)  # a link is never followed
    stored(tmp_path / "elsewhere", b"a" * 5000)
    assert not ops.copy(source, str(tmp_path / "v2" / "a.bin"))
    assert not (tmp_path / "v2").exists()


def test_a_large_file_pushed_and_pulled_is_copied_whole_and_hashed(tmp_path: Path) -> None:
    """Past THREADED_MIN the kernel copies it (written back as it goes) and a thread
    hashes what it copied: the bytes and the digest are the file's, to the last byte."""
    ops = LocalOps(LocalFileSystem())
    data = os.urandom(2 * THREADED_MIN + 4321)
    local = tmp_path / "project" / "model.bin"
    local.parent.mkdir()
    local.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    rpath = str(tmp_path / "store" / "model_v1.0.0.bin")
    ops.upload(str(local), rpath, sha256=sha256, exclusive=True)
    assert Path(rpath).read_bytes() == data
    pulled = tmp_path / "pulled.bin"
    with open(pulled, "wb") as out:
        writer = HashingWriter(out, limit=len(data))
        ops.download(rpath, writer)
        writer.flush()
    assert pulled.read_bytes() == data
    assert (writer.bytes, writer.digests()["sha256"]) == (len(data), sha256)


def test_a_folder_is_staged_then_made_durable_at_once_not_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of many small files costs one sync, not an fsync per file; the files are
    in place under the version's name with their bytes, and no staged folder is left."""
    project = tmp_path / "project"
    files = []
    for i in range(40):
        local = project / f"d{i % 4}" / f"{i}.bin"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(os.urandom(100 + i))
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        files.append((str(local), f"d{i % 4}/{i}.bin", {"sha256": digest}))
    synced = fsyncs_below(monkeypatch, tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    LocalOps(LocalFileSystem()).upload_folder(files, str(store / "data_v1.0.0"))
    assert synced.count("file") <= 1  # one syncfs where the system has it
    assert os.listdir(store) == ["data_v1.0.0"]
    for local, relative, _ in files:
        assert (store / "data_v1.0.0" / relative).read_bytes() == Path(local).read_bytes()


def _folder_files(project: Path, count: int, folders: int) -> list[tuple[str, str, dict[str, str]]]:
    files = []
    for i in range(count):
        local = project / f"d{i % folders}" / "deeper" / f"{i}.bin"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(os.urandom(100 + i))
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        files.append((str(local), f"d{i % folders}/deeper/{i}.bin", {"sha256": digest}))
    return files


def test_a_folder_makes_each_of_its_folders_once_and_keeps_each_files_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folders are made when their first file needs them, not once a file; each file keeps
    the permission bits of its local copy."""
    files = _folder_files(tmp_path / "project", 30, 3)
    os.chmod(files[0][0], 0o755)
    os.chmod(files[1][0], 0o640)
    made: list[str] = []
    real_makedirs = os.makedirs

    def counting(name: str, *args: object, **kwargs: object) -> None:
        made.append(name)
        real_makedirs(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "makedirs", counting)
    store = tmp_path / "store"
    LocalOps(LocalFileSystem()).upload_folder(files, str(store / "data_v1.0.0"))
    assert len(made) == len(set(made)) < len(files)  # each folder once, not once a file
    for local, relative, _ in files:
        pushed = store / "data_v1.0.0" / relative
        assert pushed.read_bytes() == Path(local).read_bytes()
        assert stat.S_IMODE(pushed.stat().st_mode) == stat.S_IMODE(os.stat(local).st_mode)
    assert stat.S_IMODE((store / "data_v1.0.0" / files[0][1]).stat().st_mode) == 0o755


def test_a_small_file_not_hashed_yet_is_read_once_and_hashed_from_the_bytes_it_is_written_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One open of each small local file: what is hashed is what is written (by the loop
    that copies the small files, which computes their digests from the bytes it read).
    A file at CHUNK or above is hashed, then copied, as before."""
    sizes = {"small.bin": 1000, "empty.bin": 0, "chunk.bin": CHUNK}
    project = tmp_path / "project"
    project.mkdir()
    reads: dict[str, ReadFile | None] = {}
    files = []
    for name, size in sizes.items():
        local = project / name
        local.write_bytes(os.urandom(size))
        os.chmod(local, 0o640)

        def compute(read: ReadFile | None, local: Path = local) -> FileDigests:
            reads[local.name] = read
            data = local.read_bytes() if read is None else read.data
            return FileDigests({"sha256": hashlib.sha256(data).hexdigest()}, local.stat())

        files.append((str(local), name, DigestsOnUse(local.stat(), compute)))
    opened: list[str] = []
    real_open = os.open

    def counting(path: str, *args: object, **kwargs: object) -> int:
        opened.append(os.fsdecode(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", counting)
    store = tmp_path / "store" / "data_v1.0.0"
    LocalOps(LocalFileSystem()).upload_folder(files, str(store))
    monkeypatch.undo()
    for local, name, digests in files:
        data = Path(local).read_bytes()
        assert (store / name).read_bytes() == data
        assert digests["sha256"] == hashlib.sha256(data).hexdigest()
        assert stat.S_IMODE((store / name).stat().st_mode) == 0o640
        if sizes[name] < CHUNK:
            assert digests.copied and name not in reads, name  # hashed by its copy
        else:
            assert not digests.copied and reads[name] is None, name  # hashed, then copied
        assert opened.count(local) == 1, name  # hashed from the read, or only copied here


def test_a_folder_is_copied_by_chunks_where_the_kernel_cannot_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between filesystems copy_file_range fails: every byte still arrives, by chunks."""

    def refused(*args: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused)
    files = _folder_files(tmp_path / "project", 6, 2)
    big = tmp_path / "project" / "big.bin"
    big.write_bytes(os.urandom(THREADED_MIN + 12345))  # past one chunk, in the kernel's way
    files.append((str(big), "big.bin", {"sha256": hashlib.sha256(big.read_bytes()).hexdigest()}))
    store = tmp_path / "store"
    LocalOps(LocalFileSystem()).upload_folder(files, str(store / "data_v1.0.0"))
    for local, relative, _ in files:
        assert (store / "data_v1.0.0" / relative).read_bytes() == Path(local).read_bytes()


LINKED_STORE = """\
repository:
  url: file://./../store
  artifacts:
    - {name: model, file: model.pkl}
    - {name: data, file: data}
"""


@pytest.mark.parametrize("kind", ["file", "folder", "fifo"])
def test_a_link_on_the_store_named_like_a_version_is_no_version(tmp_path: Path, kind: str) -> None:
    """A pull refuses a link on a folder store (a link is never followed), or a FIFO: list
    and info do not offer one as a version either (a warning names it), and the versions
    beside it stay."""
    project = write_project(tmp_path / "project", LINKED_STORE)
    (project / "model.pkl").write_bytes(b"model")
    (project / "data").mkdir()
    (project / "data" / "a.csv").write_text("a\n")
    name = "data" if kind == "folder" else "model"
    assert in_process("push", name, cwd=project).returncode == 0
    (project / "VERSION").write_text("1.2.0\n")  # LATEST would be 1.1.0, were it a version
    store = tmp_path / "store"
    elsewhere = tmp_path / "elsewhere"
    if kind == "file":
        elsewhere.write_bytes(b"someone else's")
        (store / "model_v1.1.0.pkl").symlink_to(elsewhere)
    elif kind == "fifo":
        os.mkfifo(store / "model_v1.1.0.pkl")
    else:
        shutil.copytree(store / "data_v1.0.0", elsewhere)
        (store / "data_v1.1.0").symlink_to(elsewhere, target_is_directory=True)
        shutil.copy(store / "data_v1.0.0.manifest.json", store / "data_v1.1.0.manifest.json")
    listed = in_process("list", name, "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    kind = {"file": "a symbolic link", "folder": "a symbolic link", "fifo": "a FIFO"}[kind]
    (warning,) = listed.stderr.splitlines()  # said once, though the store is listed twice
    assert f"_v1.1.0{'.pkl' if name == 'model' else ''} on the store: it is {kind}" in warning
    assert [v["version"] for v in json.loads(listed.stdout)["artifacts"][0]["versions"]] == [
        "1.0.0"
    ]
    info = in_process("info", name, "1.1.0", cwd=project)
    assert (info.returncode, info.stdout) == (1, ""), info.stdout
    assert "no version 1.1.0" in info.stderr and "Traceback" not in info.stderr
    pulled = in_process("pull", name, "LATEST", cwd=project)
    assert pulled.returncode == 0, pulled.stderr
    assert "1.0.0" in pulled.stdout and "1.1.0" not in pulled.stdout
