"""fsartifacts.lock: unusable lock files, unwritable project roots, and --locked as a whole."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.engine.install import staged_file
from fsartifacts.engine.lockfile import WRITING_SUFFIX, InstallLog, LockEntry
from fsartifacts.errors import LocalError
from tests.fixtures.cli import fsartifacts, start, tree_digest, write_project

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""


def producer(root: Path, seed: str, version: str = "1.0.0") -> Path:
    write_project(root, CONFIG, version)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 1000)
    (root / "data" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "a.csv").write_text(f"x\n{seed}\n")
    (root / "data" / "deep" / "b.bin").write_bytes(seed.encode() * 100)
    return root


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_lock_file_that_is_a_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    root = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=root).returncode == 0
    (root / "fsartifacts.lock").mkdir()
    run = fsartifacts("pull", "ALL", "LATEST", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    line = one_line(run.stderr)
    assert "fsartifacts.lock" in line and "directory" in line
    assert not (root / "model_v1.0.0.pkl").exists()


def test_an_unreadable_lock_file_is_one_line_exit_2(tmp_path: Path) -> None:
    root = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=root).returncode == 0
    assert fsartifacts("pull", "ALL", "LATEST", cwd=root).returncode == 0
    lock = root / "fsartifacts.lock"
    lock.chmod(0)
    try:
        run = fsartifacts("pull", "ALL", "LATEST", "--locked", cwd=root, unprivileged=True)
    finally:
        lock.chmod(0o644)
    assert run.returncode == 2, run.stdout + run.stderr
    line = one_line(run.stderr)
    assert "fsartifacts.lock" in line and "cannot be read" in line


def test_pull_o_into_a_read_only_project_root_installs_nothing(tmp_path: Path) -> None:
    source = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=source).returncode == 0
    root = producer(tmp_path / "consumer", "old")  # writable artifact folders, old content
    before = tree_digest(root)
    root.chmod(0o555)
    try:
        run = fsartifacts("pull", "ALL", "LATEST", "-o", cwd=root, unprivileged=True)
    finally:
        root.chmod(0o755)
    assert run.returncode == 1, run.stdout + run.stderr
    line = one_line(run.stderr)
    assert "fsartifacts.lock" in line and "nothing was installed" in line
    assert tree_digest(root) == before


def test_locked_pull_checks_every_artifact_before_installing_any(tmp_path: Path) -> None:
    source = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=source).returncode == 0
    consumer = write_project(tmp_path / "consumer", CONFIG)
    assert fsartifacts("pull", "ALL", "LATEST", cwd=consumer).returncode == 0
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("fsartifacts.yaml", "VERSION", "fsartifacts.lock"):
        shutil.copy(consumer / name, clone / name)

    # The folder is still as locked; the file was replaced on the store since.
    producer(source, "replaced")
    assert fsartifacts("push", "model", "--force", cwd=source).returncode == 0
    lock = (clone / "fsartifacts.lock").read_text()
    run = fsartifacts("pull", "ALL", "LATEST", "--locked", cwd=clone)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "differs from what fsartifacts.lock recorded" in run.stderr
    assert sorted(p.name for p in clone.iterdir()) == ["VERSION", "fsartifacts.lock",
                                                       "fsartifacts.yaml"]  # fmt: skip
    assert (clone / "fsartifacts.lock").read_text() == lock
    assert "not installed" in run.stdout

    # A locked copy gone from the store stops the others just the same.
    shutil.rmtree(tmp_path / "store" / "data_v1.0.0")
    (tmp_path / "store" / "data_v1.0.0.manifest.json").unlink()
    run = fsartifacts("pull", "ALL", "LATEST", "--locked", cwd=clone)
    assert run.returncode == 1 and "gone from the store" in run.stderr
    assert sorted(p.name for p in clone.iterdir()) == ["VERSION", "fsartifacts.lock",
                                                       "fsartifacts.yaml"]  # fmt: skip


def test_a_lock_entry_naming_something_outside_the_store_root_is_refused(tmp_path: Path) -> None:
    root = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=root).returncode == 0
    assert fsartifacts("pull", "model", "1.0.0", "-o", cwd=root).returncode == 0
    # A file beside the store, with the sidecar a folder store would have.
    secret = tmp_path / "secret.pkl"
    secret.write_bytes(b"not an artifact")
    shutil.copy(tmp_path / "store" / "model_v1.0.0.pkl.sha256", tmp_path / "secret.pkl.sha256")
    lock = root / "fsartifacts.lock"
    lock.write_text(lock.read_text().replace("remote: model_v1.0.0.pkl", "remote: ../secret.pkl"))
    before = tree_digest(root / "models")
    run = fsartifacts("pull", "model", "1.0.0", "-o", "--locked", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "'../secret.pkl' is not a name in the store" in one_line(run.stderr)
    assert tree_digest(root / "models") == before


def test_a_lock_entry_edited_to_a_range_or_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    root = producer(tmp_path / "p", "one")
    assert fsartifacts("push", "ALL", cwd=root).returncode == 0
    assert fsartifacts("pull", "model", "1.0.0", "-o", cwd=root).returncode == 0
    lock = root / "fsartifacts.lock"
    written = lock.read_text()
    for edit, said in (
        (("version: 1.0.0", "version: ^1.0"), "'^1.0' is not an exact version"),
        (("kind: file", "kind: tree"), "'tree' is not a kind"),
        # Entries that disagree: the bytes of one copy would be installed as another's.
        (("version: 1.0.0", "version: 1.1.0"), "is not the name of model 1.1.0"),
        (
            ("remote: model_v1.0.0.pkl", "remote: .model.fsartifacts-alias.prod.json"),
            "is not the name of model 1.0.0",
        ),
    ):
        lock.write_text(written.replace(*edit))
        run = fsartifacts("pull", "model", "-o", "--locked", cwd=root)
        assert run.returncode == 2, run.stdout + run.stderr
        line = one_line(run.stderr)
        assert "not a lock file fsartifacts can read" in line and said in line, line


def test_once_a_run_has_closed_its_install_log_nothing_more_is_installed(tmp_path: Path) -> None:
    """An interrupted run closes the log to write the lock file; a worker still running
    then leaves its destination as it was instead of installing what nobody records."""
    installs, dest = InstallLog(), tmp_path / "model.bin"
    dest.write_bytes(b"old")
    assert installs.close() == {}
    refused = pytest.raises(LocalError, match="model: not installed, the pull was interrupted")
    with refused, staged_file(dest, partial(installs.installing, "model", lambda: None)) as out:
        out.file.write(b"new")
    assert dest.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [dest]


ENTRY = LockEntry(version="1.0.0", remote="model_v1.0.0.pkl", kind="file", sha256="0" * 64, size=1)


def test_an_install_s_entry_is_written_before_its_step_ends_and_not_again_at_the_end() -> None:
    written: list[dict[str, LockEntry]] = []
    log = InstallLog(lambda entries: written.append(dict(entries)))
    with log.installing("model", lambda: ENTRY):
        assert written == []
    assert written == [{"model": ENTRY}]
    log.record("model", ENTRY)  # the result reported after its install
    assert log.close() == {}


def test_an_install_whose_lock_file_write_fails_leaves_its_entry_for_the_end_of_the_run() -> None:
    def write(entries: object) -> None:
        raise LocalError("cannot write fsartifacts.lock (No space left on device)")

    log = InstallLog(write)
    with pytest.raises(LocalError, match="No space left"), log.installing("model", lambda: ENTRY):
        pass
    assert log.close() == {"model": ENTRY}


HOLD_THE_WRITE_LOCK = """\
import os, signal, sys
from pathlib import Path
from typing import Any
from fsartifacts import locks
fd = locks.take(Path(sys.argv[1]))
print("held", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
"""


@pytest.fixture
def stopped_writer(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A consumer project whose lock file's write lock is held by a process stopped
    with SIGSTOP (as Ctrl-Z stops one): (the project, the holder's pid)."""
    producer(tmp_path / "producer", "a")
    assert fsartifacts("push", "ALL", cwd=tmp_path / "producer").returncode == 0
    consumer = write_project(tmp_path / "consumer", CONFIG)
    guard = consumer / f".fsartifacts.lock{WRITING_SUFFIX}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(guard)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield consumer, holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_pull_waits_a_bounded_time_for_a_stopped_writer_of_the_lock_file(
    stopped_writer: tuple[Path, int],
) -> None:
    consumer, pid = stopped_writer
    done = fsartifacts("pull", "model", cwd=consumer, env={"FSARTIFACTS_TIMEOUT": "2"}, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    # Said once while it waits: who holds the lock, and how to stop waiting.
    waits = [line for line in done.stderr.splitlines() if "Ctrl-C stops waiting" in line]
    assert len(waits) == 1 and f"process {pid} (stopped) holds" in waits[0], done.stderr
    failed = [line for line in done.stderr.splitlines() if "was not updated" in line]
    assert len(failed) == 1, done.stderr
    assert f".fsartifacts.lock{WRITING_SUFFIX}" in failed[0] and f"process {pid}" in failed[0]
    assert (consumer / "model_v1.0.0.pkl").is_file()  # installed, not recorded
    assert not (consumer / "fsartifacts.lock").exists()


def test_ctrl_c_ends_the_wait_for_a_stopped_writer_of_the_lock_file(
    stopped_writer: tuple[Path, int],
) -> None:
    consumer, _ = stopped_writer
    # Two artifacts: the one waiting is a worker thread, not the one Ctrl-C lands in.
    pull = start("pull", "ALL", cwd=consumer, env={"FSARTIFACTS_TIMEOUT": "600"})
    assert pull.stderr is not None
    for line in pull.stderr:  # the announcement: it is waiting now
        if "Ctrl-C stops waiting" in line:
            break
    pull.send_signal(signal.SIGINT)
    _, err = pull.communicate(timeout=60)  # far below the 600 s it would wait
    assert pull.returncode == 130, err
    assert "Traceback" not in err


def _entries() -> dict[str, LockEntry]:
    """Lock entries of every shape: singular, partial, names and patterns that YAML must
    quote, fold or write as a complex key."""
    digest = "ab" * 32
    return {
        "model": LockEntry("1.4.0", "model_v1.4.0.pkl", "file", digest, 12, "LATEST"),
        "labels": LockEntry(None, "labels.json", "file", digest, 0),
        "features": LockEntry("2.0.0-rc.1+b7", "features_v2.0.0-rc.1+b7", "folder", digest,
                              10**12, "^2.0", ("*.parquet", "!keep/ #x"), ("tmp/**",)),
        "yes": LockEntry("1.0.0", "yes_v1.0.0", "file", digest, 1, "@prod"),
        "n" * 130: LockEntry("1.0.0", "n_v1.0.0", "file", digest, 1, "1.0.0"),
        "données": LockEntry("1.0.0", "d_v1.0.0", "file", digest, 1, "x" * 200 + " é"),
    }  # fmt: skip


def test_the_lock_file_is_written_as_one_dump_of_the_whole_document(tmp_path: Path) -> None:
    """Written block by block, the lock file holds the very bytes of a dump of the whole
    document, whichever entries it holds (none too)."""
    from fsartifacts import yamlio
    from fsartifacts.engine.lockfile import FORMAT, HEADER, LockFile

    entries = _entries()
    for chosen in ({}, {"model": entries["model"]}, entries):
        lock = LockFile(tmp_path / "fsartifacts.lock", "https://example.com/a: b", dict(chosen))
        whole = {
            "format": FORMAT,
            "store": lock.store,
            "artifacts": {name: entry.to_dict() for name, entry in sorted(chosen.items())},
        }
        expected = HEADER + yamlio.dump(whole, sort_keys=True, default_flow_style=False)
        assert lock.write() == expected.encode("utf-8")
        assert LockFile.read(tmp_path).artifacts == chosen


def test_recording_installs_one_at_a_time_dumps_each_entry_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull writes the lock file once per install: 50 installs dump 50 entries, where
    dumping the whole file each time dumped 1 + 2 + ... + 50 = 1,275 of them."""
    from fsartifacts import yamlio
    from fsartifacts.engine.lockfile import LockFile

    dumped = []
    real_dump = yamlio.dump

    def counting(data: Any, **options: Any) -> str:
        dumped.append(len(data.get("artifacts") or {}))
        return real_dump(data, **options)

    monkeypatch.setattr(yamlio, "dump", counting)
    lock = LockFile.read(tmp_path)
    digest = "cd" * 32
    for i in range(50):
        entry = LockEntry("1.0.0", f"a{i:02d}_v1.0.0.bin", "file", digest, i, "LATEST")
        lock.add("store", {f"a{i:02d}": entry})
    assert len(LockFile.read(tmp_path).artifacts or {}) == 50
    assert sum(dumped) <= 50, sum(dumped)
