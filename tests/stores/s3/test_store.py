"""S3 as a store: s3fs + S3Ops over real HTTP against moto's server on loopback.

These pin the S3 and s3fs behaviour the engine relies on (conditional
creates, metadata, complete listings, extra_args, checksums, multipart
ETags) and the skelebot bugs about S3 names and listings. Faults that moto
cannot produce (an endpoint without conditional writes, bytes corrupted or a
connection dropped on the way) come from a small HTTP proxy in front of it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fsspec.callbacks import Callback

from fsartifacts.config.model import TransferSettings
from fsartifacts.errors import AuthError, ConfigError, IntegrityError, NotFoundError, TransferError
from fsartifacts.retry import is_transient
from fsartifacts.sizes import MiB
from fsartifacts.stores.s3.filesystem import PARTS_IN_FLIGHT, part_size_for
from fsartifacts.stores.s3.ops import S3Ops, open_s3_store
from fsartifacts.stores.s3.settings import MAX_PARTS, MIN_PART_SIZE, S3Settings
from fsartifacts.stores.store import Store, ops_for
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.moto import crc32_header

PART = MIN_PART_SIZE  # the smallest part S3 takes keeps multipart tests small
TRANSFER = TransferSettings(jobs=3, attempts=3, timeout=20.0, part_size=PART)
SRC = Path(__file__).resolve().parents[3]


# -- fixtures -------------------------------------------------------------------


def s3_store(endpoint: str, spec: str, transfer: TransferSettings = TRANSFER, **cfg: Any) -> Store:
    config = {"bucket": spec, "endpoint_url": endpoint, "region": "us-east-1", **cfg}
    return open_s3_store(S3Settings(**config), transfer)


@pytest.fixture
def store(moto_server: str, bucket: str) -> Store:
    return s3_store(moto_server, f"{bucket}/models")


def write(path: Path, data: bytes) -> tuple[Path, str]:
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def read_back(s3_client: Any, bucket: str, key: str) -> bytes:
    return bytes(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


def entry_of(store: Store, name: str) -> dict[str, Any]:
    return next(e for e in store.ops.listing(store.root) if e["name"] == store.path(name))


class Recording(Callback):
    """A progress callback that keeps every (size, value) it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int | None, int]] = []

    def call(self, *args: Any, **kwargs: Any) -> None:
        self.seen.append((self.size, self.value))


# -- configuration ----------------------------------------------------------------


def test_store_root_and_display(moto_server: str) -> None:
    store = s3_store(moto_server, "s3://some-bucket/team/models/")
    assert store.root == "some-bucket/team/models"
    assert store.display == "s3://some-bucket/team/models"
    assert store.path("model_v1.0.0.pkl") == "some-bucket/team/models/model_v1.0.0.pkl"
    assert store.url("model_v1.0.0.pkl") == "s3://some-bucket/team/models/model_v1.0.0.pkl"
    assert type(store.ops) is S3Ops
    assert type(ops_for(store.fs, TRANSFER)) is S3Ops
    assert (S3Ops.atomic_create, S3Ops.atomic_writes, S3Ops.records_sha256) == (True,) * 3


def test_transfer_settings_reach_botocore_and_s3fs(moto_server: str) -> None:
    transfer = TransferSettings(jobs=6, attempts=7, timeout=12.5, part_size=16 * MiB)
    store = s3_store(moto_server, "some-bucket", transfer, region="eu-west-3")
    fs = store.fs
    config = fs.s3.meta.config
    assert config.retries == {"total_max_attempts": 7, "mode": "standard"}
    assert fs.retries == 1  # s3fs's own retry loop must not multiply botocore's attempts
    assert (config.connect_timeout, config.read_timeout) == (10.0, 12.5)  # connect: 10 s at most
    assert config.max_pool_connections >= 6 * PARTS_IN_FLIGHT
    assert fs.s3.meta.region_name == "eu-west-3"
    assert fs.max_concurrency == PARTS_IN_FLIGHT
    assert (config.request_checksum_calculation, config.response_checksum_validation) == (
        "when_supported",
        "when_supported",
    )
    # Not fsspec's cached instance: each store gets its own client.
    assert s3_store(moto_server, "some-bucket", transfer).fs is not fs


