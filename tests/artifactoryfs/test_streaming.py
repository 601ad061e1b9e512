"""Streamed writes of artifactory://: a file bigger than its block size is sent while written.

Nothing spools on local disk, the writer holds less than one block, the upload is
published only once the server's checksums match, and a failed write leaves the
path as it was.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsartifacts.artifactoryfs.errors import ArtifactoryIntegrityError
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ArtifactoryRepo

BLOCK = 1024 * 1024


def pieces(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    rng = random.Random(total)
    for _ in range(total // size):
        yield rng.randbytes(size)


@pytest.fixture
def fs(artifactory_repo: ArtifactoryRepo) -> ArtifactoryFileSystem:
    return ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True)


@pytest.fixture
def no_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local temporary file that unlinks itself (a spool, in memory or on disk) fails
    the test; the folder for named ones is returned, to be checked empty. (The local
    server in this process keeps its uploads under its own root.)"""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a write spooled to a local temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return spool


def test_a_write_of_16_blocks_is_sent_while_written_without_a_spool(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo, no_spool: Path
) -> None:
    path = f"{artifactory_repo.name}/big/data.bin"
    server = artifactory_repo.server
    digest = hashlib.sha256()
    with fs.open(path, "wb", block_size=BLOCK) as f:
        for piece in pieces(16 * BLOCK):
            f.write(piece)
            digest.update(piece)
            assert f.buffer.tell() < BLOCK  # the writer holds less than one block
            assert not any(no_spool.iterdir())  # and nothing on local disk
        last_write = time.monotonic()
    streamed = [r for r in server.requests if r.method == "PUT" and r.path.endswith(".part")]
    assert len(streamed) == 1 and streamed[0].bytes_in == 16 * BLOCK
    assert streamed[0].started < last_write  # the upload was under way while writing
    published = [r for r in server.requests if r.method == "PUT" and r.path.endswith("data.bin")]
    assert len(published) == 1 and published[0].bytes_in == 0  # by checksum: no byte again
    assert published[0].headers["X-Checksum-Sha256"] == digest.hexdigest()
    assert fs.info(path)["sha256"] == digest.hexdigest()
    assert fs.ls(f"{artifactory_repo.name}/big", detail=False, refresh=True) == [path]


def ended(server: ArtifactoryServer, method: str, suffix: str, timeout: float = 30) -> None:
    """Until the server has ended a ``method`` request to a path ending in ``suffix`` (its
    record is logged as it ends); fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not any(r.method == method and r.path.endswith(suffix) for r in server.requests):
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not end a {method} of *{suffix} in {timeout:.0f} s")
        time.sleep(0.01)


def test_a_failed_streamed_write_leaves_the_path_as_it_was(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo, no_spool: Path
) -> None:
    path = f"{artifactory_repo.name}/keep.bin"
    server = artifactory_repo.server
    fs.pipe_file(path, b"the old content")
    server.clear_requests()
    with pytest.raises(RuntimeError, match="stop"), fs.open(path, "wb", block_size=BLOCK) as f:
        for piece in pieces(3 * BLOCK):
            f.write(piece)
        raise RuntimeError("stop")
    assert fs.cat_file(path) == b"the old content"
    # The abandoned upload's request may still be on the server's side (a loaded machine
    # takes it up late): it must have ended before the next upload's fault is armed, or
    # it takes that fault itself, and the next upload arrives whole.
    ended(server, "PUT", ".part")
    server.faults.corrupt_next(methods=["PUT"], offset=5 * BLOCK)
    with pytest.raises(ArtifactoryIntegrityError, match="nothing was written"):  # noqa: SIM117
        with fs.open(path, "wb", block_size=BLOCK) as f:
            for piece in pieces(8 * BLOCK):
                f.write(piece)
    assert fs.cat_file(path) == b"the old content"
    assert fs.ls(artifactory_repo.name, detail=False, refresh=True) == [path]  # no hidden copy


def test_streamed_appends_and_transactions(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo, no_spool: Path
) -> None:
    path = f"{artifactory_repo.name}/log.bin"
    first = b"".join(pieces(2 * BLOCK))
    fs.pipe_file(path, first)
    with fs.open(path, "ab", block_size=BLOCK) as f:  # the current content is streamed first
        f.write(b"appended")
    assert fs.cat_file(path) == first + b"appended"
    later = f"{artifactory_repo.name}/later.bin"
    with fs.transaction:
        with fs.open(later, "wb", block_size=BLOCK) as f:
            f.write(first)
        assert not fs.exists(later)  # sent, not published before the transaction ends
    assert fs.cat_file(later) == first


def test_a_copy_the_server_cannot_make_goes_through_memory_not_disk(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo, no_spool: Path
) -> None:
    repo, server = artifactory_repo.name, artifactory_repo.server
    server.pro = False  # no server-side copy
    for name, size in (("small", 64 * 1024), ("large", 10 * BLOCK)):  # 10 MiB: over 8 MiB
        data = b"".join(pieces(size, size=64 * 1024))
        fs.pipe_file(f"{repo}/{name}.bin", data)
        # The copy's checksum deploy finds nothing: the bytes go through this process.
        server.faults.fail_next(1, status=404, methods=["PUT"], path_contains=f"{name}-copy")
        fs.cp_file(f"{repo}/{name}.bin", f"{repo}/{name}-copy.bin")
        assert fs.cat_file(f"{repo}/{name}-copy.bin") == data
    assert sorted(fs.ls(repo, detail=False, refresh=True)) == [
        f"{repo}/large-copy.bin",
        f"{repo}/large.bin",
        f"{repo}/small-copy.bin",
        f"{repo}/small.bin",
    ]
