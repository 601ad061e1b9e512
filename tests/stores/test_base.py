"""The generic StoreOps, on fsspec's in-memory filesystem: what any fsspec store gets."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from fsartifacts.stores.base import StoredCopy, StoreOps


@pytest.fixture
def ops() -> StoreOps:
    return StoreOps(MemoryFileSystem(skip_instance_cache=True))


def stored(ops: StoreOps, path: str, data: bytes) -> StoredCopy:
    ops.fs.pipe_file(path, data)
    return StoredCopy(path, len(data), hashlib.sha256(data).hexdigest())


def test_the_generic_copy_streams_and_checks_the_content(ops: StoreOps) -> None:
    root = f"/{uuid.uuid4().hex}"
    source = stored(ops, f"{root}/a_v1.0.0.bin", b"content" * 100)
    assert not StoreOps.copies_on_store  # so the engine uploads instead on such stores
    assert ops.copy(source, f"{root}/a_v1.0.1.bin", exclusive=True, record=True)
    assert ops.fs.cat_file(f"{root}/a_v1.0.1.bin") == b"content" * 100
    assert ops.recorded_sha256(f"{root}/a_v1.0.1.bin") == source.sha256
    with pytest.raises(FileExistsError):
        ops.copy(source, f"{root}/a_v1.0.1.bin", exclusive=True)

    # Not the content it was recorded with (or gone): nothing is left at the target.
    ops.fs.pipe_file(source.path, b"other" * 140)
    assert not ops.copy(source, f"{root}/b.bin")
    ops.fs.pipe_file(source.path, b"content" * 101)
    assert not ops.copy(source, f"{root}/b.bin")
    ops.fs.rm_file(source.path)
    assert not ops.copy(source, f"{root}/b.bin")
    assert sorted(ops.fs.ls(root, detail=False)) == [
        f"{root}/a_v1.0.1.bin",
        f"{root}/a_v1.0.1.bin.sha256",
    ]
