"""A new version sends only what changed, on every kind of store.

Each store counts what reached it another way: the local Artifactory server's
request log (bytes of request bodies), a counting proxy in front of moto (bytes
of object PUTs) and, on a folder store, inodes (a copied file is a hard link to
the earlier version's).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from fsartifacts import Project
from fsartifacts.atomic import TEMP_MARKER
from tests.fixtures.cli import tree_digest, write_project
from tests.fixtures.sides import Side

FOLDER_FILES = 6
FILE_SIZE = 4_000  # below the size where Artifactory uploads try a checksum deploy anyway
ARTIFACTS = """\
    - name: data
      file: data
    - name: model
      file: model.bin
"""


def project(root: Path, side: Side, version: str, **env: str) -> Project:
    write_project(root, f"repository:\n{side.config}  artifacts:\n{ARTIFACTS}", version)
    environ = {"FSARTIFACTS_CACHE_DIR": str(root.parent / f"hash-cache-{root.name}"), **env}
    return Project.load(start=root, environ=environ)


def fill(root: Path) -> None:
    data = root / "data"
    (data / "deep").mkdir(parents=True, exist_ok=True)
    for i in range(FOLDER_FILES):
        where = data / "deep" if i % 2 else data
        (where / f"part-{i}.bin").write_bytes(os.urandom(FILE_SIZE + i))
    (root / "model.bin").write_bytes(os.urandom(FILE_SIZE))


def pushed(results: Any) -> None:
    assert [r.action for r in results] == ["pushed"], results


def test_a_new_folder_version_uploads_only_the_changed_file(side: Side, tmp_path: Path) -> None:
    producer = tmp_path / "producer"
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("data"))
    changed = producer / "data" / "deep" / "part-1.bin"
    changed.write_bytes(os.urandom(FILE_SIZE + 7))
    side.clear()

    pushed(project(producer, side, "1.1.0").push("data"))

    if side.root is not None:
        v1, v2 = side.root / "data_v1.0.0", side.root / "data_v1.1.0"
        for path in sorted(p for p in v2.rglob("*") if p.is_file()):
            shared = path.stat().st_ino == (v1 / path.relative_to(v2)).stat().st_ino
            assert shared == (path.name != changed.name), path
    else:
        assert side.sent("data_v1.1.0/") == FILE_SIZE + 7
    want = tree_digest(producer / "data")

    # v1 removed: v2 stands on its own, byte for byte the local folder.
    assert [r.action for r in project(producer, side, "1.1.0").rm("data", "1.0.0")] == ["deleted"]
    consumer = tmp_path / "consumer"
    results = project(consumer, side, "1.1.0").pull("data", "1.1.0")
    assert [r.action for r in results] == ["pulled"], results
    assert tree_digest(consumer / "data_v1.1.0") == want


@pytest.mark.parametrize("side", ["s3"], indirect=True)
def test_each_file_of_an_s3_folder_version_costs_one_request_to_push_again_and_to_pull(
    side: Side, tmp_path: Path
) -> None:
    # An unchanged file is one CopyObject, checked by the sha256 S3 answers it with: no
    # HEAD of its source or of the copy beside it, so a next version costs the store one
    # request per file, as its first push does, and sends the changed files' bytes only.
    # A pull is one GET per file, checked against the manifest: no HEAD beside it.
    producer = tmp_path / "producer"
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("data"))
    (producer / "data" / "deep" / "part-1.bin").write_bytes(os.urandom(FILE_SIZE + 7))
    side.clear()

    pushed(project(producer, side, "1.1.0").push("data"))

    members = sorted(p.relative_to(producer / "data").as_posix()
                     for p in (producer / "data").rglob("*.bin"))  # fmt: skip
    touched = sorted((what, path.split("/data_v")[1]) for what, path in side.requests()
                     if path.endswith(".bin"))  # fmt: skip
    assert touched == [("write", f"1.1.0/{m}") for m in members]

    side.clear()
    results = project(tmp_path / "consumer", side, "1.1.0").pull("data", "1.1.0")
    assert [r.action for r in results] == ["pulled"], results
    read = sorted((what, path.split("/data_v")[1]) for what, path in side.requests()
                  if path.endswith(".bin"))  # fmt: skip
    assert read == [("read", f"1.1.0/{m}") for m in members]


def test_a_file_version_with_an_earlier_ones_content_is_copied(side: Side, tmp_path: Path) -> None:
    producer = tmp_path / "producer"
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("model"))
    side.clear()

    pushed(project(producer, side, "1.0.1").push("model"))

    if side.root is not None:
        v1, v2 = side.root / "model_v1.0.0.bin", side.root / "model_v1.0.1.bin"
        assert v1.stat().st_ino == v2.stat().st_ino
        assert (side.root / "model_v1.0.1.bin.sha256").is_file()
    else:
        assert side.sent("model_v1.0.1") == 0
    assert [r.action for r in project(producer, side, "1.0.1").rm("model", "1.0.0")] == ["deleted"]
    consumer = tmp_path / "consumer"
    (pulled,) = project(consumer, side, "1.0.1").pull("model", "1.0.1")
    assert pulled.action == "pulled" and pulled.sha256
    assert (consumer / "model_v1.0.1.bin").read_bytes() == (producer / "model.bin").read_bytes()


def test_an_earlier_file_that_no_longer_holds_its_content_is_uploaded_instead(
    side: Side, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("data"))
    # Changed on the store behind fsartifacts' back: its manifest still names the old bytes.
    damaged = f"{side.base}/data_v1.0.0/part-0.bin"
    side.fs.rm_file(damaged)
    side.fs.pipe_file(damaged, os.urandom(FILE_SIZE))
    side.clear()

    pushed(project(producer, side, "1.1.0").push("data"))

    if side.root is not None:
        v1, v2 = side.root / "data_v1.0.0", side.root / "data_v1.1.0"
        assert (v2 / "part-0.bin").stat().st_ino != (v1 / "part-0.bin").stat().st_ino
        assert (v2 / "part-2.bin").stat().st_ino == (v1 / "part-2.bin").stat().st_ino
    else:
        assert side.sent("data_v1.1.0/") == FILE_SIZE  # that one file, uploaded
    consumer = tmp_path / "consumer"
    results = project(consumer, side, "1.1.0").pull("data", "1.1.0")
    assert [r.action for r in results] == ["pulled"], results
    assert tree_digest(consumer / "data_v1.1.0") == tree_digest(producer / "data")


def two_versions(producer: Path, side: Side) -> Path:
    """data 1.0.0, then 1.1.0 with one file changed; the changed file."""
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("data"))
    changed = producer / "data" / "deep" / "part-1.bin"
    changed.write_bytes(os.urandom(FILE_SIZE + 7))
    pushed(project(producer, side, "1.1.0").push("data"))
    return changed


@pytest.mark.parametrize("side", ["artifactory", "s3"], indirect=True)
def test_pulling_the_next_version_downloads_only_the_changed_file(
    side: Side, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    two_versions(producer, side)
    want = tree_digest(producer / "data")

    # Into the same destination (-o): what the old folder holds is copied from it.
    consumer = tmp_path / "consumer"
    (first,) = project(consumer, side, "1.0.0").sync_pull("data", override=True)
    assert first.action == "pulled", first
    side.clear()
    (second,) = project(consumer, side, "1.1.0").sync_pull("data", override=True)
    assert second.action == "pulled", second
    assert side.received("data_v1.1.0/") == FILE_SIZE + 7
    assert tree_digest(consumer / "data") == want

    # Beside the old version (its own name): the hash cache knows where its files are.
    other = tmp_path / "other"
    (third,) = project(other, side, "1.1.0").pull("data", "1.0.0")
    side.clear()
    (fourth,) = project(other, side, "1.1.0").pull("data", "1.1.0")
    assert (third.action, fourth.action) == ("pulled", "pulled")
    assert side.received("data_v1.1.0/") == FILE_SIZE + 7
    assert tree_digest(other / "data_v1.1.0") == want
    assert tree_digest(other / "data_v1.0.0") != want


@pytest.mark.parametrize("side", ["artifactory"], indirect=True)
def test_an_interrupted_sync_pull_leaves_the_old_version_in_place(
    side: Side, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    changed = two_versions(producer, side)
    consumer = tmp_path / "consumer"
    (first,) = project(consumer, side, "1.0.0").sync_pull("data", override=True)
    assert first.action == "pulled", first
    before = tree_digest(consumer / "data")
    side.server.faults.fail_next(100, status=500, methods=["GET"], path_contains=changed.name)

    (failed,) = project(consumer, side, "1.1.0", FSARTIFACTS_ATTEMPTS="2").sync_pull(
        "data", override=True
    )

    assert failed.action == "failed", failed
    assert tree_digest(consumer / "data") == before
    assert [p.name for p in consumer.rglob("*") if TEMP_MARKER in p.name] == []


@pytest.mark.parametrize("side", ["artifactory"], indirect=True)
def test_a_file_version_the_project_already_holds_is_copied_not_downloaded(
    side: Side, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    fill(producer)
    pushed(project(producer, side, "1.0.0").push("model"))
    pushed(project(producer, side, "1.0.1").push("model"))  # the same content
    consumer = tmp_path / "consumer"
    (first,) = project(consumer, side, "1.0.1").pull("model", "1.0.0")
    side.clear()

    (second,) = project(consumer, side, "1.0.1").pull("model", "1.0.1")

    assert (first.action, second.action) == ("pulled", "pulled")
    assert side.received("model_v1.0.1") == 0
    assert (consumer / "model_v1.0.1.bin").read_bytes() == (producer / "model.bin").read_bytes()
    assert second.sha256 == first.sha256 and second.lock is not None
