"""Multipart uploads part by part, against moto's server through a proxy that counts the
UploadPart requests in flight: a sliding window of parts, and a continued upload that
sends only the parts S3 lacks."""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fsspec.callbacks import NoOpCallback

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import IntegrityError
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.s3.multipart import upload_in_parts
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.parts import PartsUpload
from fsartifacts.stores.s3.settings import MIN_PART_SIZE, S3Settings
from fsartifacts.stores.store import Store
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.moto import crc32_header

PART = MIN_PART_SIZE
GATE_TIMEOUT = 10.0  # bounds the wait of a held part when the part it waits for never comes


def part_number(path: str) -> int | None:
    numbers = parse_qs(urlsplit(path).query).get("partNumber")
    return int(numbers[0]) if numbers else None


class PartsProxy(FaultProxy):
    """Counts the UploadPart requests in flight (from their arrival until their answer is
    decided, before it is sent, so a request started on that answer is never counted
    with the one it follows); optionally holds part ``hold`` until part ``until`` arrives."""

    def __init__(self, upstream: str, hold: int | None = None, until: int | None = None):
        super().__init__(upstream)
        self.hold, self.until = hold, until
        self.in_flight = self.peak = 0
        self.events: list[tuple[str, int]] = []  # ("arrived" | "answered", part number)
        self._arrival = threading.Condition(self._lock)

    def _forward(self, handler: Any) -> None:
        number = part_number(handler.path) if handler.command == "PUT" else None
        if number is not None:
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                self.events.append(("arrived", number))
                self._arrival.notify_all()
                if number == self.hold:
                    self._arrival.wait_for(lambda: ("arrived", self.until) in self.events,
                                           GATE_TIMEOUT)  # fmt: skip
        super()._forward(handler)

    def _record(self, handler: Any, *args: Any) -> None:
        number = part_number(handler.path) if handler.command == "PUT" else None
        if number is not None:
            with self._lock:
                self.in_flight -= 1
                self.events.append(("answered", number))
        super()._record(handler, *args)

    @property
    def arrived(self) -> list[int]:
        return [number for event, number in self.events if event == "arrived"]


