"""A response body is read on the event loop ahead of its writer, a bounded number of
blocks, with its failures raised after the blocks read before them (on moto's bodies)."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import IncompleteReadError
from fsspec.asyn import sync
from s3fs.core import S3_RETRYABLE_ERRORS

from fsartifacts.config.model import TransferSettings
from fsartifacts.sizes import MiB
from fsartifacts.stores.s3.objects import DOWNLOAD_BLOCK, close_body
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.readahead import ReadAhead
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.stores.store import Store
from tests.fixtures.fault_proxy import FaultProxy

SIZE = 6 * DOWNLOAD_BLOCK + 5
WAIT = 20.0  # seconds a condition that must come true is waited for, at most


def _store(endpoint: str, bucket: str) -> Store:
    settings = S3Settings(bucket=bucket, endpoint_url=endpoint, region="us-east-1")
    return open_s3_store(settings, TransferSettings(attempts=2, timeout=20.0))


def _body(store: Store, bucket: str, key: str) -> Any:
    response = sync(store.fs.loop, store.fs._call_s3, "get_object", Bucket=bucket, Key=key)
    return response["Body"]


def _read_until(body: Any, wanted: int) -> int:
    """How far the body has been read once it reaches ``wanted`` bytes (or stops short)."""
    for _ in range(int(WAIT / 0.01)):
        if body.tell() >= wanted:
            break
        time.sleep(0.01)
    return int(body.tell())


@pytest.fixture
def stored(s3_client: Any, bucket: str) -> bytes:
    data = os.urandom(SIZE)
    s3_client.put_object(Bucket=bucket, Key="big.bin", Body=data)
    return data


def test_a_body_is_read_ahead_of_the_block_its_writer_holds_and_no_further(
    moto_server: str, bucket: str, stored: bytes
) -> None:
    store = _store(moto_server, bucket)
    body = _body(store, bucket, "big.bin")
    reader = ReadAhead(store.fs.loop, body, ahead=2)
    try:
        first = reader.next()  # held: the writer has not asked for more
        # Two blocks beyond the one taken arrive while it is held, and then the
        # reading waits for room: memory stays at the blocks allowed ahead.
        assert _read_until(body, 3 * DOWNLOAD_BLOCK) == 3 * DOWNLOAD_BLOCK
        assert not threading.Event().wait(0.2) and body.tell() == 3 * DOWNLOAD_BLOCK
        blocks = [first]
        while block := reader.next():
            blocks.append(block)
    finally:
        reader.stop()
        close_body(store.fs.loop, body)
    assert [len(b) for b in blocks] == [DOWNLOAD_BLOCK] * 6 + [5]
    assert b"".join(blocks) == stored
    assert reader.next() == b""  # the end stays the end


def test_a_failure_of_the_read_follows_the_blocks_read_before_it(
    proxy: FaultProxy, bucket: str, stored: bytes
) -> None:
    store = _store(proxy.url, bucket)
    proxy.truncate_next(2 * DOWNLOAD_BLOCK + 100, count=1)  # the connection ends there
    body = _body(store, bucket, "big.bin")
    reader = ReadAhead(store.fs.loop, body)
    got = b""
    try:
        with pytest.raises((*S3_RETRYABLE_ERRORS, IncompleteReadError)):
            while block := reader.next():
                got += block
    finally:
        reader.stop()
        close_body(store.fs.loop, body)
    # Every whole block before the cut arrived, in order; the cut itself is the read's
    # own error (what the download resumes from), never an early end.
    assert got == stored[: 2 * DOWNLOAD_BLOCK]


def test_a_stopped_reader_reads_no_more_of_the_body(
    moto_server: str, bucket: str, stored: bytes, tmp_path: Path
) -> None:
    store = _store(moto_server, bucket)
    body = _body(store, bucket, "big.bin")
    reader = ReadAhead(store.fs.loop, body, ahead=1)
    try:
        assert reader.next() == stored[:DOWNLOAD_BLOCK]
        reached = _read_until(body, 2 * DOWNLOAD_BLOCK)
        reader.stop()
        reader.stop()  # idempotent
        assert not threading.Event().wait(0.2) and body.tell() == reached < SIZE
    finally:
        close_body(store.fs.loop, body)


def test_a_download_in_one_stream_and_in_ranges_gives_every_byte(
    moto_server: str, bucket: str, stored: bytes, tmp_path: Path
) -> None:
    store = _store(moto_server, bucket)
    rpath = f"{bucket}/big.bin"
    out = tmp_path / "one.bin"
    with out.open("wb") as f:
        store.ops.download(rpath, f)
    assert out.read_bytes() == stored
    ranged = io.BytesIO()
    store.ops.read_range(rpath, MiB + 3, SIZE - 1, ranged, revision=None)
    assert ranged.getvalue() == stored[MiB + 3 : SIZE - 1]
