"""Pulls from a hostile folder store: links, FIFOs, devices and entries larger than recorded.

Each case plants something fsartifacts never writes into a pushed version on a
folder store, then runs the installed command with a subprocess timeout: the
pull must fail with one clear line, write nothing beyond the recorded size and
leave the destination as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.errors import IntegrityError, NotFoundError
from fsartifacts.hashing import HashingWriter
from fsartifacts.stores.local import LocalOps
from tests.fixtures.cli import fsartifacts, tree_digest, write_project

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""
SECRET = b"root:x:0:0:the secret a link points at\n"
HUGE = 17 * 1024**3  # a sparse file: as large as what such a pull once wrote, costing no disk


def pushed(tmp_path: Path) -> tuple[Path, Path]:
    """A project that pushed model 1.0.0 and data 1.0.0 (a folder); (project, store)."""
    root = write_project(tmp_path / "project", CONFIG, "1.0.0")
    (root / "models").mkdir()
    (root / "models" / "model.pkl").write_bytes(b"model bytes\n" * 100)
    (root / "data" / "deep").mkdir(parents=True)
    (root / "data" / "a.csv").write_bytes(b"hello")
    (root / "data" / "deep" / "b.bin").write_bytes(b"b" * 300)
    assert {r.action for r in Project.load(start=root, environ={}).push("ALL")} == {"pushed"}
    # The project's folder moves on after the push: a pull must fetch each file from the
    # store, where a file it still held would be copied from it instead.
    (root / "data" / "a.csv").write_bytes(b"local")
    (root / "data" / "deep" / "b.bin").write_bytes(b"c" * 300)
    return root, tmp_path / "store"


def record(store: Path, path: str, data: bytes) -> None:
    """Make the manifest of data 1.0.0 say ``path`` holds ``data``, as a forger would."""
    manifest = store / "data_v1.0.0.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"] = [f for f in doc["files"] if f["path"] != path]
    doc["files"].append(
        {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    manifest.write_text(json.dumps(doc))


def refused(root: Path, *args: str, says: str) -> str:
    """Run ``pull ARGS -o`` and check it failed with one line saying ``says``; its stderr."""
    before = tree_digest(root)
    run = fsartifacts("pull", *args, "-o", cwd=root, timeout=60)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert tree_digest(root) == before  # the destination as it was, no temporary left
    assert SECRET not in b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    return run.stderr


def ignored(root: Path, *args: str, entry: str, kind: str = "a symbolic link") -> None:
    """Run ``pull ARGS -o`` and check that the store's ``entry`` was no copy to it: a
    warning naming it, then no such version; nothing written, nothing read through it."""
    before = tree_digest(root)
    run = fsartifacts("pull", *args, "-o", cwd=root, timeout=60)
    assert run.returncode == 1, (run.stdout, run.stderr)
    warning, error = run.stderr.strip().splitlines()
    assert f"/store/{entry} on the store: it is {kind}" in warning, warning
    assert f"no version {args[1]}" in error, error
    assert tree_digest(root) == before  # the destination as it was, no temporary left
    assert SECRET not in b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_a_file_version_linked_to_dev_zero_is_refused_without_writing(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    (store / "model_v1.0.0.pkl").unlink()
    (store / "model_v1.0.0.pkl").symlink_to("/dev/zero")
    ignored(root, "model", "1.0.0", entry="model_v1.0.0.pkl")


def test_a_link_in_a_folder_version_is_not_followed(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    (store / "data_v1.0.0" / "pw").symlink_to(secret)
    record(store, "pw", SECRET)  # the manifest vouches for it: only the link check stops it
    refused(root, "data", "1.0.0", says="data_v1.0.0/pw on the store: it is a symbolic link")


def test_a_linked_folder_inside_a_folder_version_is_not_followed(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(SECRET)
    (store / "data_v1.0.0" / "etc").symlink_to(outside)
    record(store, "etc/passwd", SECRET)
    refused(
        root,
        "data",
        "1.0.0",
        says="data_v1.0.0/etc on the store: it is a symbolic link where a folder",
    )


def test_a_folder_version_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    real = tmp_path / "elsewhere"
    (store / "data_v1.0.0").rename(real)
    (store / "data_v1.0.0").symlink_to(real)
    ignored(root, "data", "1.0.0", entry="data_v1.0.0")


def test_a_fifo_in_a_folder_version_is_refused_instead_of_hanging(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    (store / "data_v1.0.0" / "a.csv").unlink()
    os.mkfifo(store / "data_v1.0.0" / "a.csv")
    refused(
        root,
        "data",
        "1.0.0",
        says="a.csv on the store: it is a FIFO (named pipe), not a regular file",
    )


def test_a_folder_entry_larger_than_its_manifest_stops_at_the_recorded_size(
    tmp_path: Path,
) -> None:
    root, store = pushed(tmp_path)
    entry = store / "data_v1.0.0" / "a.csv"  # the manifest says 5 bytes ("hello")
    with open(entry, "r+b") as f:
        f.truncate(HUGE)
    refused(root, "data", "1.0.0", says="sent more than the 5 bytes it lists")


def test_a_device_is_refused_and_every_download_stops_past_the_listed_size(
    tmp_path: Path,
) -> None:
    from fsspec.implementations.local import LocalFileSystem

    ops = LocalOps(LocalFileSystem())
    with open(tmp_path / "out", "wb") as out:
        with pytest.raises(IntegrityError, match="it is a character device, not a regular file"):
            ops.download("/dev/zero", HashingWriter(out))
        writer = HashingWriter(out, limit=3, what="x")
        with pytest.raises(IntegrityError, match="x: the store sent more than the 3 bytes"):
            writer.write(b"four")
    assert (tmp_path / "out").stat().st_size == 0


def test_project_open_refuses_a_linked_store_file(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    (store / "model_v1.0.0.pkl").unlink()
    (store / "model_v1.0.0.pkl").symlink_to("/dev/zero")
    with pytest.raises(NotFoundError, match=r"no version 1\.0\.0"):
        Project.load(start=root, environ={}).open("model", "1.0.0")


def test_a_linked_manifest_is_not_read(tmp_path: Path) -> None:
    root, store = pushed(tmp_path)
    (store / "data_v1.0.0.manifest.json").unlink()
    (store / "data_v1.0.0.manifest.json").symlink_to("/dev/zero")
    ignored(root, "data", "1.0.0", entry="data_v1.0.0.manifest.json")


def test_a_folder_left_moved_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    """A pull killed between the two renames of a folder swap leaves the old folder under
    an ``.old`` temporary name and no destination: the next pull puts it back."""
    root, store = pushed(tmp_path)
    old = tree_digest(root / "data")
    (root / "data").rename(root / ".data.fsartifacts-0123456789ab.old.part")
    (store / "data_v1.0.0" / "a.csv").write_bytes(b"HELLO")  # this pull fails: damaged
    run = fsartifacts("pull", "data", "1.0.0", "-o", cwd=root, timeout=60)
    assert run.returncode == 1 and "the copy on the store is damaged" in run.stderr
    assert tree_digest(root / "data") == old
    assert not list(root.glob(".data.fsartifacts-*"))


def test_a_link_planted_in_the_kept_members_is_never_written_through(tmp_path: Path) -> None:
    # The folder of members kept for the next pull is the pull's alone: a link planted as
    # one of its folders must not make the pull unlink or hard-link a file outside it.
    root, _ = pushed(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.bin").write_bytes(SECRET)
    kept = root / ".data.fsartifacts-kept.part"
    kept.mkdir()
    (kept / "deep").symlink_to(outside, target_is_directory=True)
    run = fsartifacts("pull", "data", "1.0.0", "-o", cwd=root, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (root / "data" / "deep" / "b.bin").read_bytes() == b"b" * 300
    assert (outside / "b.bin").read_bytes() == SECRET
    assert sorted(p.name for p in outside.iterdir()) == ["b.bin"]
