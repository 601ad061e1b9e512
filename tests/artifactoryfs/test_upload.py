"""The body of an upload: large send blocks, its length, and its rewind for a retry."""

from __future__ import annotations

import os
from pathlib import Path

from fsspec.callbacks import NoOpCallback
from urllib3.util.request import body_to_chunks

from fsartifacts.artifactoryfs.download import ProgressOnce
from fsartifacts.artifactoryfs.upload import SEND_BLOCK, UploadBody


def test_urllib3_sends_an_upload_in_large_blocks_and_can_rewind_it(tmp_path: Path) -> None:
    data = os.urandom(2 * SEND_BLOCK + 5)
    local = tmp_path / "model.bin"
    local.write_bytes(data)
    with open(local, "rb") as raw:
        body = UploadBody(raw, len(data), ProgressOnce(NoOpCallback()))
        assert len(body) == len(data)  # requests sends it as Content-Length
        # urllib3 asks a file body for 16 KiB at a time; the body answers in SEND_BLOCKs.
        chunks = list(body_to_chunks(body, "PUT", 16384).chunks or ())
        assert [len(c) for c in chunks] == [SEND_BLOCK, SEND_BLOCK, 5]
        assert b"".join(chunks) == data
        assert body.seek(0) == 0 and body.tell() == 0  # urllib3's rewind before a retry
        assert body.read(10) + body.read() == data
