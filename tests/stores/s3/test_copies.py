"""Copies S3 makes itself, against moto over HTTP: checked, never trusted blindly."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
import s3fs

from fsartifacts.config.model import TransferSettings
from fsartifacts.stores.base import StoredCopy
from fsartifacts.stores.s3 import copies
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.stores.store import Store


@pytest.fixture
def store(moto_server: str, bucket: str) -> Store:
    settings = S3Settings(bucket=f"{bucket}/models", endpoint_url=moto_server, region="us-east-1")
    return open_s3_store(settings, TransferSettings(attempts=2))


def seed(s3_client: Any, bucket: str, key: str, data: bytes) -> StoredCopy:
    s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    return StoredCopy(f"{bucket}/{key}", len(data), hashlib.sha256(data).hexdigest())


def test_a_copy_is_made_by_s3_with_the_sha256_recorded(
    store: Store, bucket: str, s3_client: Any
) -> None:
    source = seed(s3_client, bucket, "models/a_v1.0.0.bin", os.urandom(3000))
    assert store.ops.copy(source, store.path("a_v1.0.1.bin"), exclusive=True, record=True)
    head = s3_client.head_object(Bucket=bucket, Key="models/a_v1.0.1.bin")
    assert head["Metadata"]["sha256"] == source.sha256
    got = s3_client.get_object(Bucket=bucket, Key="models/a_v1.0.1.bin")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == source.sha256
    with pytest.raises(FileExistsError):
        store.ops.copy(source, store.path("a_v1.0.1.bin"), exclusive=True)


def test_a_source_that_changed_or_went_is_not_copied(
    store: Store, bucket: str, s3_client: Any
) -> None:
    source = seed(s3_client, bucket, "models/a_v1.0.0.bin", b"what the manifest says")
    s3_client.put_object(Bucket=bucket, Key="models/a_v1.0.0.bin", Body=b"what it holds now!!!!!")
    assert not store.ops.copy(source, store.path("b/a.bin"))
    gone = StoredCopy(f"{bucket}/models/nothing.bin", source.size, source.sha256)
    assert not store.ops.copy(gone, store.path("b/a.bin"))
    assert s3_client.list_objects_v2(Bucket=bucket, Prefix="models/b/").get("KeyCount") == 0


def test_above_the_copy_object_limit_a_multipart_copy_keeps_the_metadata(
    store: Store, bucket: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits, lowered: the path above them is the one a 5 GiB object takes.
    monkeypatch.setattr(copies, "COPY_OBJECT_LIMIT", 1024)
    monkeypatch.setattr(s3fs.core, "MANAGED_COPY_THRESHOLD", 1024)
    source = seed(s3_client, bucket, "models/big_v1.0.0.bin", os.urandom(4096))
    assert store.ops.copy(source, store.path("big_v1.0.1.bin"), record=True)
    head = s3_client.head_object(Bucket=bucket, Key="models/big_v1.0.1.bin")
    assert head["Metadata"]["sha256"] == source.sha256
    assert str(head["ETag"]).strip('"').endswith("-1")  # made by a multipart copy
    got = s3_client.get_object(Bucket=bucket, Key="models/big_v1.0.1.bin")["Body"].read()
    assert hashlib.sha256(got).hexdigest() == source.sha256


def test_a_composite_or_missing_checksum_is_no_sha256() -> None:
    assert copies.sha256_hex(None) is None
    assert copies.sha256_hex("abc=-3") is None
    assert copies.sha256_hex("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=") == (
        hashlib.sha256(b"hello").hexdigest()
    )
