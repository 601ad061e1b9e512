"""A staged folder: its files made cheaply, and its check against the manifest."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import pytest

from fsartifacts import atomic
from fsartifacts.engine import install
from fsartifacts.engine.install import check_tree, contained, staged_member, swap_dir
from fsartifacts.engine.manifest import ManifestEntry
from fsartifacts.errors import IntegrityError, LocalError

FILES = {f"d{i % 3}/sub/{i}.bin": bytes([i]) * (10 + i) for i in range(12)}


def staged(tmp_path: Path) -> tuple[Path, dict[str, ManifestEntry]]:
    staging = tmp_path / ".data.staged"
    staging.mkdir()
    for relative, data in FILES.items():
        with staged_member(staging, relative, tmp_path / "data") as out:
            out.write(data)
    return staging, {p: ManifestEntry(p, len(d), "0" * 64) for p, d in FILES.items()}


def test_staged_files_make_each_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder is made when its first file finds it missing, not once for every file."""
    made: list[str] = []
    real_mkdir = Path.mkdir

    def counting(self: Path, *args: object, **kwargs: object) -> None:
        made.append(str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", counting)
    staging, _ = staged(tmp_path)
    assert len(made) == len(set(made)) < len(FILES)
    for relative, data in FILES.items():
        assert (staging / relative).read_bytes() == data


def test_a_staged_file_is_never_made_outside_a_staged_folder_that_is_gone(
    tmp_path: Path,
) -> None:
    with pytest.raises(LocalError), staged_member(tmp_path / "gone", "a/b.bin", tmp_path / "d"):
        pass
    assert not (tmp_path / "gone").exists()


def test_the_check_of_a_tree_reports_each_file_with_its_stat(tmp_path: Path) -> None:
    staging, expected = staged(tmp_path)
    seen: dict[str, int] = {}
    check_tree(staging, expected, tmp_path / "data", lambda p, st: seen.update({p: st.st_ino}))
    assert seen == {p: (staging / p).stat().st_ino for p in FILES}


@pytest.mark.parametrize("change", ["missing", "extra", "size", "link"])
def test_a_tree_that_is_not_its_manifest_is_refused(tmp_path: Path, change: str) -> None:
    staging, expected = staged(tmp_path)
    first = next(iter(FILES))
    if change == "missing":
        (staging / first).unlink()
    elif change == "extra":
        (staging / "d0" / "stray.bin").write_bytes(b"x")
    elif change == "size":
        (staging / first).write_bytes(b"other")
    else:
        (staging / first).unlink()
        os.symlink("/etc/passwd", staging / first)
    with pytest.raises(LocalError, match="does not match its manifest") as refused:
        check_tree(staging, expected, tmp_path / "data")
    wanted = {"missing": "missing", "extra": "not in the manifest"}.get(change, "wrong size")
    assert wanted in str(refused.value)


@pytest.mark.parametrize("before", ["nothing", "an older copy"])
def test_a_folder_is_made_durable_before_it_is_swapped_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    """Its files and names reach the disk while it is still staged, and the rename that
    installs it after: a crash just after the swap must not leave empty or missing files
    under the new name."""
    staging, _ = staged(tmp_path)
    dest = tmp_path / "data"
    if before == "an older copy":
        dest.mkdir()
        (dest / "old.bin").write_bytes(b"old")
    events: list[tuple[str, str]] = []
    real_sync_tree, real_fsync_dir = atomic.sync_tree, atomic.fsync_dir

    def sync_tree(folder: str | os.PathLike[str], durable: Collection[str] = ()) -> None:
        events.append(("sync_tree", str(folder)))
        real_sync_tree(folder, durable)

    def fsync_dir(folder: str | os.PathLike[str]) -> None:
        events.append(("fsync_dir", str(folder)))
        real_fsync_dir(folder)

    monkeypatch.setattr(install, "sync_tree", sync_tree)
    monkeypatch.setattr(install, "fsync_dir", fsync_dir)
    swap_dir(staging, dest)
    assert events == [("sync_tree", str(staging)), ("fsync_dir", str(tmp_path))]
    assert sorted(os.listdir(dest)) == ["d0", "d1", "d2"]


@pytest.mark.parametrize(
    "relative", ["", "../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a/b\n", ".."]
)
def test_a_member_name_that_leaves_its_folder_or_holds_control_characters_is_refused(
    tmp_path: Path, relative: str
) -> None:
    with pytest.raises(IntegrityError, match="refusing remote name"):
        contained(tmp_path, relative)


def test_a_member_name_lands_where_a_posix_path_would() -> None:
    base = Path("/base")
    assert contained(base, "a//b/./c.bin") == Path("/base/a/b/c.bin")
    assert contained(base, "a/b.bin") == base / "a" / "b.bin"


@pytest.mark.parametrize("interrupted", ["moving the old copy aside", "putting the new one in"])
def test_an_interrupt_just_after_a_rename_of_a_swap_leaves_one_whole_folder_and_stays_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupted: str
) -> None:
    """Ctrl-C (or SIGTERM) is raised between two instructions, so it can arrive just after a
    rename of the swap took effect: the folder is then the old one or the new one, whole,
    nothing is left beside it, and the interrupt goes on up (not an OSError in its place,
    which would let an ALL run carry on with the next artifact)."""
    staging, _ = staged(tmp_path)
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "old.bin").write_bytes(b"old")
    real_rename = os.rename
    renames: list[str] = []
    interrupt_after = 1 if interrupted == "moving the old copy aside" else 2

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real_rename(src, dst)
        renames.append(str(dst))
        if len(renames) == interrupt_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(install.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        swap_dir(staging, dest)
    monkeypatch.undo()
    expected = ["old.bin"] if interrupted == "moving the old copy aside" else ["d0", "d1", "d2"]
    assert sorted(os.listdir(dest)) == expected
    left = sorted(os.listdir(tmp_path))
    assert left == (sorted(["data", staging.name]) if expected == ["old.bin"] else ["data"])