def test_part_size_respects_s3_limits() -> None:
    assert part_size_for(10 * MiB, 8 * MiB) == 8 * MiB
    assert part_size_for(10 * MiB, MiB) == MIN_PART_SIZE
    huge = 200 * 1024 * MiB
    assert part_size_for(huge, 8 * MiB) * MAX_PARTS >= huge


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"extra_args": {"ServerSideEncrypton": "AES256"}}, "ServerSideEncrypton"),
        ({"extra_args": {"ChecksumAlgorithm": "SHA256"}}, "ChecksumAlgorithm"),
        ({"extra_args": {"StorageClass": 3}}, r"repository\.s3\.extra_args.*StorageClass"),
        ({"extra_args": ["ACL", "private"]}, r"repository\.s3\.extra_args"),
        ({"endpoint_url": "127.0.0.1:9000"}, r"repository\.s3\.endpoint_url"),
        ({"region": 5}, r"repository\.s3\.region"),
        ({"profile": "no-such-profile"}, r"repository\.s3\.profile.*no-such-profile"),
    ],
)
def test_bad_s3_settings_are_config_errors(
    moto_server: str, cfg: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        s3_store(moto_server, "some-bucket", **cfg)


def test_profile_from_the_aws_config_file_is_used(
    moto_server: str, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile ci]\nregion = ap-south-1\naws_access_key_id = ci\naws_secret_access_key = ci\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # it would win over the profile's region
    store = s3_store(moto_server, bucket, profile="ci", region="")
    assert store.fs.s3.meta.region_name == "ap-south-1"
    assert store.ops.listing(store.root) == []


def test_import_stores_does_not_load_s3fs_or_botocore() -> None:
    code = (
        "import sys, fsartifacts.stores, fsartifacts.stores.base; "
        "print([m for m in ('s3fs', 'botocore', 'aiobotocore', 'boto3') if m in sys.modules])"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


# -- listings -----------------------------------------------------------------------


def test_skelebot_A1_listing_complete_past_1000_keys(
    moto_server: str, bucket: str, s3_client: Any
) -> None:
    """skelebot read one page of list_objects_v2 and resolved LATEST to 1.2.998, not 1.3.0."""
    keys = [f"models/model_v1.2.{i}.pkl" for i in range(1049)] + ["models/model_v1.3.0.pkl"]
    # Seeded in moto's own backend (the server runs in this process): through
    # HTTP each PutObject costs moto ~4 ms of CPU, 1,050 of them ~7 s.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(bucket, key, b"m")
    assert s3_client.list_objects_v2(Bucket=bucket)["IsTruncated"]  # more than one page
    store = s3_store(moto_server, f"{bucket}/models")
    names = {e["name"] for e in store.ops.listing(store.root)}
    assert len(names) == 1050
    assert f"{bucket}/models/model_v1.3.0.pkl" in names
    assert names == {f"{bucket}/{k}" for k in keys}


def test_skelebot_A2_empty_listing_is_not_a_crash(
    moto_server: str, bucket: str, s3_client: Any
) -> None:
    """skelebot raised KeyError: 'Contents' on an empty listing."""
    assert s3_store(moto_server, bucket).ops.listing(bucket) == []
    store = s3_store(moto_server, f"{bucket}/models")
    assert store.ops.listing(store.root) == []
    # A sibling sharing the prefix as a string is not inside the folder.
    s3_client.put_object(Bucket=bucket, Key="models.bak/model_v1.0.0.pkl", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="models-old", Body=b"x")
    assert store.ops.listing(store.root) == []
    # The folder's own zero-byte marker (made by consoles) is not an entry.
    s3_client.put_object(Bucket=bucket, Key="models/", Body=b"")
    assert store.ops.listing(store.root) == []
    s3_client.put_object(Bucket=bucket, Key="models/model_v1.0.0.pkl", Body=b"x")
    names = [e["name"] for e in store.ops.listing(store.root)]
    assert names == [f"{bucket}/models/model_v1.0.0.pkl"]
    # A file where the folder should be is no folder of artifacts.
    assert store.ops.listing(f"{bucket}/models-old") == []


def files_below(store: Store, path: str) -> set[str]:
    """Relative names of the objects below ``path``, freshly listed."""
    return {name[len(path) + 1 :] for name in store.fs.find(path, refresh=True)}


def test_listing_entries_and_folders(store: Store, s3_client: Any, bucket: str) -> None:
    s3_client.put_object(Bucket=bucket, Key="models/model_v1.0.0.pkl", Body=b"abc")
    s3_client.put_object(Bucket=bucket, Key="models/data_v1.0.0/a.csv", Body=b"a")
    entries = {e["name"]: e for e in store.ops.listing(store.root)}
    assert entries[f"{bucket}/models/model_v1.0.0.pkl"]["type"] == "file"
    assert entries[f"{bucket}/models/model_v1.0.0.pkl"]["size"] == 3
    assert entries[f"{bucket}/models/data_v1.0.0"]["type"] == "directory"
    assert files_below(store, store.path("data_v1.0.0")) == {"a.csv"}


def test_missing_bucket_is_named_not_an_empty_store(moto_server: str) -> None:
    store = s3_store(moto_server, f"fsa-missing-{uuid.uuid4().hex[:12]}/models")
    with pytest.raises(NotFoundError, match=r"bucket 'fsa-missing-.*repository\.s3\.bucket"):
        store.ops.listing(store.root)


def test_unreachable_endpoint_is_a_transfer_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    transfer = TransferSettings(attempts=1, timeout=5.0, part_size=PART)
    store = s3_store(f"http://127.0.0.1:{port}", "some-bucket", transfer)
    with pytest.raises(TransferError, match="cannot reach the S3 endpoint"):
        store.ops.listing(store.root)


def test_access_denied_is_an_auth_error(bucket: str, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.faults.add("deny")
    store = s3_store(proxy.url, bucket)
    with pytest.raises(AuthError, match="refused") as caught:
        store.ops.listing(store.root)
    assert caught.value.exit_code == 1
    local, sha = write(tmp_path / "m.pkl", b"m")
    with pytest.raises(AuthError):
        store.ops.upload(str(local), store.path("m.pkl"), sha256=sha, exclusive=True)
    with pytest.raises(AuthError):
        store.ops.download(store.path("m.pkl"), io.BytesIO())


def test_missing_credentials_are_an_auth_error(
    moto_server: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    store = s3_store(moto_server, bucket)
    with pytest.raises(AuthError, match="AWS_ACCESS_KEY_ID") as caught:
        store.ops.listing(store.root)
    assert caught.value.missing_credentials
    assert caught.value.exit_code == 2


# -- uploads ------------------------------------------------------------------------


def test_sha256_metadata_round_trip(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    local, sha = write(tmp_path / "model.pkl", b"weights" * 100)
    store.ops.upload(str(local), store.path("model_v1.0.0.pkl"), sha256=sha, exclusive=True)
    head = s3_client.head_object(Bucket=bucket, Key="models/model_v1.0.0.pkl")
    assert head["Metadata"] == {"sha256": sha}
    assert store.ops.recorded_sha256(store.path("model_v1.0.0.pkl")) == sha
    assert read_back(s3_client, bucket, "models/model_v1.0.0.pkl") == local.read_bytes()


def test_upload_without_record_writes_no_sha256(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    local, sha = write(tmp_path / "a.csv", b"a,b\n")
    store.ops.upload(str(local), store.path("d/a.csv"), sha256=sha, exclusive=False, record=False)
    assert s3_client.head_object(Bucket=bucket, Key="models/d/a.csv")["Metadata"] == {}
    assert store.ops.recorded_sha256(store.path("d/a.csv")) is None


def test_exclusive_upload_never_replaces(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    first, sha1 = write(tmp_path / "one", b"first")
    second, sha2 = write(tmp_path / "two", b"second")
    rpath = store.path("model_v1.0.0.pkl")
    store.ops.upload(str(first), rpath, sha256=sha1, exclusive=True)
    with pytest.raises(FileExistsError, match=r"model_v1\.0\.0\.pkl"):
        store.ops.upload(str(second), rpath, sha256=sha2, exclusive=True)
    assert read_back(s3_client, bucket, "models/model_v1.0.0.pkl") == b"first"
    store.ops.upload(str(second), rpath, sha256=sha2, exclusive=False)  # --force
    assert read_back(s3_client, bucket, "models/model_v1.0.0.pkl") == b"second"
    assert store.ops.recorded_sha256(rpath) == sha2


def test_two_concurrent_exclusive_uploads_exactly_one_wins(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    # Single-part only: moto checks If-None-Match on CompleteMultipartUpload
    # before assembling the parts, so two racing completes can both pass there
    # (S3 itself settles it; the sequential multipart refusal is pinned below).
    contenders = [write(tmp_path / f"c{i}", os.urandom(64 * 1024)) for i in range(2)]
    rpath = store.path("model_v1.0.0.pkl")
    start = threading.Barrier(2)

    def push(contender: tuple[Path, str]) -> str:
        local, sha = contender
        start.wait()
        try:
            store.ops.upload(str(local), rpath, sha256=sha, exclusive=True)
        except FileExistsError:
            return "refused"
        return sha

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(push, contenders))
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 1
    stored = read_back(s3_client, bucket, "models/model_v1.0.0.pkl")
    assert hashlib.sha256(stored).hexdigest() == winners[0]
    assert store.ops.recorded_sha256(rpath) == winners[0]


def test_skelebot_B4_exclusive_create_is_atomic_and_exact(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path, proxy: FaultProxy
) -> None:
    """skelebot's no-overwrite check was a prefix listing: model.pkl.bak blocked model.pkl."""
    s3_client.put_object(Bucket=bucket, Key="models/model.pkl.bak", Body=b"old")
    local, sha = write(tmp_path / "model.pkl", b"new")
    store.ops.upload(str(local), store.path("model.pkl"), sha256=sha, exclusive=True)
    assert read_back(s3_client, bucket, "models/model.pkl") == b"new"
    # Atomic: it was the store's If-None-Match that refused, not a check of ours.
    via_proxy = s3_store(proxy.url, f"{bucket}/models")
    with pytest.raises(FileExistsError):
        via_proxy.ops.upload(str(local), via_proxy.path("model.pkl"), sha256=sha, exclusive=True)
    assert proxy.seen_if_none_match == 1
    # Exact on the fallback path too: its check is a HEAD of the key, not a prefix listing.
    proxy.faults.add("no_conditional_writes")
    s3_client.put_object(Bucket=bucket, Key="models/labels.json.bak", Body=b"old")
    via_proxy.ops.upload(str(local), via_proxy.path("labels.json"), sha256=sha, exclusive=True)
    assert read_back(s3_client, bucket, "models/labels.json") == b"new"


def test_skelebot_B6_bucket_with_trailing_slash(
    moto_server: str, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    """skelebot turned bucket ``bkt-c/`` into the key ``/model_v2.0.0.pkl``."""
    store = s3_store(moto_server, f"{bucket}/")
    assert store.root == bucket
    local, sha = write(tmp_path / "model.pkl", b"m")
    store.ops.upload(str(local), store.path("model_v2.0.0.pkl"), sha256=sha, exclusive=True)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["model_v2.0.0.pkl"]
    prefixed = s3_store(moto_server, f"s3://{bucket}/team/")
    prefixed.ops.upload(str(local), prefixed.path("model_v2.0.0.pkl"), sha256=sha, exclusive=True)
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["model_v2.0.0.pkl", "team/model_v2.0.0.pkl"]


def test_multipart_upload_records_sha256_and_its_etag_is_no_hash(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    data = os.urandom(2 * PART + 123)
    local, sha = write(tmp_path / "big.bin", data)
    rpath = store.path("big_v1.0.0.bin")
    progress = Recording()
    store.ops.upload(str(local), rpath, sha256=sha, exclusive=True, callback=progress)
    head = s3_client.head_object(Bucket=bucket, Key="models/big_v1.0.0.bin")
    assert head["ETag"].strip('"').endswith("-3")  # 5 MiB + 5 MiB + the rest
    assert head["Metadata"] == {"sha256": sha}
    assert progress.seen[-1] == (len(data), len(data))
    entry = entry_of(store, "big_v1.0.0.bin")
    assert store.ops.native_checksum(entry) is None
    assert store.ops.recorded_sha256(rpath, entry) == sha
    out = io.BytesIO()
    store.ops.download(rpath, out)
    assert hashlib.sha256(out.getvalue()).hexdigest() == sha


def test_exclusive_multipart_upload_refused_leaves_no_upload_behind(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    s3_client.put_object(Bucket=bucket, Key="models/big_v1.0.0.bin", Body=b"there first")
    local, sha = write(tmp_path / "big.bin", os.urandom(2 * PART + 1))
    with pytest.raises(FileExistsError):
        store.ops.upload(str(local), store.path("big_v1.0.0.bin"), sha256=sha, exclusive=True)
    assert read_back(s3_client, bucket, "models/big_v1.0.0.bin") == b"there first"
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_extra_args_reach_single_and_multipart_uploads(
    moto_server: str, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    extra = {
        "ServerSideEncryption": "AES256",
        "StorageClass": "STANDARD_IA",
        "Metadata": {"team": "ml"},
    }
    store = s3_store(moto_server, bucket, extra_args=extra)
    small, small_sha = write(tmp_path / "small.json", b"{}")
    big, big_sha = write(tmp_path / "big.bin", os.urandom(2 * PART + 1))
    store.ops.upload(str(small), store.path("small.json"), sha256=small_sha, exclusive=True)
    store.ops.upload(str(big), store.path("big.bin"), sha256=big_sha, exclusive=True)
    store.ops.write_bytes(store.path("manifest.json"), b"[]", exclusive=True)
    for key, sha in [("small.json", small_sha), ("big.bin", big_sha), ("manifest.json", None)]:
        head = s3_client.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256", key
        assert head["StorageClass"] == "STANDARD_IA", key
        assert head["Metadata"]["team"] == "ml", key
        if sha:
            assert head["Metadata"]["sha256"] == sha, key
    assert s3_client.head_object(Bucket=bucket, Key="small.json")["ContentType"] == (
        "application/json"
    )


def test_checksums_when_required_reaches_botocore(
    moto_server: str, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    local, sha = write(tmp_path / "m.pkl", b"model")
    default = s3_store(moto_server, f"{bucket}/default")
    required = s3_store(moto_server, f"{bucket}/required", checksums="when_required")
    config = required.fs.s3.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    for store in (default, required):
        store.ops.upload(str(local), store.path("m.pkl"), sha256=sha, exclusive=True)
    # botocore sent a CRC32 with the default setting only (moto keeps what it was sent).
    assert entry_of(default, "m.pkl").get("ChecksumAlgorithm") == ["CRC32"]
    assert "ChecksumAlgorithm" not in entry_of(required, "m.pkl")
    out = io.BytesIO()
    required.ops.download(required.path("m.pkl"), out)
    assert out.getvalue() == b"model"


def test_a_small_upload_sends_its_crc32_computed_off_the_event_loop(
    store: Store, s3_client: Any, bucket: str, tmp_path: Path, crc32_on_loop: list[int]
) -> None:
    """botocore would checksum the body on s3fs's one event-loop thread, which every
    request of a folder shares; the upload computes it where it reads the file."""
    data = os.urandom(40_000)
    local, sha = write(tmp_path / "small.bin", data)
    store.ops.upload(str(local), store.path("small.bin"), sha256=sha, exclusive=True)
    store.ops.write_bytes(store.path("note.txt"), b"note", exclusive=True)
    assert crc32_on_loop == []
    for key, body in (("models/small.bin", data), ("models/note.txt", b"note")):
        head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumCRC32"] == crc32_header(body)
        assert read_back(s3_client, bucket, key) == body


def test_single_part_etag_is_an_md5_and_is_checked(
    moto_server: str, bucket: str, s3_client: Any, tmp_path: Path, proxy: FaultProxy
) -> None:
    data = b"weights" * 1000
    local, sha = write(tmp_path / "m.pkl", data)
    store = s3_store(moto_server, bucket)
    store.ops.upload(str(local), store.path("good.pkl"), sha256=sha, exclusive=True)
    assert store.ops.native_checksum(entry_of(store, "good.pkl")) == (
        "md5",
        hashlib.md5(data).hexdigest(),
    )
    # Without checksum headers (when_required) only the ETag can tell the
    # bytes changed on the way: the bad object is removed and the push fails.
    proxy.faults.add("corrupt_puts")
    corrupting = s3_store(proxy.url, bucket, checksums="when_required")
    with pytest.raises(IntegrityError, match=r"corrupted on the way.*deleted"):
        corrupting.ops.upload(str(local), corrupting.path("bad.pkl"), sha256=sha, exclusive=True)
    with pytest.raises(IntegrityError, match="corrupted on the way"):
        corrupting.ops.write_bytes(corrupting.path("bad.json"), b"[1, 2, 3]", exclusive=False)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["good.pkl"]


def test_local_file_changed_after_hashing_is_not_uploaded(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    local, sha = write(tmp_path / "m.pkl", b"version one")
    local.write_bytes(b"version two")
    with pytest.raises(IntegrityError, match="changed while it was being pushed"):
        store.ops.upload(str(local), store.path("m.pkl"), sha256=sha, exclusive=True)
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_objects_from_plain_boto3_have_md5_but_no_sha256(
    store: Store, bucket: str, s3_client: Any
) -> None:
    """What skelebot (boto3 upload_file) leaves: no metadata, a single-part ETag."""
    data = b"pushed by skelebot"
    s3_client.put_object(Bucket=bucket, Key="models/model_v1.0.0.pkl", Body=data)
    rpath = store.path("model_v1.0.0.pkl")
    entry = entry_of(store, "model_v1.0.0.pkl")
    assert store.ops.recorded_sha256(rpath, entry) is None
    assert store.ops.native_checksum(entry) == ("md5", hashlib.md5(data).hexdigest())


def test_kms_etag_is_not_taken_for_an_md5(store: Store, bucket: str, s3_client: Any) -> None:
    s3_client.put_object(
        Bucket=bucket, Key="models/kms.pkl", Body=b"secret", ServerSideEncryption="aws:kms"
    )
    entry = entry_of(store, "kms.pkl")
    assert store.ops.recorded_sha256(store.path("kms.pkl"), entry) is None
    assert store.ops.native_checksum(entry) is None


def test_conditional_write_fallback_when_endpoint_has_none(
    moto_server: str,
    bucket: str,
    s3_client: Any,
    tmp_path: Path,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy.faults.add("no_conditional_writes")
    store = s3_store(proxy.url, f"{bucket}/models")
    small, small_sha = write(tmp_path / "m.pkl", b"model")
    big, big_sha = write(tmp_path / "big.bin", os.urandom(2 * PART + 1))
    with caplog.at_level(logging.INFO, logger="fsartifacts"):
        store.ops.upload(str(big), store.path("big.bin"), sha256=big_sha, exclusive=True)
        store.ops.upload(str(small), store.path("m.pkl"), sha256=small_sha, exclusive=True)
        with pytest.raises(FileExistsError):
            store.ops.upload(str(small), store.path("m.pkl"), sha256=small_sha, exclusive=True)
        store.ops.write_bytes(store.path("manifest.json"), b"{}", exclusive=True)
        with pytest.raises(FileExistsError):
            store.ops.write_bytes(store.path("manifest.json"), b"{}", exclusive=True)
    notes = [r for r in caplog.records if "conditional writes" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO
    assert proxy.seen_if_none_match == 1  # asked once, then never again
    assert read_back(s3_client, bucket, "models/big.bin") == big.read_bytes()
    assert s3_client.head_object(Bucket=bucket, Key="models/big.bin")["Metadata"] == {
        "sha256": big_sha
    }
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_conditional_write_conflict_is_retried(
    bucket: str, s3_client: Any, tmp_path: Path, proxy: FaultProxy
) -> None:
    """S3 answers 409 while another write of the key is under way, and asks for a retry."""
    proxy.faults.add("conflict_once")
    store = s3_store(proxy.url, bucket)
    local, sha = write(tmp_path / "m.pkl", b"model")
    store.ops.upload(str(local), store.path("m.pkl"), sha256=sha, exclusive=True)
    assert proxy.seen_if_none_match == 2
    assert read_back(s3_client, bucket, "m.pkl") == b"model"


def test_parallel_transfers_share_one_filesystem(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    files = [write(tmp_path / f"f{i}", os.urandom(1000 + i)) for i in range(12)]
    files.append(write(tmp_path / "big", os.urandom(2 * PART + 7)))

    def push(item: tuple[int, tuple[Path, str]]) -> None:
        i, (local, sha) = item
        store.ops.upload(str(local), store.path(f"a{i}_v1.0.0.bin"), sha256=sha, exclusive=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(push, enumerate(files)))
    for i, (local, sha) in enumerate(files):
        head = s3_client.head_object(Bucket=bucket, Key=f"models/a{i}_v1.0.0.bin")
        assert head["Metadata"]["sha256"] == sha
        assert head["ContentLength"] == local.stat().st_size

    def pull(i: int) -> str:
        out = io.BytesIO()
        store.ops.download(store.path(f"a{i}_v1.0.0.bin"), out)
        return hashlib.sha256(out.getvalue()).hexdigest()

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(pull, range(len(files)))) == [sha for _, sha in files]


def test_upload_folder_then_tree_and_recursive_remove(
    store: Store, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    files = []
    for name in ("a.csv", "sub/b.bin", "sub/deeper/c.txt"):
        local, sha = write(tmp_path / name.replace("/", "_"), name.encode() * 10)
        files.append((str(local), name, {"sha256": sha}))
    folder = store.path("data_v1.0.0")
    store.ops.upload_folder(files, folder)
    assert files_below(store, folder) == {"a.csv", "sub/b.bin", "sub/deeper/c.txt"}
    with pytest.raises(IsADirectoryError):
        store.ops.remove(folder)
    store.ops.remove(folder, recursive=True)
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    with pytest.raises(FileNotFoundError):
        store.ops.remove(folder, recursive=True)


def test_remove_file_and_missing_file(store: Store, bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key="models/m_v1.0.0.pkl", Body=b"x")
    s3_client.put_object(Bucket=bucket, Key="models/m_v1.0.0.pkl.bak", Body=b"x")
    store.ops.remove(store.path("m_v1.0.0.pkl"))
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["models/m_v1.0.0.pkl.bak"]
    with pytest.raises(FileNotFoundError):
        store.ops.remove(store.path("m_v1.0.0.pkl"))


def test_write_bytes_is_exclusive_and_records_sha256(
    store: Store, bucket: str, s3_client: Any
) -> None:
    rpath = store.path("data_v1.0.0.manifest.json")
    store.ops.write_bytes(rpath, b'{"files": []}', exclusive=True)
    with pytest.raises(FileExistsError):
        store.ops.write_bytes(rpath, b"other", exclusive=True)
    assert store.ops.read_bytes(rpath) == b'{"files": []}'
    assert store.ops.recorded_sha256(rpath) == hashlib.sha256(b'{"files": []}').hexdigest()
    store.ops.write_bytes(rpath, b"other", exclusive=False)
    assert store.ops.read_bytes(rpath) == b"other"


# -- downloads ----------------------------------------------------------------------


def test_download_streams_and_reports_progress(store: Store, s3_client: Any, bucket: str) -> None:
    data = os.urandom(3 * MiB + 17)
    s3_client.put_object(Bucket=bucket, Key="models/m.bin", Body=data)
    progress = Recording()
    out = io.BytesIO()
    store.ops.download(store.path("m.bin"), out, callback=progress)
    assert out.getvalue() == data
    assert progress.seen[-1] == (len(data), len(data))
    assert len(progress.seen) >= 4  # blocks of 1 MiB, not one read of everything


def test_a_small_download_is_one_crossing_to_the_event_loop(
    store: Store, s3_client: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s3fs runs every request on one loop thread, which a folder of small files keeps
    busy: the GET, its body and its goodbye go there together, not one call each."""
    import fsspec.asyn

    import fsartifacts.stores.s3.objects as s3_objects
    import fsartifacts.stores.s3.ops as s3_ops

    data = os.urandom(40_000)
    s3_client.put_object(Bucket=bucket, Key="models/small.bin", Body=data)
    crossings: list[str] = []
    real_sync = fsspec.asyn.sync

    def counting(loop: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append(getattr(func, "__name__", repr(func)))
        return real_sync(loop, func, *args, **kwargs)

    for module in (fsspec.asyn, s3_objects, s3_ops):  # s3fs's calls, and ours
        monkeypatch.setattr(module, "sync", counting)
    progress, out = Recording(), io.BytesIO()
    store.ops.download(store.path("small.bin"), out, callback=progress)
    assert out.getvalue() == data
    assert progress.seen[-1] == (len(data), len(data))
    assert len(crossings) == 1, crossings


def test_download_resumes_after_a_dropped_connection(
    bucket: str, s3_client: Any, proxy: FaultProxy
) -> None:
    data = os.urandom(2 * MiB + 5)
    s3_client.put_object(Bucket=bucket, Key="m.bin", Body=data)
    proxy.faults.add("drop_first_get")
    store = s3_store(proxy.url, bucket)
    out = io.BytesIO()
    store.ops.download(store.path("m.bin"), out)
    assert proxy.dropped == 1
    assert out.getvalue() == data


def test_a_dropped_download_the_store_cannot_resume_is_a_failure_worth_another_try(
    bucket: str, s3_client: Any, proxy: FaultProxy
) -> None:
    """A proxy that drops Range answers the resume with the whole object: nothing of
    it is written after the bytes already received, and the download is tried again."""
    data = os.urandom(2 * MiB + 5)
    s3_client.put_object(Bucket=bucket, Key="m.bin", Body=data)
    proxy.faults.add("drop_first_get")
    proxy.ignore_ranges(count=1)
    store = s3_store(proxy.url, bucket)
    out = io.BytesIO()
    with pytest.raises(Exception) as caught:
        store.ops.download(store.path("m.bin"), out)
    assert is_transient(caught.value), caught.value
    assert len(out.getvalue()) < len(data)


def test_download_never_mixes_two_versions_of_an_object(
    bucket: str, s3_client: Any, proxy: FaultProxy
) -> None:
    s3_client.put_object(Bucket=bucket, Key="m.bin", Body=os.urandom(2 * MiB))
    proxy.faults.add("drop_first_get")
    proxy.on_drop = lambda: s3_client.put_object(Bucket=bucket, Key="m.bin", Body=b"v2" * MiB)
    store = s3_store(proxy.url, bucket)
    with pytest.raises(TransferError, match="replaced while it was being downloaded"):
        store.ops.download(store.path("m.bin"), io.BytesIO())


def test_download_of_missing_object(store: Store) -> None:
    with pytest.raises(FileNotFoundError):
        store.ops.download(store.path("nothing.pkl"), io.BytesIO())
    assert store.ops.recorded_sha256(store.path("nothing.pkl")) is None
