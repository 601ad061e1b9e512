"""What a push reads: files that change while they are pushed, on every kind of store."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import semver
from fsspec.callbacks import Callback

from fsartifacts import Project
from fsartifacts.config.model import Artifact
from fsartifacts.engine.options import PullOptions
from fsartifacts.engine.runner import Engine
from fsartifacts.errors import LocalError
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import CHUNK, FileDigests
from fsartifacts.stores.local import LocalOps
from tests.fixtures.cli import fsartifacts, in_process, write_project
from tests.fixtures.remotes import Remote, yaml_config

MODEL = "    - name: model\n      file: model.pkl\n"


def before_the_folder_upload(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` once, just before the folder store copies a folder's files (the push
    has listed the folder by then): another process changing the folder after the walk,
    made deterministic. (The folder store copies a small file not hashed yet and hashes
    it in one loop, no lookup in the hash cache on the way that a hook could use.)"""
    real = LocalOps.upload_folder
    fired: list[bool] = []

    def upload_folder(self: LocalOps, *args: Any, **kwargs: Any) -> None:
        if not fired:
            fired.append(True)
            action()
        real(self, *args, **kwargs)

    monkeypatch.setattr(LocalOps, "upload_folder", upload_folder)


class RewriteOnFirstProgress(Callback):
    """A progress callback that rewrites ``path`` once the upload has started moving
    bytes: another process writing the file while it is pushed, made deterministic."""

    def __init__(self, path: Path, data: bytes) -> None:
        super().__init__()
        self.path, self.data, self.fired = path, data, False

    def call(self, *args: Any, **kwargs: Any) -> None:
        if not self.fired and self.value > 0:
            self.fired = True
            self.path.write_bytes(self.data)


def test_a_file_changed_while_it_is_pushed_fails_and_leaves_nothing(
    remote: Remote, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "p", yaml_config(remote, MODEL), "1.0.0")
    model = root / "model.pkl"
    model.write_bytes(b"version one\n" * 400)
    before = remote.digest()
    project = Project.load(start=root, environ={})
    hooks: list[RewriteOnFirstProgress] = []

    def progress(label: str, size: int | None) -> Callback:
        hooks.append(RewriteOnFirstProgress(model, b"version two, longer\n" * 400))
        return hooks[-1]

    project.progress = progress
    (result,) = project.push("model")
    assert [h.fired for h in hooks] == [True]
    assert result.action == "failed"
    assert result.error is not None
    assert "model.pkl changed while it was being pushed" in result.error, result.error
    assert result.exit_code == 1
    # What the push wrote is gone: no copy under a sha256 that is not its content.
    assert remote.digest() == before
    assert "model_v1.0.0.pkl" not in remote.names()

    # Once the file is stable, the push goes through.
    (again,) = Project.load(start=root, environ={}).push("model")
    assert again.action == "pushed", again.error
    assert remote.read("model_v1.0.0.pkl") == b"version two, longer\n" * 400


class RewriteAfterHashing(HashCache):
    """The hash cache, which rewrites one file right after hashing it: another process
    writing the file between the push's hashing and its upload, made deterministic. (A
    small file pushed to a folder store is hashed by the copy that writes it: it is
    rewritten once the digests of the folder's copies are remembered, before the check
    that follows the upload.)"""

    def __init__(self, target: Path, data: bytes) -> None:
        super().__init__()
        self.target, self.data, self.fired = target, data, False

    def digests(self, path: Any, algorithms: Any = ("sha256",), **options: Any) -> FileDigests:
        found = super().digests(path, algorithms, **options)
        if Path(path) == self.target and not self.fired:
            self.fire()
        return found

    def remember_found(self, real: str, files: Any) -> int:
        count = super().remember_found(real, files)
        if count and not self.fired:
            self.fire()
        return count

    def fire(self) -> None:
        self.fired = True
        self.target.write_bytes(self.data)


def test_a_folder_file_changed_during_the_push_fails_and_publishes_nothing(
    remote: Remote, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "p", yaml_config(remote, "    - {name: data, file: data}\n"))
    (root / "data" / "deep").mkdir(parents=True)
    (root / "data" / "a.csv").write_text("x\n1\n")
    changing = root / "data" / "deep" / "b.bin"
    changing.write_bytes(b"b" * 3000)
    project = Project.load(start=root, environ={})
    hook = RewriteAfterHashing(changing, b"c" * 3000)  # same size: only the identity tells
    engine = Engine(project.store, root, transfer=project.config.transfer, hash_cache=hook)
    before = remote.digest()

    with pytest.raises(LocalError, match=r"b\.bin changed while it was being pushed"):
        engine.push(Artifact("data", "data"), semver.Version.parse("1.0.0"))
    assert hook.fired
    assert remote.digest() == before  # no manifest, and no folder left behind

    (again,) = Project.load(start=root, environ={}).push("data")
    assert again.action == "pushed", again.error
    assert remote.read("data_v1.0.0/deep/b.bin") == b"c" * 3000


# -- what a push refuses to read ---------------------------------------------------