@pytest.fixture
def data() -> bytes:
    return os.urandom(4 * PART + PART // 2)  # five parts, the last one short


def store_at(endpoint: str, bucket: str) -> Store:
    settings = S3Settings(bucket=bucket, endpoint_url=endpoint, region="us-east-1")
    return open_s3_store(settings, TransferSettings(part_size=PART, attempts=2, timeout=20.0))


def parts_upload(path: Path, bucket: str, data: bytes) -> PartsUpload:
    stat = path.stat()
    sha256 = hashlib.sha256(data).hexdigest()
    return PartsUpload(str(path), bucket, "big.bin", len(data), stat.st_mtime_ns, sha256, PART,
                       {"Metadata": {"sha256": sha256}})  # fmt: skip


@pytest.fixture
def local(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    return path


def published(s3_client: Any, bucket: str) -> tuple[bytes, dict[str, str]]:
    stored = s3_client.get_object(Bucket=bucket, Key="big.bin")
    return stored["Body"].read(), stored["Metadata"]


@pytest.fixture
def window_proxy(moto_server: str) -> Iterator[PartsProxy]:
    # Part 1 is answered only once part 4 has arrived: with two parts in flight, part 4
    # can start only if parts 2 and 3 went through while part 1 was still in flight.
    proxy = PartsProxy(moto_server, hold=1, until=4)
    yield proxy
    proxy.close()


def test_parts_go_through_a_sliding_window_never_wider_than_asked(
    window_proxy: PartsProxy, s3_client: Any, bucket: str, local: Path, data: bytes
) -> None:
    store = store_at(window_proxy.url, bucket)
    upload = parts_upload(local, bucket, data)
    upload_in_parts(store.fs, upload, conditional=True, callback=NoOpCallback(),
                    journals=None, parts_in_flight=2)  # fmt: skip

    # A new part started as soon as one was answered, not when both of a batch were.
    events = window_proxy.events
    assert events.index(("arrived", 4)) < events.index(("answered", 1))
    assert window_proxy.peak == 2
    assert sorted(window_proxy.arrived) == [1, 2, 3, 4, 5]
    assert published(s3_client, bucket) == (data, {"sha256": upload.sha256})


@pytest.fixture
def counting_proxy(moto_server: str) -> Iterator[PartsProxy]:
    proxy = PartsProxy(moto_server)
    yield proxy
    proxy.close()


def test_a_continued_upload_sends_only_the_parts_s3_lacks_through_the_window(
    counting_proxy: PartsProxy,
    s3_client: Any,
    bucket: str,
    local: Path,
    data: bytes,
    tmp_path: Path,
) -> None:
    store = store_at(counting_proxy.url, bucket)
    upload = parts_upload(local, bucket, data)
    upload_id = s3_client.create_multipart_upload(
        Bucket=bucket, Key="big.bin", Metadata={"sha256": upload.sha256}
    )["UploadId"]
    for number in (2, 4):  # held apart: the window must skip them wherever they are
        body = data[(number - 1) * PART : number * PART]
        s3_client.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload_id,
                              PartNumber=number, Body=body)  # fmt: skip
    journals = UploadJournals(tmp_path / "journals")
    journals.write(upload.journal(upload_id))

    upload_in_parts(store.fs, upload, conditional=True, callback=NoOpCallback(),
                    journals=journals, parts_in_flight=2)  # fmt: skip

    assert sorted(counting_proxy.arrived) == [1, 3, 5]
    assert counting_proxy.peak <= 2
    assert published(s3_client, bucket) == (data, {"sha256": upload.sha256})
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert journals.read(upload.target) is None


class RewritingProxy(PartsProxy):
    """Rewrites the last part's bytes of ``path`` in place (same size) when part 1
    arrives: with two parts in flight, the last one is read from the file only later."""

    def __init__(self, upstream: str, path: Path, offset: int) -> None:
        super().__init__(upstream)
        self.path, self.offset = path, offset

    def _forward(self, handler: Any) -> None:
        if handler.command == "PUT" and part_number(handler.path) == 1:
            with open(self.path, "r+b") as f:
                f.seek(self.offset)
                f.write(b"\0" * 1024)
        super()._forward(handler)


def test_a_file_rewritten_during_its_upload_is_never_completed_with_mixed_content(
    moto_server: str, s3_client: Any, bucket: str, local: Path, data: bytes
) -> None:
    proxy = RewritingProxy(moto_server, local, 4 * PART + 10)
    try:
        store = store_at(proxy.url, bucket)
        upload = parts_upload(local, bucket, data)
        with pytest.raises(IntegrityError, match="changed while it was being pushed"):
            upload_in_parts(store.fs, upload, conditional=True, callback=NoOpCallback(),
                            journals=None, parts_in_flight=2)  # fmt: skip
    finally:
        proxy.close()
    assert s3_client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_file_not_hashed_yet_rewritten_during_its_upload_is_never_completed(
    moto_server: str, s3_client: Any, bucket: str, local: Path
) -> None:
    """Hashed on its way up (each part's CRC32 taken as its sha256 is): a part read again
    to be sent that is not what was hashed stops the upload, nothing is published."""
    proxy = RewritingProxy(moto_server, local, 4 * PART + 10)
    try:
        store = store_at(proxy.url, bucket)
        with open(local, "rb") as src, pytest.raises(IntegrityError, match="changed while"):
            store.ops.upload_hashing(src, f"{bucket}/big.bin", exclusive=True)
    finally:
        proxy.close()
    assert s3_client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


class CountedHash:
    """A hash object that adds the bytes it is fed to ``fed``."""

    def __init__(self, inner: Any, fed: list[int]) -> None:
        self.inner, self.fed = inner, fed

    def update(self, data: bytes) -> None:
        self.fed[0] += len(data)
        self.inner.update(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_file_in_parts_not_hashed_yet_is_hashed_with_sha256_once(
    moto_server: str,
    s3_client: Any,
    bucket: str,
    local: Path,
    data: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A push with no digests of the file hands it to the store to hash as it uploads it:
    its sha256 goes in the metadata the upload begins with, so it is read once for it, and
    once more to be sent, each part checked against the CRC32 taken in the first read;
    never a second sha256 of every byte (about 1 s per GiB here)."""
    fed = [0]
    new, sha256 = hashlib.new, hashlib.sha256

    def counted_new(name: str, *args: Any, **kwargs: Any) -> Any:
        made = new(name, *args, **kwargs)
        return CountedHash(made, fed) if name == "sha256" else made

    monkeypatch.setattr(hashlib, "new", counted_new)
    monkeypatch.setattr(hashlib, "sha256", lambda *a, **k: CountedHash(sha256(*a, **k), fed))
    store = store_at(moto_server, bucket)
    assert store.ops.hashes_upload_of(len(data))  # a push leaves it to upload_hashing
    with open(local, "rb") as src:
        digests = store.ops.upload_hashing(src, f"{bucket}/big.bin", exclusive=True)
    expected = sha256(data).hexdigest()
    assert digests["sha256"] == expected
    assert published(s3_client, bucket) == (data, {"sha256": expected})
    assert fed[0] == len(data)


def handles_of(path: Path) -> int:
    """How many descriptors this process holds open of ``path``."""
    held = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            held += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return held


def test_ctrl_c_stops_the_window_before_the_upload_is_aborted(
    moto_server: str, s3_client: Any, bucket: str, local: Path, data: bytes
) -> None:
    proxy = FaultProxy(moto_server)
    try:
        store = store_at(proxy.url, bucket)
        # Ctrl-C as part 2 arrives; part 3 is still in flight, held, when it lands.
        proxy.before_next(_thread.interrupt_main, methods=["PUT"], path_contains="partNumber=2")
        proxy.slow(60, methods=["PUT"], path_contains="partNumber=3")
        with pytest.raises(KeyboardInterrupt):
            upload_in_parts(store.fs, parts_upload(local, bucket, data), conditional=True,
                            callback=NoOpCallback(), journals=None, parts_in_flight=2)  # fmt: skip
        # Nothing of the upload runs on once it has returned: no part is still being read
        # or sent (one sent after the abort could be kept by S3), its file is closed.
        assert handles_of(local) == 0
        assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    finally:
        proxy.close()


class ChecksumsProxy(FaultProxy):
    """Keeps the ``x-amz-checksum-crc32`` header of each UploadPart, by part number."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.crc32: dict[int, str | None] = {}

    def _forward(self, handler: Any) -> None:
        number = part_number(handler.path) if handler.command == "PUT" else None
        if number is not None:
            with self._lock:
                self.crc32[number] = handler.headers.get("x-amz-checksum-crc32")
        super()._forward(handler)


def test_each_part_is_sent_with_its_crc32_computed_off_the_event_loop(
    moto_server: str, s3_client: Any, bucket: str, local: Path, data: bytes,
    crc32_on_loop: list[int],
) -> None:  # fmt: skip
    proxy = ChecksumsProxy(moto_server)
    try:
        store = store_at(proxy.url, bucket)
        upload = parts_upload(local, bucket, data)
        upload_in_parts(store.fs, upload, conditional=True, callback=NoOpCallback(),
                        journals=None, parts_in_flight=2)  # fmt: skip
    finally:
        proxy.close()

    assert sum(crc32_on_loop) < PART  # no part's bytes (a request's small XML body may be)
    parts = [data[at : at + PART] for at in range(0, len(data), PART)]
    expected = {number: crc32_header(part) for number, part in enumerate(parts, 1)}
    assert proxy.crc32 == expected
    assert published(s3_client, bucket) == (data, {"sha256": upload.sha256})


def test_no_part_is_hashed_again_on_the_event_loop_over_plain_http(
    moto_server: str, s3_client: Any, bucket: str, local: Path, data: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from botocore import auth

    on_loop: list[int] = []  # bytes botocore hashed to sign them, on s3fs's event loop
    sha256 = auth.sha256

    class Recorded:
        def __init__(self, data: bytes = b"") -> None:
            self.hasher = sha256()
            self.update(data)

        def update(self, chunk: bytes) -> None:
            if threading.current_thread().name == "fsspecIO":
                on_loop.append(len(chunk))
            self.hasher.update(chunk)

        def __getattr__(self, name: str) -> Any:  # digest, copy... (HMAC uses them too)
            return getattr(self.hasher, name)

    monkeypatch.setattr(auth, "sha256", Recorded)
    store = store_at(moto_server, bucket)  # http://: botocore would sign every payload
    upload = parts_upload(local, bucket, data)
    upload_in_parts(store.fs, upload, conditional=True, callback=NoOpCallback(),
                    journals=None, parts_in_flight=2)  # fmt: skip

    assert sum(on_loop) < PART  # no part's bytes (a request's small XML body may be)
    assert published(s3_client, bucket) == (data, {"sha256": upload.sha256})


def test_an_upload_declares_the_crc32_its_parts_carry_so_s3_checksums_no_whole_object(
    moto_server: str, s3_client: Any, bucket: str, local: Path, data: bytes
) -> None:
    # Undeclared, S3 (and moto) computes a CRC64NVME of the whole object at Complete: a
    # second pass over every byte, which the push waits for. Declared, the object's
    # checksum is the composite of the CRC32s the parts were sent and checked with.
    store = store_at(moto_server, bucket)
    sha256 = hashlib.sha256(data).hexdigest()
    store.ops.upload(str(local), f"{bucket}/big.bin", sha256=sha256, exclusive=True)

    head = s3_client.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") and "ChecksumCRC64NVME" not in head
    assert published(s3_client, bucket) == (data, {"sha256": sha256})
