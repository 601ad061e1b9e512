"""End to end on S3: the installed command over HTTP to moto's server on 127.0.0.1.

Each invocation costs about a second of imports, so every test makes as few
as it can and seeds the bucket directly where the CLI is not the subject:
with boto3 (as skelebot wrote its objects), or straight into moto's
in-process backend when a thousand keys are needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.cli import (
    BIN,
    THREE_ARTIFACTS,
    fsartifacts,
    tree_digest,
    write_project,
    write_three,
)

# -- helpers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3(s3_client: Any) -> Any:
    """The session server's boto3 client, by the short name these tests use."""
    return s3_client


def s3_project(
    root: Path,
    bucket_spec: str,
    endpoint: str | None,
    artifacts: str,
    version: str = "1.0.0",
    extra: str = "",
) -> Path:
    """A project with ``fsartifacts.yaml`` on ``bucket_spec`` (bucket[/key/prefix])."""
    endpoint_line = f"    endpoint_url: {endpoint}\n" if endpoint else ""
    config = (
        "repository:\n  s3:\n"
        f"    bucket: {bucket_spec}\n    region: us-east-1\n{endpoint_line}{extra}"
        f"  artifacts:\n{artifacts}"
    )
    return write_project(root, config, version)


MODEL = "    - name: model\n      file: models/model.pkl\n"


def all_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def copy_keys(s3: Any, bucket: str) -> list[str]:
    """The keys of the copies, as skelebot names them: without the hidden objects (a dot
    before the name) that hold what fsartifacts records beside them, such as provenance."""
    return [key for key in all_keys(s3, bucket) if not key.rpartition("/")[2].startswith(".")]


