"""A large local file copied by the kernel, read back behind the copy for its hashing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fsartifacts.localcopy import WRITEBACK_STEP, kernel_copy


def test_a_copy_past_the_write_back_step_lands_whole_at_its_offset_and_is_fed_in_order(
    tmp_path: Path,
) -> None:
    # Past WRITEBACK_STEP the destination's range is handed to the disk as the copy goes
    # on; the bytes, where they land and what is fed must not depend on it.
    size = WRITEBACK_STEP + 1024 * 1024 + 5
    data = os.urandom(1024 * 1024) * (size // (1024 * 1024)) + os.urandom(5)
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    src.write_bytes(b"h" * 7 + data)
    dst.write_bytes(b"head")
    digest = hashlib.sha256()
    with open(src, "rb") as s, open(dst, "r+b") as d:
        copied = kernel_copy(s.fileno(), d.fileno(), size, src_at=7, dst_at=4, feed=digest.update)
    assert copied == size
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert dst.read_bytes() == b"head" + data
