"""A large file the store keeps no checksum of (an S3 multipart object without the
sha256 fsartifacts records) is checked by its size alone: a pull of it never resumes
from a journal, which nothing could then hold to its word."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from fsartifacts import Project
from fsartifacts.engine.pulllock import partial_paths
from tests.e2e.test_ranged_pulls import SIZE, project
from tests.fixtures.fault_proxy import FaultProxy

NAME = "model_v1.0.0.bin"
STORE = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"


def test_a_journal_of_a_copy_without_a_checksum_is_never_resumed(
    tmp_path: Path, moto_server: str, bucket: str, s3_client: Any
) -> None:
    data = os.urandom(SIZE)
    # Uploaded as another tool does, in parts and with no metadata: its ETag is no MD5.
    key = f"models/{NAME}"
    upload = s3_client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3_client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data)
    s3_client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    root = tmp_path / "consumer"
    proxy = FaultProxy(moto_server)
    try:
        project(root, STORE.format(bucket=bucket, url=proxy.url))
        # The first pull is refused every range: it fails, leaving what it had.
        proxy.fail_next(100, 403, methods=("GET",), path_contains=NAME, code="AccessDenied")
        environ = {"FSARTIFACTS_ATTEMPTS": "1"}
        assert not Project.load(start=root, environ=environ).pull("model", "1.0.0").ok
        proxy.reset()
        staged, journal = partial_paths(root / NAME)
        assert not staged.exists() and not journal.exists()
        # A partial planted in its place, whose journal claims the whole file, of zeros.
        staged.write_bytes(bytes(SIZE))
        etag = s3_client.head_object(Bucket=bucket, Key=key)["ETag"]
        claim = {"format": 1, "remote": f"{bucket}/{key}", "size": SIZE, "revision": etag,
                 "sha256": None, "done": [[0, SIZE]]}  # fmt: skip
        journal.write_text(json.dumps(claim))
        assert Project.load(start=root, environ=environ).pull("model", "1.0.0").ok
    finally:
        proxy.close()
    assert hashlib.sha256((root / NAME).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert sorted(p.name for p in root.iterdir()) == ["fsartifacts.lock", "fsartifacts.yaml", NAME]