def read_key(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def seed(bucket: str, key: str, data: bytes, **options: Any) -> None:
    """Write an object straight into moto's backend (the server runs in this process).

    Through HTTP each PutObject costs moto a few ms of CPU; a thousand of
    them would dominate the test. The CLI still reads them over HTTP.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(bucket, key, data, **options)


def run_json(*args: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = fsartifacts(*args, "--json", cwd=cwd, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    return doc


def by_artifact(doc: dict[str, Any], field: str) -> dict[str, Any]:
    return {r["artifact"]: r[field] for r in doc["results"]}


def skelebot_key(bucket_spec: str, name: str, file: str, version: str | None) -> str:
    """The key skelebot's S3Repo (s3Repo.py, push and pull) gives an artifact.

    The bucket setting is split on "/": the first part is the bucket, the rest
    joined with "/" and the versioned name is the key; the versioned name is
    ``{name}_v{version}.{ext}`` (``{name}.{ext}`` when singular), where ext is
    what follows the first dot of ``file``.
    """
    ext = file.split(".")[1]
    versioned = f"{name}.{ext}" if version is None else f"{name}_v{version}.{ext}"
    return "/".join([*bucket_spec.split("/")[1:], versioned])


# -- push, pull, list, ALL LATEST ----------------------------------------------------


@pytest.mark.parametrize("key_prefix", ["", "team/models"], ids=["bucket-root", "key-prefix"])
def test_push_pull_list_and_all_latest(
    key_prefix: str, moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    spec = f"{bucket}/{key_prefix}" if key_prefix else bucket
    at = f"{key_prefix}/" if key_prefix else ""
    producer = s3_project(tmp_path / "producer", spec, moto_server, THREE_ARTIFACTS)
    write_three(producer, "one")
    first = run_json("push", "ALL", cwd=producer)
    assert by_artifact(first, "action") == {
        "model": "pushed",
        "features": "pushed",
        "labels": "pushed",
    }
    assert by_artifact(first, "remote")["model"] == f"s3://{spec}/model_v1.0.0.pkl"

    write_three(producer, "twelve")
    second = run_json("sync", "push", "ALL", "--project-version", "1.2.0", cwd=producer)
    assert by_artifact(second, "action") == {
        "model": "pushed",
        "features": "pushed",
        "labels": "skipped",  # the singular one is unchanged: up to date
    }
    assert copy_keys(s3, bucket) == sorted(
        f"{at}{name}"
        for name in (
            "model_v1.0.0.pkl",
            "model_v1.2.0.pkl",
            "features_v1.0.0/a.csv",
            "features_v1.0.0/deep/b.bin",
            "features_v1.0.0.manifest.json",
            "features_v1.2.0/a.csv",
            "features_v1.2.0/deep/b.bin",
            "features_v1.2.0.manifest.json",
            "labels.json",
        )
    )
    # The sha256 travels with every object pushed, in its metadata.
    model_key = f"{at}model_v1.2.0.pkl"
    head = s3.head_object(Bucket=bucket, Key=model_key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(read_key(s3, bucket, model_key)).hexdigest()
    # Another major, written by someone else: never LATEST for a 1.x project.
    s3.put_object(Bucket=bucket, Key=f"{at}model_v2.0.0.pkl", Body=b"major two")

    consumer = s3_project(tmp_path / "consumer", spec, moto_server, THREE_ARTIFACTS, "1.5.0")
    pulled = run_json("pull", "ALL", "LATEST", cwd=consumer)
    assert by_artifact(pulled, "version") == {"model": "1.2.0", "features": "1.2.0", "labels": None}
    assert set(by_artifact(pulled, "action").values()) == {"pulled"}
    assert (consumer / "model_v1.2.0.pkl").read_bytes() == (
        producer / "models/model.pkl"
    ).read_bytes()
    assert tree_digest(consumer / "features_v1.2.0") == tree_digest(producer / "data/features")
    assert (consumer / "labels.json").read_text() == '["cat", "dog"]'
    assert "remote: model_v1.2.0.pkl" in (consumer / "fsartifacts.lock").read_text()

    listing = run_json("list", cwd=consumer)
    assert listing["remote"] == f"s3://{spec}"
    shown = {a["artifact"]: a for a in listing["artifacts"]}
    assert [v["version"] for v in shown["model"]["versions"]] == ["2.0.0", "1.2.0", "1.0.0"]
    assert shown["model"]["latest"] == "1.2.0"
    assert [v["version"] for v in shown["features"]["versions"]] == ["1.2.0", "1.0.0"]
    assert shown["features"]["versions"][0]["kind"] == "folder"
    assert [v["remote"] for v in shown["labels"]["versions"]] == [f"s3://{spec}/labels.json"]


# -- skelebot compatibility ------------------------------------------------------------

SKELEBOT_YAML = """\
name: churn
components:
  repository:
    s3:
      bucket: {spec}
      region: us-east-1
    artifacts:
      - name: model
        file: model.pkl
      - name: params
        file: params.json
        singular: true
"""


def test_keys_are_skelebots_and_skelebots_objects_are_pulled_and_verified(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    import boto3.s3.transfer

    spec = f"{bucket}/ml/churn"
    # skelebot.yaml unchanged (skelebot has no endpoint setting): the endpoint
    # comes from the standard AWS variable, as it would for skelebot's boto3.
    env = {"AWS_ENDPOINT_URL_S3": moto_server}
    producer = write_project(
        tmp_path / "producer", SKELEBOT_YAML.format(spec=spec), "1.0.0", name="skelebot.yaml"
    )
    (producer / "model.pkl").write_bytes(b"fsartifacts model\n" * 100)
    (producer / "params.json").write_text('{"depth": 6}')
    pushed = run_json("push", "ALL", cwd=producer, env=env)
    assert set(by_artifact(pushed, "action").values()) == {"pushed"}
    assert copy_keys(s3, bucket) == sorted(
        [
            skelebot_key(spec, "model", "model.pkl", "1.0.0"),
            skelebot_key(spec, "params", "params.json", None),
        ]
    )
    assert copy_keys(s3, bucket) == ["ml/churn/model_v1.0.0.pkl", "ml/churn/params.json"]

    # Objects as skelebot writes them: boto3's upload_file, no metadata at all.
    small = tmp_path / "small.pkl"
    small.write_bytes(b"skelebot model 1.1.0\n" * 100)
    s3.upload_file(str(small), bucket, skelebot_key(spec, "model", "model.pkl", "1.1.0"))
    large = tmp_path / "large.pkl"
    large.write_bytes(os.urandom(5 * 1024 * 1024 + 4096))
    multipart = boto3.s3.transfer.TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    large_key = skelebot_key(spec, "model", "model.pkl", "1.0.7")
    s3.upload_file(str(large), bucket, large_key, Config=multipart)
    assert s3.head_object(Bucket=bucket, Key=large_key)["ETag"].endswith('-2"')

    consumer = write_project(
        tmp_path / "consumer", SKELEBOT_YAML.format(spec=spec), "1.9.0", name="skelebot.yaml"
    )
    # LATEST finds skelebot's 1.1.0; its single-part ETag (the MD5) is the check.
    latest = fsartifacts("pull", "model", "LATEST", "-v", cwd=consumer, env=env)
    assert latest.returncode == 0, latest.stderr
    assert (consumer / "model_v1.1.0.pkl").read_bytes() == small.read_bytes()
    assert "verified by size only" not in latest.stderr
    # A multipart ETag is no MD5: the size is all there is to check, and -v says so.
    exact = fsartifacts("pull", "model", "1.0.7", "-v", cwd=consumer, env=env)
    assert exact.returncode == 0, exact.stderr
    assert (consumer / "model_v1.0.7.pkl").read_bytes() == large.read_bytes()
    assert f"s3://{bucket}/{large_key}: the store offers no checksum" in exact.stderr
    assert "verified by size only" in exact.stderr


def test_push_of_a_version_skelebot_pushed_is_refused(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    # skelebot's own push: a plain put_object of its key, no sha256 in the metadata.
    spec = f"{bucket}/ml/churn"
    env = {"AWS_ENDPOINT_URL_S3": moto_server}
    producer = write_project(
        tmp_path / "producer", SKELEBOT_YAML.format(spec=spec), "1.0.0", name="skelebot.yaml"
    )
    (producer / "model.pkl").write_bytes(b"the same model\n" * 100)
    (producer / "params.json").write_text('{"depth": 6}')
    key = skelebot_key(spec, "model", "model.pkl", "1.0.0")
    s3.put_object(Bucket=bucket, Key=key, Body=(producer / "model.pkl").read_bytes())

    refused = fsartifacts("push", "model", cwd=producer, env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert (
        f"model 1.0.0 already exists at s3://{bucket}/{key}: bump the version, "
        "or push with -f/--force." in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == {}
    # The same bytes are up to date for sync push (the single-part ETag is their MD5).
    synced = run_json("sync", "push", "model", cwd=producer, env=env)
    assert by_artifact(synced, "detail") == {"model": "up to date"}


def test_a_skelebot_object_whose_bytes_disagree_with_its_etag_is_refused(
    moto_server: str, bucket: str, tmp_path: Path
) -> None:
    # Bytes that do not hash to the single-part ETag the store reports (S3
    # never serves such an object: this stands for corruption on the store or
    # on the way): the download is refused and nothing lands.
    data = b"skelebot model\n" * 50
    wrong = hashlib.md5(b"other bytes", usedforsecurity=False).hexdigest()
    seed(bucket, "model_v1.0.0.pkl", data, etag=wrong)
    consumer = s3_project(tmp_path / "consumer", bucket, moto_server, MODEL)
    run = fsartifacts("pull", "model", "1.0.0", cwd=consumer, env={"FSARTIFACTS_ATTEMPTS": "2"})
    assert run.returncode == 1
    # The same bytes on the retry: the copy itself is damaged, not the transfer.
    assert "the copy on the store is damaged (md5 " in run.stderr
    assert f", recorded {wrong}): push it again" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (consumer / "model_v1.0.0.pkl").exists()
    assert sorted(p.name for p in consumer.iterdir()) == ["VERSION", "fsartifacts.yaml"]


# -- skelebot's S3 bugs, pinned at the command line ------------------------------------


def test_skelebot_A1_latest_past_1000_keys_on_s3(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """skelebot read one page of the listing: with 1.0.0, 1.2.0-1.2.999 and 1.3.0
    present and the project at 1.9.0, pull LATEST gave 1.2.998."""
    versions = ["1.0.0", *(f"1.2.{i}" for i in range(1000)), "1.3.0"]
    for version in versions:
        data = b"the newest compatible" if version == "1.3.0" else version.encode()
        seed(bucket, f"models/model_v{version}.pkl", data)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="models/")["IsTruncated"]
    consumer = s3_project(tmp_path / "consumer", f"{bucket}/models", moto_server, MODEL, "1.9.0")

    pulled = run_json("pull", "model", "LATEST", cwd=consumer)
    assert by_artifact(pulled, "version") == {"model": "1.3.0"}
    assert (consumer / "model_v1.3.0.pkl").read_bytes() == b"the newest compatible"

    listing = run_json("list", "model", cwd=consumer)["artifacts"][0]
    assert listing["latest"] == "1.3.0"
    assert len(listing["versions"]) == len(versions) == 1002
    assert {v["version"] for v in listing["versions"]} == set(versions)


def test_skelebot_A2_empty_bucket_is_a_clear_not_found(
    moto_server: str, bucket: str, tmp_path: Path
) -> None:
    """skelebot raised KeyError: 'Contents' on an empty listing."""
    consumer = s3_project(tmp_path / "consumer", bucket, moto_server, MODEL, "1.4.0")
    run = fsartifacts("pull", "model", "LATEST", cwd=consumer)
    assert run.returncode == 1
    assert f"model: no LATEST (same major 1, not above 1.4.0) at s3://{bucket}/model_v*" in (
        run.stderr
    )
    assert "Versions there: none." in run.stderr
    assert "Traceback" not in run.stderr and "KeyError" not in run.stderr

    listed = fsartifacts("list", cwd=consumer)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        f"remote: s3://{bucket}",
        "model  (LATEST resolves against 1.4.0)",
        f"  no versions of model at s3://{bucket} yet",
    ]


def test_skelebot_A5_sibling_extension_never_wins_latest_on_s3(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """skelebot listed by the prefix ``model_v1`` and let ``model_v1.0.5.json`` win
    LATEST for a .pkl artifact; the .pkl download then failed with a 404."""
    for key, body in {
        "m/model_v1.0.0.pkl": b"the pickle",
        "m/model_v1.0.5.json": b"{}",  # a sibling extension, newer
        "m/model_v1.0.6.pkl.bak": b"a backup",
        "m/mymodel_v1.0.7.pkl": b"another artifact",  # skelebot's substring match
        "m/model_v1.0.8.pkl/": b"",  # a folder marker, not a file of this name
        "m/model_v1.x.pkl": b"malformed",  # skelebot's parser aborted on these
    }.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    consumer = s3_project(tmp_path / "consumer", f"{bucket}/m", moto_server, MODEL, "1.0.9")
    pulled = run_json("pull", "model", "LATEST", cwd=consumer)
    assert by_artifact(pulled, "version") == {"model": "1.0.0"}
    assert (consumer / "model_v1.0.0.pkl").read_bytes() == b"the pickle"
    listing = run_json("list", cwd=consumer)["artifacts"][0]
    assert [v["version"] for v in listing["versions"]] == ["1.0.0"]


def test_skelebot_B4_prefix_match_does_not_block_a_singular_push(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """skelebot's no-overwrite check listed by prefix, so ``model.pkl.bak`` blocked
    pushing the singular ``model.pkl``."""
    s3.put_object(Bucket=bucket, Key="team/model.pkl.bak", Body=b"last year's")
    singular = "    - name: model\n      file: model.pkl\n      singular: true\n"
    producer = s3_project(tmp_path / "producer", f"{bucket}/team", moto_server, singular)
    (producer / "model.pkl").write_bytes(b"this year's")
    pushed = run_json("push", "model", cwd=producer)
    assert by_artifact(pushed, "action") == {"model": "pushed"}
    assert read_key(s3, bucket, "team/model.pkl") == b"this year's"
    assert read_key(s3, bucket, "team/model.pkl.bak") == b"last year's"
    # The check is exact, not absent: a different model.pkl is still refused.
    (producer / "model.pkl").write_bytes(b"a rewrite")
    refused = fsartifacts("push", "model", cwd=producer)
    assert refused.returncode == 1
    url = f"s3://{bucket}/team/model.pkl"
    assert f"model already exists at {url} and is singular" in refused.stderr
    assert read_key(s3, bucket, "team/model.pkl") == b"this year's"


def test_skelebot_B6_bucket_with_trailing_slash_gives_clean_keys(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """skelebot turned the bucket ``bkt-c/`` into the key ``/model_v2.0.0.pkl``."""
    producer = s3_project(tmp_path / "producer", f"{bucket}/", moto_server, MODEL, "2.0.0")
    (producer / "models").mkdir()
    (producer / "models" / "model.pkl").write_bytes(b"two")
    pushed = run_json("push", "model", cwd=producer)
    assert by_artifact(pushed, "remote") == {"model": f"s3://{bucket}/model_v2.0.0.pkl"}
    assert copy_keys(s3, bucket) == ["model_v2.0.0.pkl"]
    # Other spellings of the same place find the same key.
    spec = f"s3://{bucket}//"
    consumer = s3_project(tmp_path / "consumer", spec, moto_server, MODEL, "2.1.0")
    pulled = run_json("pull", "model", "LATEST", cwd=consumer)
    assert by_artifact(pulled, "version") == {"model": "2.0.0"}
    assert (consumer / "model_v2.0.0.pkl").read_bytes() == b"two"


# -- create-if-absent and extra_args ---------------------------------------------------


class ConditionalPutBarrier:
    """A loopback HTTP proxy in front of moto that holds every conditional PUT
    (``If-None-Match``) until two have arrived, then lets both through at once.

    Both pushes have then listed the store and found nothing, so only the
    store's create-if-absent can decide between them: a check-then-put would
    let both win. ``statuses`` keeps moto's answers to those PUTs.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.barrier = threading.Barrier(2, timeout=30)
        self.statuses: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def forward(self) -> None:
                proxy.forward(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        conditional = handler.command == "PUT" and "If-None-Match" in handler.headers
        if conditional:
            with contextlib.suppress(threading.BrokenBarrierError):  # then the asserts say it
                self.barrier.wait()
        skip = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in skip}
        upstream = http.client.HTTPConnection(self.upstream, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        if conditional:
            self.statuses.append(response.status)
        handler.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in skip:
                handler.send_header(k, v)
        length = response.getheader("Content-Length") if handler.command == "HEAD" else None
        handler.send_header("Content-Length", length or str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def barrier(moto_server: str) -> Iterator[ConditionalPutBarrier]:
    proxy = ConditionalPutBarrier(moto_server)
    yield proxy
    proxy.close()


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """The command started in the background, with the environment cli_helpers gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSARTIFACTS_")}
    env["FSARTIFACTS_CACHE_DIR"] = str(cwd.parent / f".hash-cache-{cwd.name}")
    return subprocess.Popen(
        [str(BIN), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_pushes_of_one_version_exactly_one_wins(
    barrier: ConditionalPutBarrier, bucket: str, s3: Any, tmp_path: Path
) -> None:
    # Two CI jobs building the same version with different bytes. Single-part
    # files: moto checks If-None-Match on CompleteMultipartUpload before it
    # assembles the parts, so two racing multipart completes can both pass.
    contents = {}
    for job in ("job-a", "job-b"):
        root = s3_project(tmp_path / job, f"{bucket}/models", barrier.url, MODEL, "3.1.0")
        (root / "models").mkdir()
        contents[job] = os.urandom(256 * 1024)
        (root / "models" / "model.pkl").write_bytes(contents[job])
    procs = {job: start("push", "model", cwd=tmp_path / job) for job in contents}
    outcomes = {job: p.communicate(timeout=120) for job, p in procs.items()}
    codes = {job: p.returncode for job, p in procs.items()}

    assert sorted(codes.values()) == [0, 1], outcomes
    assert sorted(barrier.statuses) == [200, 412]  # the store refused the second create
    winner = next(job for job, code in codes.items() if code == 0)
    loser_err = next(outcomes[job][1] for job, code in codes.items() if code == 1)
    assert "model 3.1.0 already exists at" in loser_err and "model_v3.1.0.pkl" in loser_err
    assert "Traceback" not in loser_err
    key = "models/model_v3.1.0.pkl"
    assert read_key(s3, bucket, key) == contents[winner]
    sha = hashlib.sha256(contents[winner]).hexdigest()
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"]["sha256"] == sha


EXTRA_ARGS = """\
    extra_args:
      ServerSideEncryption: AES256
      StorageClass: STANDARD_IA
      Metadata: {team: ml}
"""


def test_extra_args_reach_every_stored_object(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    artifacts = (
        MODEL
        + "    - name: weights\n      file: weights.bin\n"
        + "    - name: data\n      file: data\n"
    )
    producer = s3_project(
        tmp_path / "producer", f"{bucket}/x", moto_server, artifacts, extra=EXTRA_ARGS
    )
    (producer / "models").mkdir()
    (producer / "models" / "model.pkl").write_bytes(b"small" * 100)
    # Two parts and a bit at the smallest part size S3 allows: a multipart upload.
    (producer / "weights.bin").write_bytes(os.urandom(10 * 1024 * 1024 + 1))
    (producer / "data").mkdir()
    (producer / "data" / "rows.csv").write_text("a,b\n1,2\n")
    env = {"FSARTIFACTS_PART_SIZE": "5MiB"}
    pushed = run_json("push", "ALL", cwd=producer, env=env)
    assert set(by_artifact(pushed, "action").values()) == {"pushed"}

    keys = all_keys(s3, bucket)  # provenance objects and listing notes too: every object
    assert keys == [
        "x/.data_v1.0.0.fsartifacts-listed.s8",
        "x/.model_v1.0.0.pkl.fsartifacts-provenance.json",
        "x/.weights_v1.0.0.bin.fsartifacts-provenance.json",
        "x/data_v1.0.0.manifest.json",
        "x/data_v1.0.0/rows.csv",
        "x/model_v1.0.0.pkl",
        "x/weights_v1.0.0.bin",
    ]
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256", key
        assert head["StorageClass"] == "STANDARD_IA", key
        assert head["Metadata"]["team"] == "ml", key
    weights = s3.head_object(Bucket=bucket, Key="x/weights_v1.0.0.bin")
    assert weights["ETag"].endswith('-3"')  # went up in parts, and still got them all
    sha = hashlib.sha256((producer / "weights.bin").read_bytes()).hexdigest()
    assert weights["Metadata"]["sha256"] == sha

    consumer = s3_project(
        tmp_path / "consumer", f"{bucket}/x", moto_server, artifacts, extra=EXTRA_ARGS
    )
    pulled = run_json("pull", "ALL", "LATEST", cwd=consumer, env=env)
    assert set(by_artifact(pulled, "action").values()) == {"pulled"}
    assert by_artifact(pulled, "sha256")["weights"] == sha
    assert (consumer / "weights_v1.0.0.bin").read_bytes() == (producer / "weights.bin").read_bytes()


# -- errors -----------------------------------------------------------------------------


@pytest.fixture
def no_aws_credentials(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS keys in the environment; the moto fixture already left no profile or files."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_no_credentials_is_a_clear_usage_error_and_a_profile_fixes_it(
    moto_server: str, bucket: str, s3: Any, tmp_path: Path, no_aws_credentials: None
) -> None:
    producer = s3_project(tmp_path / "producer", bucket, moto_server, MODEL)
    (producer / "models").mkdir()
    (producer / "models" / "model.pkl").write_bytes(b"m")
    run = fsartifacts("push", "model", cwd=producer)
    assert run.returncode == 2
    assert f"no usable AWS credentials to list s3://{bucket}" in run.stderr
    assert "AWS_ACCESS_KEY_ID" in run.stderr and "repository.s3.profile" in run.stderr
    assert "Traceback" not in run.stderr
    assert all_keys(s3, bucket) == []

    # The same project with a named profile in a shared credentials file.
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[ci]\naws_access_key_id = ci-key\naws_secret_access_key = ci-secret\n")
    s3_project(tmp_path / "producer", bucket, moto_server, MODEL, extra="    profile: ci\n")
    pushed = run_json(
        "push", "model", cwd=producer, env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    )
    assert by_artifact(pushed, "action") == {"model": "pushed"}
    assert copy_keys(s3, bucket) == ["model_v1.0.0.pkl"]


def test_a_missing_bucket_fails_naming_the_bucket(moto_server: str, tmp_path: Path) -> None:
    missing = f"cli-missing-{uuid.uuid4().hex[:12]}"
    producer = s3_project(tmp_path / "producer", f"{missing}/models", moto_server, MODEL)
    (producer / "models").mkdir()
    (producer / "models" / "model.pkl").write_bytes(b"m")
    run = fsartifacts("push", "model", cwd=producer)
    assert run.returncode == 2, run.stderr  # the configuration names no bucket there
    assert f"the S3 bucket '{missing}' does not exist" in run.stderr
    assert "repository.s3.bucket" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def closed_endpoint() -> str:
    """A port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize(
    ("endpoint_kind", "said"),
    [
        ("closed_endpoint", "cannot reach the S3 endpoint to list"),
        ("silent_endpoint", "the S3 endpoint did not answer in time to list"),
    ],
    ids=["refused", "silent"],
)
def test_an_unreachable_endpoint_fails_naming_it(
    endpoint_kind: str, said: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    request.getfixturevalue("moto_server")  # not used, but its dummy credentials are
    endpoint = request.getfixturevalue(endpoint_kind)
    consumer = s3_project(tmp_path / "consumer", "bkt/models", endpoint, MODEL)
    run = fsartifacts(
        "pull",
        "model",
        "LATEST",
        cwd=consumer,
        env={"FSARTIFACTS_TIMEOUT": "0.5", "FSARTIFACTS_ATTEMPTS": "2"},
        timeout=60,
    )
    assert run.returncode == 1
    assert f"{said} s3://bkt/models" in run.stderr
    assert f'endpoint URL: "{endpoint}/bkt?' in run.stderr
    assert "endpoint_url" in run.stderr  # the way out
    assert "Traceback" not in run.stderr