def test_a_symlink_inside_a_folder_artifact_is_refused_never_followed(
    remote: Remote, tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(b"root:$6$secret-hash")
    root = write_project(tmp_path / "p", yaml_config(remote, "    - {name: data, file: data}\n"))
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("x\n1\n")
    (root / "data" / "innocent.txt").symlink_to(secret)
    before = remote.digest()

    run = fsartifacts("push", "data", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    assert "data/innocent.txt is a symbolic link" in line, line
    assert "Traceback" not in run.stderr
    assert remote.digest() == before

    # A linked folder inside the artifact is refused the same way.
    (root / "data" / "innocent.txt").unlink()
    (root / "data" / "deep").symlink_to(secret.parent, target_is_directory=True)
    run = fsartifacts("push", "data", cwd=root)
    assert run.returncode == 2
    assert "data/deep is a symbolic link" in run.stderr
    assert remote.digest() == before


FILE_STORE = "repository:\n  url: file://./store\n  artifacts:\n"


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_an_artifact_file_that_is_not_a_regular_file_is_refused_without_reading(
    kind: str, tmp_path: Path
) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: model, file: model.pkl}\n")
    special = root / "model.pkl"
    if kind == "fifo":
        os.mkfifo(special)
    else:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(special))
    try:
        run = fsartifacts("push", "model", cwd=root, timeout=60)  # a read would hang here
    finally:
        if kind == "socket":
            listener.close()
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    what = "a FIFO (named pipe)" if kind == "fifo" else "a socket"
    assert f"model: model.pkl is {what}, not a file or a folder" in line, line
    assert not (root / "store").exists() or list((root / "store").iterdir()) == []


