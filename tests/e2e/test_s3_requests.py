"""A file's and a folder's push on S3, request by request, and each file read once.

At a store's latency every request a command makes beyond those it needs is a round trip
it waits for. The requests a proxy in front of moto saw of ``push`` are compared with
those each needs, in order, so one more (a read of the claim the listing just showed, a
second listing of the same prefix for the sweep) shows here; and the files this process opened tell
a file read to hash it and again to send it from one read for both.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from fsartifacts.engine.manifest import Manifest
from tests.fixtures.audited import watching
from tests.fixtures.cli import in_process, write_project
from tests.fixtures.fault_proxy import FaultProxy

FILES = [f"part-{i % 2}/f{i}.bin" for i in range(3)]


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server)
    yield proxy
    proxy.close()


def asked(proxy: FaultProxy, bucket: str) -> list[str]:
    """Each request as ``METHOD what``, keys relative to the store's folder: its listing is
    ``list``, that of the unfinished multipart uploads below it ``list uploads``; the
    PUTs of the folder's files, one after another, are one line."""
    lines: list[str] = []
    for record in proxy.requests:
        target = unquote(record.path)
        if target.startswith(f"/{bucket}?list-type=2&prefix=team/&"):
            line = f"{record.method} list"
        elif target == f"/{bucket}?uploads&prefix=team/":
            line = f"{record.method} list uploads"
        elif target.startswith(f"/{bucket}/team/"):
            key = target[len(f"/{bucket}/team/") :]
            line = f"{record.method} {key}"
            if key.partition("/")[2] in FILES:
                line = f"{record.method} each file of {key.partition('/')[0]}/"
                if lines and lines[-1] == line:
                    continue
        else:
            raise AssertionError(f"a request outside the store's folder: {record}")
        lines.append(line)
    return lines


def producer(root: Path, bucket: str, endpoint: str) -> Path:
    config = (
        f"repository:\n  s3:\n    bucket: {bucket}/team\n    region: us-east-1\n"
        f"    endpoint_url: {endpoint}\n"
        "  artifacts:\n    - name: model\n      file: model.bin\n"
        "    - name: data\n      file: data\n"
    )
    project = write_project(root, config, "1.0.0")
    (project / "model.bin").write_bytes(os.urandom(3_000))
    for name in FILES:
        path = project / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(2_000))
    return project


def pushed(project: Path, artifact: str, cache: Path) -> Counter[str]:
    """``push ARTIFACT`` run in this process; how often it opened each file of the project."""
    with watching(project) as seen:
        run = in_process("--json", "push", artifact, cwd=project,
                         env={"FSARTIFACTS_CACHE_DIR": str(cache)})  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return Counter(path for kind, path in seen if kind == "read")


def test_a_file_and_a_folder_push_make_only_the_requests_they_need_and_read_once(
    proxy: FaultProxy, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    # The store's folder is new: its empty listing is not followed by its parent's.
    project = producer(tmp_path / "project", bucket, proxy.url)
    cache = tmp_path / "cache"

    proxy.reset()
    opened = pushed(project, "model", cache)
    assert asked(proxy, bucket) == [
        "GET list",  # what is on the store: nothing yet
        "PUT model_v1.0.0.bin",  # created only if absent: the push rule, against a race too
        "PUT .model_v1.0.0.bin.fsartifacts-provenance.json",
        # The sweep of what abandoned pushes left: the first listing showed none of their
        # objects (no second listing), and this asks for their unfinished uploads.
        "GET list uploads",
    ]
    # Hashed from the very bytes sent: one read, not one to hash it and one to send it.
    assert opened["model.bin"] == 1, opened
    put = [r for r in proxy.requests if r.method == "PUT" and r.path.endswith("model_v1.0.0.bin")]
    assert [r.bytes_in for r in put] == [3_000]

    proxy.reset()
    opened = pushed(project, "data", cache)
    lines = [re.sub(r"listed\.s\d+", "listed.SIZE", line) for line in asked(proxy, bucket)]
    # Its size, for listings: written once it is published, beside the claim's release.
    note = "PUT .data_v1.0.0.fsartifacts-listed.SIZE"
    assert lines.index(note) > lines.index("PUT data_v1.0.0.manifest.json"), lines
    assert [line for line in lines if line != note] == [
        "GET list",  # what is on the store: this version is not
        "PUT .data_v1.0.0.fsartifacts-claim",  # the claim, created only if absent
        "GET list",  # what the claim's holder finds on the store
        "PUT each file of data_v1.0.0/",
        "GET list",  # the claim still ours (its ETag is its bytes' MD5), no manifest yet
        "PUT data_v1.0.0.manifest.json",  # published
        "GET .data_v1.0.0.fsartifacts-claim",  # still ours, just before it is dropped
        "DELETE .data_v1.0.0.fsartifacts-claim",  # the claim dropped
        "GET list uploads",  # the sweep
    ]
    assert len([r for r in proxy.requests if r.method == "PUT" and "/data_v1.0.0/" in r.path]) == 3
    # Each file read once: hashed (for the manifest) from the bytes then sent.
    assert {name: opened[f"data/{name}"] for name in FILES} == dict.fromkeys(FILES, 1), opened
    # And the manifest lists the sha256 of what was stored.
    data = s3_client.get_object(Bucket=bucket, Key="team/data_v1.0.0.manifest.json")["Body"]
    manifest = Manifest.from_bytes(data.read(), "data_v1.0.0.manifest.json")
    stored = {
        name: s3_client.get_object(Bucket=bucket, Key=f"team/data_v1.0.0/{name}")["Body"].read()
        for name in FILES
    }
    assert {e.path: e.sha256 for e in manifest.files} == {
        name: hashlib.sha256(content).hexdigest() for name, content in stored.items()
    }
    assert all(stored[name] == (project / "data" / name).read_bytes() for name in FILES)
