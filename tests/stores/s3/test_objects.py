"""Upload bodies go to the socket in blocks of at least SEND_BLOCK, and are held once."""

from __future__ import annotations

import os

from fsartifacts.stores.s3.objects import SEND_BLOCK, SendBody


def test_a_send_body_hands_out_large_blocks_and_every_byte_once() -> None:
    data = os.urandom(2 * SEND_BLOCK + 7)
    body = SendBody(data)
    blocks = []
    while block := body.read(256 * 1024):  # aiohttp's read size for a BytesIO body
        blocks.append(block)
    assert [len(b) for b in blocks] == [SEND_BLOCK, SEND_BLOCK, 7]
    assert b"".join(blocks) == data
    body.seek(0)  # botocore rewinds a body to retry it
    assert body.read(0) == b"" and body.read() == data


def test_a_send_body_is_measured_without_a_copy_of_its_bytes() -> None:
    # aiohttp measures a BytesIO body through getbuffer(), which would otherwise copy the
    # bytes it shares into a buffer of its own: a part in flight held twice.
    data = os.urandom(SEND_BLOCK)
    body = SendBody(data)
    body.seek(5)
    with body.getbuffer() as view:
        assert view.obj is data
        assert len(view) - body.tell() == SEND_BLOCK - 5
    body.seek(0)
    assert body.read() == data
