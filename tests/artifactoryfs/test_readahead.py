"""The read cache of artifactory:// files: columnar and random reads move what they ask for.

Bytes moved are counted by the local server (``bytes_out`` of its GETs); bytes asked
for are counted on the file object the reader gets.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.artifactoryfs.readahead import FIRST_WINDOW
from fsartifacts.testing.requestlog import RequestRecord
from tests.fixtures.artifactory import ArtifactoryRepo


class CountingReader(io.RawIOBase):
    """A read-only file that counts the bytes its reader asked for."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.asked = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._file.seek(offset, whence))

    def tell(self) -> int:
        return int(self._file.tell())

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.asked += len(data)
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def content_gets(repo: ArtifactoryRepo) -> list[RequestRecord]:
    return [r for r in repo.server.requests if r.method == "GET" and "/api/" not in r.path]


def moved(repo: ArtifactoryRepo) -> int:
    """Bytes of file content the server sent (its JSON metadata answers left out)."""
    return sum(r.bytes_out for r in content_gets(repo))


@pytest.fixture
def fs(artifactory_repo: ArtifactoryRepo) -> ArtifactoryFileSystem:
    return ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True)


def test_a_parquet_column_read_moves_at_most_twice_what_pyarrow_reads(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    rng = random.Random(7)
    rows = 40_000
    table = pa.table({name: [rng.random() for _ in range(rows)] for name in "abcd"})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none")
    path = f"{artifactory_repo.name}/t.parquet"
    fs.pipe_file(path, sink.getvalue())
    artifactory_repo.server.clear_requests()
    with fs.open(path, "rb") as f:
        reader = CountingReader(f)
        column = pq.read_table(pa.PythonFile(reader, mode="r"), columns=["a"])
    assert column.column("a").to_pylist() == table.column("a").to_pylist()
    assert reader.asked < len(sink.getvalue()) / 3  # one column of four, and the footer
    assert moved(artifactory_repo) <= 2 * reader.asked


def test_random_reads_move_what_they_ask_and_sequential_reads_few_requests(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    data = random.Random(1).randbytes(3 * 1024 * 1024)
    path = f"{artifactory_repo.name}/blob.bin"
    fs.pipe_file(path, data)
    artifactory_repo.server.clear_requests()
    offsets = random.Random(2).sample(range(0, len(data) - 4096, 4096), 50)
    with fs.open(path, "rb") as f:
        for offset in offsets:
            f.seek(offset)
            assert f.read(4096) == data[offset : offset + 4096]
    assert moved(artifactory_repo) <= 2 * 50 * 4096
    artifactory_repo.server.clear_requests()
    with fs.open(path, "rb", block_size=1024 * 1024) as f:
        chunks = iter(lambda: f.read(8192), b"")
        assert b"".join(chunks) == data
    gets = content_gets(artifactory_repo)
    # 64 KiB, 128 KiB, ... up to 1 MiB blocks: a handful of requests, not one per read.
    assert len(gets) <= 8
    assert moved(artifactory_repo) == len(data)
    assert FIRST_WINDOW == 64 * 1024
