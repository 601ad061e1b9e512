"""The hash cache: every digest a store wants from one read, kept by (path, size, mtime, inode)."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from fsartifacts.errors import IntegrityError
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import (
    CHUNK,
    THREADED_MIN,
    DigestsOnUse,
    FileDigests,
    HashingWriter,
    ReadFile,
    hash_file,
    hash_stream,
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


WEIGHTS = {"sha256": sha256(b"weights"), "sha1": sha1(b"weights")}


def test_digests_come_from_one_read_and_carry_the_stat(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    local = tmp_path / "model.pkl"
    local.write_bytes(data)
    cache = HashCache()
    digests = cache.digests(local, ("sha1",))
    assert isinstance(digests, FileDigests)
    assert dict(digests) == {"sha256": sha256(data), "sha1": sha1(data)}
    assert (digests.size, digests.identity.st_mtime_ns, digests.identity.st_ino) == (
        local.stat().st_size, local.stat().st_mtime_ns, local.stat().st_ino,
    )  # fmt: skip
    assert (cache.misses, cache.hits) == (1, 0)
    assert cache.sha256(local) == sha256(data)  # a hit: the sha256 came with the sha1
    assert cache.digests(local, ["sha1", "sha256"]) == digests
    assert (cache.misses, cache.hits) == (1, 2)


def test_a_digest_the_cache_lacks_costs_one_read_and_is_kept(tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(b"weights")
    cache = HashCache(tmp_path / "hashes.json")
    assert cache.sha256(local) == sha256(b"weights")
    assert cache.digests(local, ["sha1"]) == WEIGHTS
    assert cache.digests(local, ["sha1"])["sha1"] == sha1(b"weights")
    assert (cache.misses, cache.hits) == (2, 1)

    local.write_bytes(b"weights, retrained")  # another size: nothing cached applies
    assert cache.digests(local, ["sha1"])["sha1"] == sha1(b"weights, retrained")
    assert (cache.misses, cache.hits) == (3, 1)


def test_the_cache_names_files_that_still_hold_a_sha256_below_a_folder(tmp_path: Path) -> None:
    cache = HashCache()
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "deep").mkdir(parents=True)
    elsewhere.mkdir()
    kept, changed, outside = project / "deep" / "a", project / "b", elsewhere / "c"
    for path, data in ((kept, b"a"), (changed, b"b"), (outside, b"c")):
        path.write_bytes(data)
        cache.sha256(path)
    changed.write_bytes(b"bb")  # its entry no longer describes it
    wanted = {hashlib.sha256(d).hexdigest() for d in (b"a", b"b", b"c", b"never")}
    assert cache.holders(wanted, project) == {hashlib.sha256(b"a").hexdigest(): str(kept)}


def test_large_streams_are_hashed_in_threads_and_give_the_inline_digests() -> None:
    """Past THREADED_MIN each digest has a thread; what it computes is what hashlib does."""
    data = os.urandom(THREADED_MIN + 3 * CHUNK + 7)
    seen: set[str] = set()

    class Source(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            seen.update(t.name for t in threading.enumerate())
            return super().read(size)

    size, digests = hash_stream(Source(data), ("sha1", "sha256", "md5"))
    assert size == len(data)
    assert digests == {"sha1": sha1(data), "sha256": sha256(data),
                       "md5": hashlib.md5(data).hexdigest()}  # fmt: skip
    assert "fsartifacts-hash" in seen
    assert not [t for t in threading.enumerate() if t.name == "fsartifacts-hash"]


def _hash_threads() -> set[threading.Thread]:
    """The hashing threads alive now: counted by name and identity, so threads other
    tests left behind (servers, pools, their own writers ending) do not count."""
    return {t for t in threading.enumerate() if t.name == "fsartifacts-hash"}


def test_a_small_stream_starts_no_thread_and_a_dropped_writer_stops_its_threads() -> None:
    before = _hash_threads()
    assert hash_stream(io.BytesIO(b"weights"), ("sha1",)) == (7, {"sha1": sha1(b"weights")})
    assert not _hash_threads() - before
    writer = HashingWriter(io.BytesIO())
    writer.write(os.urandom(THREADED_MIN + 1))
    started = _hash_threads() - before
    assert len(started) == 1
    del writer  # a download abandoned half way
    gc.collect()
    for thread in started:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in started)


class _Counted:
    """A progress callback: how many bytes it was told of."""

    def __init__(self) -> None:
        self.total = 0

    def relative_update(self, inc: int = 1) -> None:
        self.total += inc


def test_copy_from_a_large_file_hashes_and_writes_every_byte_after_what_was_written(
    tmp_path: Path,
) -> None:
    """In the kernel where the output is a file, on through write() where the kernel
    cannot (an output opened for appending), into a stream without a descriptor: the
    same bytes, digests and count, after the bytes written before."""
    data = os.urandom(2 * THREADED_MIN + 12345)
    source = tmp_path / "large.bin"
    source.write_bytes(data)
    outputs = {
        "file": lambda: open(tmp_path / "file.out", "wb"),  # noqa: SIM115
        "appended": lambda: open(tmp_path / "appended.out", "ab"),  # noqa: SIM115
        "stream": io.BytesIO,
    }
    for name, make in outputs.items():
        out, progress = make(), _Counted()
        with out, open(source, "rb") as src:
            writer = HashingWriter(out, ("sha256", "sha1"), limit=len(data) + 3)
            writer.write(b"abc")
            writer.copy_from(src, progress)
            writer.flush()
            written = out.getvalue() if isinstance(out, io.BytesIO) else None
        written = written if written is not None else (tmp_path / f"{name}.out").read_bytes()
        assert written == b"abc" + data, name
        assert writer.bytes == len(data) + 3 and progress.total == len(data), name
        assert writer.digests() == {"sha256": sha256(written), "sha1": sha1(written)}, name


def test_copy_from_a_file_larger_than_the_limit_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(THREADED_MIN + 1))
    with open(tmp_path / "out", "wb") as out, open(source, "rb") as src:
        writer = HashingWriter(out, limit=THREADED_MIN, what="model_v1.bin")
        with pytest.raises(IntegrityError, match=r"model_v1\.bin: the store sent more"):
            writer.copy_from(src)
        writer.close()
    assert (tmp_path / "out").read_bytes() == b""


class _Reads:
    """Counts the reads of the file at ``path`` (at offsets: how a copy reads it); ``grow``
    is appended to it at the first one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path, grow: bytes = b"") -> None:
        self.path, self.grow, self.reads = path, grow, 0
        self.src = open(path, "rb")  # noqa: SIM115 - closed by the test's block
        pread = os.pread

        def counted(fd: int, size: int, offset: int) -> bytes:
            if not self.src.closed and fd == self.src.fileno():
                if self.reads == 0 and self.grow:
                    with open(self.path, "ab") as f:
                        f.write(self.grow)
                self.reads += 1
            return pread(fd, size, offset)

        monkeypatch.setattr(os, "pread", counted)

    def __enter__(self) -> io.BufferedReader:
        return self.src  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self.src.close()


