"""A folder store's files read through one FolderReader: its folders opened once, no link
followed anywhere on the way, nothing read outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsartifacts.errors import IntegrityError
from fsartifacts.localfiles import FolderReader


def _read(reader: FolderReader, path: Path) -> bytes:
    fd, st = reader.open(str(path))
    try:
        return os.pread(fd, st.st_size + 1, 0)
    finally:
        os.close(fd)


def _version(tmp_path: Path) -> Path:
    top = tmp_path / "store" / "data_v1.0.0"
    (top / "deep" / "er").mkdir(parents=True)
    (top / "a.csv").write_bytes(b"a")
    (top / "deep" / "b.bin").write_bytes(b"b" * 10)
    (top / "deep" / "er" / "c.bin").write_bytes(b"c")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"secret")
    return top


def test_reads_every_file_below_the_folder_and_nothing_after_close(tmp_path: Path) -> None:
    top = _version(tmp_path)
    reader = FolderReader(str(top), keep=1)  # one folder kept: the others opened again
    for rel, data in (("deep/er/c.bin", b"c"), ("a.csv", b"a"), ("deep/b.bin", b"b" * 10),
                      ("deep/er/c.bin", b"c")):  # fmt: skip
        assert _read(reader, top / rel) == data
    reader.close()
    with pytest.raises(OSError, match="closed"):
        reader.open(str(top / "a.csv"))


@pytest.mark.parametrize(
    ("plant", "path", "says"),
    [
        ("pw", "pw", "it is a symbolic link"),
        ("deep/etc", "deep/etc/passwd", "it is a symbolic link where a folder should be"),
    ],
)
def test_a_link_at_any_depth_is_refused(tmp_path: Path, plant: str, path: str, says: str) -> None:
    top = _version(tmp_path)
    target = tmp_path / "outside" / ("passwd" if plant == "pw" else "")
    (top / plant).symlink_to(target)
    reader = FolderReader(str(top))
    try:
        with pytest.raises(IntegrityError, match=says):
            _read(reader, top / path)
        with pytest.raises(IntegrityError, match="outside"):
            _read(reader, tmp_path / "outside" / "passwd")
    finally:
        reader.close()


def test_a_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    top = _version(tmp_path)
    linked = tmp_path / "store" / "data_v2.0.0"
    linked.symlink_to(top)
    reader = FolderReader(str(linked))
    try:
        with pytest.raises(IntegrityError, match=r"data_v2\.0\.0 on the store: it is a symbolic"):
            _read(reader, linked / "a.csv")
    finally:
        reader.close()


def test_a_folder_swapped_for_a_link_after_it_was_opened_is_not_followed(tmp_path: Path) -> None:
    """The folder's descriptor is kept: a link put in its place later leads nowhere."""
    top = _version(tmp_path)
    reader = FolderReader(str(top))
    try:
        assert _read(reader, top / "deep" / "b.bin") == b"b" * 10
        (top / "deep").rename(top / "moved")
        (tmp_path / "outside" / "b.bin").write_bytes(b"secret")
        (top / "deep").symlink_to(tmp_path / "outside")
        assert _read(reader, top / "deep" / "b.bin") == b"b" * 10
    finally:
        reader.close()
