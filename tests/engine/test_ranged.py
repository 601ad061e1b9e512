"""A download in ranges: the byte intervals it keeps (what arrived, what is missing, the
ranges), and its writers against the local Artifactory server."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from fsspec.callbacks import NoOpCallback

from fsartifacts import hashing
from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.engine.intervals import Received, merged, missing, split
from fsartifacts.engine.ranged import RangedJob, download_ranges
from fsartifacts.engine.transfers import Transfers
from fsartifacts.inflight import Stopped
from fsartifacts.stores.artifactory.ops import ArtifactoryOps
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold

HANG = 30  # seconds: only a writer that waits for the journal reaches it


def test_intervals_that_touch_or_overlap_are_one() -> None:
    assert merged([(5, 8), (0, 2), (2, 4), (7, 10), (12, 12)]) == [(0, 4), (5, 10)]


@pytest.mark.parametrize(
    ("done", "gaps"),
    [([], [(0, 10)]), ([(0, 10)], []), ([(2, 4), (6, 7)], [(0, 2), (4, 6), (7, 10)])],
)
def test_what_is_missing_of_a_file(done: list[tuple[int, int]], gaps: list) -> None:
    assert missing(done, 10) == gaps


def test_ranges_are_cut_to_size_in_order() -> None:
    assert split([(0, 5), (7, 9)], 2) == [(0, 2), (2, 4), (4, 5), (7, 9)]


def test_the_prefix_grows_only_while_the_bytes_are_contiguous() -> None:
    received = Received()
    received.add(4, 8)
    assert received.prefix() == 0
    received.add(0, 4)
    received.add(9, 10)
    assert (received.prefix(), received.total()) == (8, 9)


def test_the_writers_go_on_while_the_journal_is_written(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """The journal (an fsync of the staged file, then the journal's write) is written
    beside the ranges, not by the writer whose range completed: a journal held up until
    every byte has arrived still lets the others arrive, and ranges completed meanwhile
    share the next write."""
    repo, size, range_size = artifactory_repo, 8 * 64 * 1024, 64 * 1024
    data = os.urandom(size)
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    fs.pipe_file(f"{repo.name}/big.bin", data)
    staged = tmp_path / "big.bin.part"
    staged.write_bytes(bytes(size))
    received = Received()
    journals: list[int] = []

    def recorded() -> None:  # a journal write as slow as it gets: until the last byte is in
        with received.changed:
            received.changed.wait_for(lambda: received.total() == size, timeout=HANG)
        journals.append(received.total())

    job = RangedJob(ArtifactoryOps(fs), f"{repo.name}/big.bin", str(staged), size, None, 2,
                    range_size, ("sha256",), "big.bin")  # fmt: skip
    got = download_ranges(job, received, Transfers(2), NoOpCallback(), recorded)

    assert got == {"sha256": hashlib.sha256(data).hexdigest()}
    assert staged.read_bytes() == data
    assert journals and journals[0] == size  # the first write was held until every range came
    assert len(journals) <= 2  # the ranges done meanwhile share one more write at most
    assert not [t for t in threading.enumerate() if t.name == "fsartifacts-journal"]


def test_bytes_that_come_in_order_are_hashed_as_written_not_read_back(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One range at a time: each block arrives where the digest has got to, and is hashed
    on its way to the disk; only the bytes an earlier run kept are read back. A block the
    digest has no room for at once is read back later, so the room here is made larger
    than the file, and what is read back does not depend on how fast the hash runs."""
    repo, size, range_size, kept = artifactory_repo, 6 * 64 * 1024, 2 * 64 * 1024, 100_000
    data = os.urandom(size)
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    fs.pipe_file(f"{repo.name}/big.bin", data)
    read_back: list[int] = []
    pread = os.pread

    def counted(fd: int, n: int, offset: int) -> bytes:
        got = pread(fd, n, offset)
        read_back.append(len(got))
        return got

    monkeypatch.setattr(os, "pread", counted)
    monkeypatch.setattr(hashing, "QUEUED_CHUNKS", size)
    for earlier in (0, kept):
        staged = tmp_path / f"big-{earlier}.bin.part"
        staged.write_bytes(data[:earlier] + bytes(size - earlier))
        read_back.clear()
        job = RangedJob(ArtifactoryOps(fs), f"{repo.name}/big.bin", str(staged), size, None, 1,
                        range_size, ("sha256",), "big.bin")  # fmt: skip
        received = Received([(0, earlier)] if earlier else [])
        got = download_ranges(job, received, Transfers(1), NoOpCallback(), lambda: None)
        assert got == {"sha256": hashlib.sha256(data).hexdigest()}
        assert staged.read_bytes() == data
        assert sum(read_back) == earlier


def test_the_writers_go_on_while_the_hash_is_behind(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash that takes nothing until every byte has arrived: the writer at the front of
    the file does not wait for it (its blocks are left to be read back), so every range
    still arrives, and the digests, read back once they take bytes again, are right."""
    repo, size, range_size = artifactory_repo, 16 * 64 * 1024, 64 * 1024
    data = os.urandom(size)
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    fs.pipe_file(f"{repo.name}/big.bin", data)
    staged = tmp_path / "big.bin.part"
    staged.write_bytes(bytes(size))
    received = Received()
    released: list[bool] = []  # whether the hash was let go by the bytes, not the guard
    new = hashlib.new

    class Held:
        """A sha256 whose first update waits until the whole file has arrived."""

        def __init__(self, name: str) -> None:
            self.real = new(name)

        def update(self, chunk: bytes) -> None:
            if not released:
                with received.changed:
                    released.append(
                        received.changed.wait_for(lambda: received.total() == size, HANG)
                    )
            self.real.update(chunk)

        def hexdigest(self) -> str:
            return self.real.hexdigest()

    monkeypatch.setattr(hashing, "THREADED_MIN", 0)  # each digest on its thread at once
    monkeypatch.setattr(hashing.hashlib, "new", Held)
    job = RangedJob(ArtifactoryOps(fs), f"{repo.name}/big.bin", str(staged), size, None, 2,
                    range_size, ("sha256",), "big.bin")  # fmt: skip
    got = download_ranges(job, received, Transfers(2), NoOpCallback(), lambda: None)

    assert released == [True]
    assert got == {"sha256": hashlib.sha256(data).hexdigest()}
    assert staged.read_bytes() == data


def test_a_writer_left_waiting_for_its_answer_writes_nothing_and_gives_its_slot_back(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    """A range refused for good fails the download while another range's request waits
    for the server's first answer (held by the server, nothing to close under it): the
    download raises without waiting for that answer, and the writer it left behind,
    answered later, writes nothing into the staged file nor its intervals, then gives
    the spare slot it took back to the run."""
    repo, size, range_size = artifactory_repo, 4 * 64 * 1024, 64 * 1024
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    fs.pipe_file(f"{repo.name}/big.bin", os.urandom(size))
    staged = tmp_path / "big.bin.part"
    staged.write_bytes(bytes(size))
    received, transfers, raised = Received(), Transfers(2), []
    job = RangedJob(ArtifactoryOps(fs), f"{repo.name}/big.bin", str(staged), size, None, 2,
                    range_size, ("sha256",), "big.bin")  # fmt: skip

    def download() -> None:
        try:
            download_ranges(job, received, transfers, NoOpCallback(), lambda: None)
        except Exception as exc:
            raised.append(exc)

    # The first range asked is held before its answer; the next one is refused.
    repo.server.faults.fail_next(status=403, methods=("GET",), path_contains="big.bin")
    with ServerHold(repo.server, "big.bin") as hold:
        downloading = threading.Thread(target=download)
        downloading.start()
        hold.wait()
        downloading.join(HANG)  # the hold lasts longer
        assert not downloading.is_alive(), "the download waited for the held range's answer"
        (left,) = [t for t in threading.enumerate() if t.name == "fsartifacts-range"]
        kept, done = staged.read_bytes(), received.snapshot()
        hold.release()  # the held range is answered now, its bytes on their way
        left.join(HANG)
        assert not left.is_alive()
    (error,) = raised
    assert "403" in str(error) and not isinstance(error, Stopped), error
    assert staged.read_bytes() == kept
    assert received.snapshot() == done
    assert transfers.spare_slot(0) and transfers.spare_slot(0)  # both of -j 2 free again