@pytest.mark.parametrize("size", [0, 1000, CHUNK - 1, CHUNK, CHUNK + 1])
def test_copy_from_a_small_file_reads_it_in_one_read_to_its_end(
    tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is left is asked for with one byte more: a short read ends it, so a file of a
    folder of 20,000 costs one read (not one more to find its end, nor a CHUNK buffer)."""
    data = os.urandom(size)
    (tmp_path / "f.bin").write_bytes(data)
    out = io.BytesIO()
    reads = _Reads(monkeypatch, tmp_path / "f.bin")
    with reads as src:
        writer = HashingWriter(out, limit=size)
        writer.copy_from(src)
        assert reads.reads == (1 if size < CHUNK else 2)
    assert (writer.bytes, writer.digests()["sha256"]) == (size, sha256(data))
    assert out.getvalue() == data


def test_copy_from_a_file_that_grew_since_reads_to_its_end_and_the_limit_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(1000)
    (tmp_path / "f.bin").write_bytes(data)
    with _Reads(monkeypatch, tmp_path / "f.bin", grow=b"more") as src:
        writer = HashingWriter(io.BytesIO())
        writer.copy_from(src)
    assert (writer.bytes, writer.digests()["sha256"]) == (1004, sha256(data + b"more"))
    (tmp_path / "f.bin").write_bytes(data)
    with _Reads(monkeypatch, tmp_path / "f.bin", grow=b"more") as src:
        limited = HashingWriter(io.BytesIO(), limit=1000, what="f.bin")
        with pytest.raises(IntegrityError, match=r"f\.bin: the store sent more"):
            limited.copy_from(src)


@pytest.mark.parametrize("sized", [0, 4, 10, 11, CHUNK - 1], ids=lambda n: f"sized {n}")
def test_a_small_file_is_hashed_to_its_end_whatever_size_it_was_found_with(
    tmp_path: Path, sized: int
) -> None:
    # The size a caller found may be stale: a file that grew (or shrank) since is still
    # hashed whole, to its end.
    path = tmp_path / "f.bin"
    data = os.urandom(10) + b"x" * (CHUNK + 5)
    path.write_bytes(data)
    expected = {"sha256": hashlib.sha256(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest()}
    assert hash_file(path, ["sha256", "sha1"], size=sized) == expected
    path.write_bytes(data[:10])
    assert (
        hash_file(path, ["sha256"], size=sized)["sha256"] == hashlib.sha256(data[:10]).hexdigest()
    )


def test_digests_on_use_are_computed_once_when_first_read(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    found = os.stat(path)
    calls: list[int] = []

    def compute(read: ReadFile | None) -> FileDigests:
        assert read is None
        calls.append(1)
        return FileDigests(hash_file(path, ["sha256", "sha1"]), os.stat(path))

    digests = DigestsOnUse(found, compute)
    assert digests.size_found == 3000
    assert digests.unchanged(path)  # from the stat the file was found with, read or not
    assert calls == []
    assert digests["sha256"] == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert (digests.size, sorted(digests), calls) == (3000, ["sha1", "sha256"], [1])
    path.write_bytes(b"changed")
    assert not digests.unchanged(path)