def test_a_link_to_dev_zero_or_a_fifo_in_a_folder_is_refused_without_reading(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("x\n")
    os.mkfifo(root / "data" / "pipe")
    run = fsartifacts("push", "data", cwd=root, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "data/pipe is a FIFO (named pipe), not a file or a folder" in run.stderr
    (root / "data" / "pipe").unlink()
    (root / "data" / "zero").symlink_to("/dev/zero")
    run = fsartifacts("push", "data", cwd=root, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "data/zero is a symbolic link" in run.stderr
    assert not (root / "store").exists() or list((root / "store").iterdir()) == []


@pytest.mark.parametrize("where", ["file", "member", "deep member"])
def test_a_fifo_is_refused_alike_as_the_artifact_file_or_inside_its_folder(
    tmp_path: Path, where: str
) -> None:
    """The project holds something that cannot be pushed, wherever it is in the artifact:
    a usage problem (exit 2), one line naming it and the way out; nothing is published."""
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    shown = {"file": "data", "member": "data/pipe", "deep member": "data/deep/pipe"}[where]
    if where != "file":
        (root / "data" / "deep").mkdir(parents=True)
        (root / "data" / "a.csv").write_text("x\n")
    os.mkfifo(root / shown)
    run = in_process("push", "data", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    way_out = "fix its `file:` in the config" if where == "file" else "move it out of data"
    assert f"data: {shown} is a FIFO (named pipe), not a file or a folder" in line, line
    assert line.endswith(f"{way_out}."), line
    assert not (root / "store").exists() or list((root / "store").iterdir()) == []


def test_a_file_artifact_linked_to_dev_zero_is_refused_without_reading(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: model, file: model.pkl}\n")
    (root / "model.pkl").symlink_to("/dev/zero")
    run = fsartifacts("push", "model", cwd=root, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


def test_sync_pull_over_a_local_folder_holding_a_link_pulls_it_again(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("x\n")
    assert [r.action for r in Project.load(start=root, environ={}).push("data")] == ["pushed"]
    consumer = write_project(tmp_path / "c", FILE_STORE.replace("./store", "./../p/store"))
    (consumer / "fsartifacts.yaml").write_text(
        (consumer / "fsartifacts.yaml").read_text() + "    - {name: data, file: data}\n"
    )
    pulled = Project.load(start=consumer, environ={}).sync_pull("data", "1.0.0")
    assert [r.action for r in pulled] == ["pulled"]
    (consumer / "data_v1.0.0" / "link").symlink_to(tmp_path / "p" / "data" / "a.csv")
    (again,) = Project.load(start=consumer, environ={}).sync_pull("data", "1.0.0")
    assert again.action == "pulled", again.error
    assert sorted(p.name for p in (consumer / "data_v1.0.0").iterdir()) == ["a.csv"]


def test_a_folder_entry_swapped_for_a_link_after_the_walk_is_not_read_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:$6$secret-hash")
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("x\n")
    swapped = root / "data" / "b.bin"
    swapped.write_bytes(b"b" * 100)

    def swap() -> None:
        swapped.unlink()
        swapped.symlink_to(secret)

    before_the_folder_upload(monkeypatch, swap)
    project = Project.load(start=root, environ={})
    engine = Engine(project.store, root, transfer=project.config.transfer)
    with pytest.raises(LocalError, match=r"b\.bin changed while it was being pushed"):
        engine.push(Artifact("data", "data"), semver.Version.parse("1.0.0"))
    assert swapped.is_symlink()
    assert not (root / "store").exists() or list((root / "store").iterdir()) == []


class DeleteBeforeHashing(HashCache):
    """The hash cache, which deletes one file just before hashing it: another process
    removing the file after the push (or a sync pull) found it, made deterministic (a
    small file of a folder pushed to a folder store is hashed from the bytes its upload
    read: it goes once they are copied, and the check after the upload finds it gone)."""

    def __init__(self, target: Path) -> None:
        super().__init__()
        self.target, self.fired = target, False

    def digests(self, path: Any, algorithms: Any = ("sha256",), **options: Any) -> FileDigests:
        if Path(path) == self.target and not self.fired:
            self.fire()
        return super().digests(path, algorithms, **options)

    def known(self, path: Any, algorithms: Any) -> bool:
        """Deleted once the cache is asked about it: the folder store then hashes the
        file as it uploads it, and finds it gone as it opens it."""
        found = super().known(path, algorithms)
        if Path(path) == self.target and not self.fired:
            self.fire()
        return found

    def fire(self) -> None:
        self.fired = True
        self.target.unlink()


class CountsSentWhenHashing(HashCache):
    """The hash cache, noting as it hashes each file how many files of the folder the
    store holds by then."""

    def __init__(self, store: Path) -> None:
        super().__init__()
        self.store, self.seen = store, list[int]()

    def digests(self, path: Any, algorithms: Any = ("sha256",), **options: Any) -> FileDigests:
        self.seen.append(sum(1 for p in self.store.rglob("*.bin") if p.is_file()))
        return super().digests(path, algorithms, **options)


def test_a_folder_push_hashes_each_file_as_it_sends_it(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    # Files of a chunk: each is hashed, then copied (a smaller one is hashed by its copy).
    for i in range(4):
        (root / "data" / "sub").mkdir(parents=True, exist_ok=True)
        (root / "data" / "sub" / f"{i}.bin").write_bytes(bytes([i]) * CHUNK)
    project = Project.load(start=root, environ={})
    hook = CountsSentWhenHashing(root / "store")
    engine = Engine(project.store, root, jobs=1, transfer=project.config.transfer,
                    hash_cache=hook)  # fmt: skip
    (result,) = engine.run(
        lambda a: engine.push(a, semver.Version.parse("1.0.0")), [Artifact("data", "data")]
    )
    assert result.action == "pushed", result.error
    # Each file is hashed once, by the worker that sends it, after those before it were
    # sent: no pass over the whole folder before the first upload.
    assert hook.seen == [0, 1, 2, 3]
    assert (root / "store" / "data_v1.0.0.manifest.json").is_file()
    for i in range(4):
        assert (root / "store" / "data_v1.0.0" / "sub" / f"{i}.bin").read_bytes() == bytes(
            [i]
        ) * CHUNK


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_local_file_gone_before_it_is_read_is_a_local_failure_naming_it(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + "    - {name: data, file: data}\n")
    if kind == "folder":
        (root / "data").mkdir()
        (root / "data" / "a.csv").write_text("x\n")
        gone = root / "data" / "b.bin"
    else:
        gone = root / "data"
    gone.write_bytes(b"b" * 100)
    project = Project.load(start=root, environ={})
    hook = DeleteBeforeHashing(gone)
    if kind == "folder":  # copied and hashed in one loop: gone before it starts
        before_the_folder_upload(monkeypatch, hook.fire)
    engine = Engine(project.store, root, transfer=project.config.transfer, hash_cache=hook)
    (result,) = engine.run(
        lambda a: engine.push(a, semver.Version.parse("1.0.0")), [Artifact("data", "data")]
    )
    assert hook.fired
    assert result.action == "failed"
    assert isinstance(result.exception, LocalError), result.error
    assert result.error is not None and str(gone) in result.error
    assert "disappeared while it was being pushed" in result.error
    assert "not found on" not in result.error  # it is the project's file that is missing
    assert not (root / "store").exists() or list((root / "store").iterdir()) == []


def test_a_local_copy_gone_before_sync_pull_reads_it_is_pulled_again(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", FILE_STORE + MODEL)
    (root / "model.pkl").write_bytes(b"m" * 100)
    assert [r.action for r in Project.load(start=root, environ={}).push("model")] == ["pushed"]
    gone = root / "model_v1.0.0.pkl"  # the copy a sync pull of 1.0.0 finds in place
    gone.write_bytes(b"m" * 100)
    project = Project.load(start=root, environ={})
    hook = DeleteBeforeHashing(gone)
    engine = Engine(project.store, root, transfer=project.config.transfer, hash_cache=hook)
    (result,) = engine.run(
        lambda a: engine.pull(a, "1.0.0", semver.Version.parse("1.0.0"),
                              PullOptions(skip_current=True)),
        [Artifact("model", "model.pkl")],
    )  # fmt: skip
    assert hook.fired
    assert result.action == "pulled", result.error
    assert gone.read_bytes() == b"m" * 100
