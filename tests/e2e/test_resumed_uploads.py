"""A multipart push to S3 that stopped is continued by the next push of the same file: the
installed command against moto, through a fault proxy that drops the connection of one
part for good, and counts the parts each run sends."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.sizes import MiB
from fsartifacts.stores.journals import JOURNAL_FOLDER
from tests.fixtures.cli import fsartifacts, start, write_project
from tests.fixtures.fault_proxy import FaultProxy

PART = 5 * MiB  # S3's smallest part (moto enforces it too), but for the last
# Three parts: two whole ones and a short last one, as small as S3 lets a file of three be.
SIZE = 2 * PART + 64 * 1024
KEY = "model_v1.0.0.pkl"
ENV = {"FSARTIFACTS_PART_SIZE": "5MiB", "FSARTIFACTS_ATTEMPTS": "2"}


def project(tmp_path: Path, bucket: str, endpoint: str, data: bytes) -> Path:
    root = write_project(
        tmp_path / "p",
        "repository:\n  s3:\n"
        f"    bucket: {bucket}\n    region: us-east-1\n    endpoint_url: {endpoint}\n"
        "  artifacts:\n    - name: model\n      file: model.pkl\n",
    )
    (root / "model.pkl").write_bytes(data)
    return root


def parts_sent(proxy: FaultProxy) -> list[int]:
    """The part numbers of the UploadPart requests the proxy answered with success."""
    sent = []
    for r in proxy.requests:
        query = dict(p.partition("=")[::2] for p in r.path.partition("?")[2].split("&"))
        if r.method == "PUT" and "partNumber" in query and r.status == 200:
            sent.append(int(query["partNumber"]))
    return sorted(sent)


def list_parts_asked(proxy: FaultProxy) -> int:
    return sum(
        1
        for r in proxy.requests
        if r.method == "GET" and "uploadId=" in r.path and "partNumber" not in r.path
    )


def pending(s3: Any, bucket: str) -> list[str]:
    return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def interrupted_push(
    root: Path, proxy: FaultProxy, s3: Any, bucket: str, *, damaged: bool = False
) -> str:
    """A push whose third part never gets through: parts 1 and 2 stay on S3 (the first
    one ``damaged`` on the way), with the upload's journal in the project. Returns the
    upload's id."""
    if damaged:
        proxy.corrupt_next(offset=PART // 2, methods=["PUT"], path_contains="partNumber=1")
    proxy.drop_after(0, count=1000, methods=["PUT"], path_contains="partNumber=3")
    failed = fsartifacts("push", "model", cwd=root, env=ENV)
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    (upload_id,) = pending(s3, bucket)
    held = s3.list_parts(Bucket=bucket, Key=KEY, UploadId=upload_id).get("Parts", [])
    assert [p["PartNumber"] for p in held] == [1, 2]
    assert len(list((root / JOURNAL_FOLDER).glob("*.json"))) == 1
    proxy.reset()
    return str(upload_id)


def assert_published(s3: Any, bucket: str, root: Path, data: bytes) -> None:
    stored = s3.get_object(Bucket=bucket, Key=KEY)
    assert stored["Body"].read() == data
    assert stored["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert pending(s3, bucket) == []
    assert list((root / JOURNAL_FOLDER).glob("*.json")) == []


def test_an_interrupted_push_sends_only_the_parts_s3_lacks_or_holds_damaged_next_time(
    proxy: FaultProxy, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(SIZE)
    root = project(tmp_path, bucket, proxy.url, data)
    interrupted_push(root, proxy, s3_client, bucket, damaged=True)

    resumed = fsartifacts("push", "model", cwd=root, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    # Part 2 is reused; part 1's ETag is not the MD5 of the local part: sent again.
    assert parts_sent(proxy) == [1, 3]
    assert list_parts_asked(proxy) >= 1
    assert_published(s3_client, bucket, root, data)


@pytest.mark.parametrize("change", ["rewritten", "no-resume", "tampered journal"])
def test_a_push_starts_over_when_the_journal_cannot_be_followed(
    change: str, proxy: FaultProxy, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(SIZE)
    root = project(tmp_path, bucket, proxy.url, data)
    old = interrupted_push(root, proxy, s3_client, bucket)
    flags = []
    if change == "rewritten":  # same size, other bytes
        data = data[:PART] + os.urandom(PART) + data[2 * PART :]
        (root / "model.pkl").write_bytes(data)
    elif change == "no-resume":
        flags = ["--no-resume"]
    else:
        (journal,) = (root / JOURNAL_FOLDER).glob("*.json")
        journal.write_bytes(journal.read_bytes()[:40])

    again = fsartifacts("push", "model", *flags, cwd=root, env=ENV)
    assert again.returncode == 0, again.stderr
    assert parts_sent(proxy) == [1, 2, 3]
    stored = s3_client.get_object(Bucket=bucket, Key=KEY)
    assert stored["Body"].read() == data
    assert list((root / JOURNAL_FOLDER).glob("*.json")) == []
    if change == "tampered journal":
        # Its id cannot be trusted: the stale upload is left to the sweep of old ones.
        assert pending(s3_client, bucket) == [old]
    else:
        assert pending(s3_client, bucket) == []  # the stale upload was aborted


def test_a_push_stopped_by_sigterm_keeps_its_upload_for_the_next_as_ctrl_c_does(
    proxy: FaultProxy, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(SIZE)
    root = project(tmp_path, bucket, proxy.url, data)
    running: list[subprocess.Popen[str]] = []
    # A CI runner cancels the job (SIGTERM) as the last part is on its way: the window is
    # stopped, the upload and its journal kept, the exit that of an interrupt.
    proxy.before_next(lambda: os.kill(running[0].pid, signal.SIGTERM),
                      methods=["PUT"], path_contains="partNumber=3")  # fmt: skip
    running.append(start("push", "model", cwd=root, env={**ENV, "FSARTIFACTS_JOBS": "1"}))
    _, stderr = running[0].communicate(timeout=120)
    assert running[0].returncode == 130, stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    (upload_id,) = pending(s3_client, bucket)
    assert len(list((root / JOURNAL_FOLDER).glob("*.json"))) == 1
    proxy.reset()  # waits for what the proxy still forwards of the stopped push
    # Parts 1 and 2 were in the window beside part 3: each got through, was cut off, or
    # (moto keeps what a cut-off body brought) is held short. Only whole parts are reused.
    listed = s3_client.list_parts(Bucket=bucket, Key=KEY, UploadId=upload_id).get("Parts", [])
    local = {n + 1: data[n * PART : (n + 1) * PART] for n in range(3)}
    held = {
        p["PartNumber"]
        for p in listed
        if p["ETag"].strip('"') == hashlib.md5(local[p["PartNumber"]]).hexdigest()
    }

    resumed = fsartifacts("push", "model", cwd=root, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert list_parts_asked(proxy) >= 1
    assert parts_sent(proxy) == sorted({1, 2, 3} - held)
    assert_published(s3_client, bucket, root, data)


@pytest.mark.parametrize("command", [["push"], ["sync", "push"]], ids=["push", "sync-push"])
def test_a_second_push_of_the_file_at_once_leaves_the_first_one_s_upload_alone(
    command: list[str], proxy: FaultProxy, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(SIZE)
    root = project(tmp_path, bucket, proxy.url, data)
    second: list[subprocess.CompletedProcess[str]] = []
    # The second push runs, start to end, while the first one's upload is under way and
    # journalled (its last part held back): it neither continues that upload (both would
    # complete it) nor aborts it, and the version is published once.
    proxy.before_next(lambda: second.append(fsartifacts(*command, "model", cwd=root, env=ENV)),
                      methods=["PUT"], path_contains="partNumber=3")  # fmt: skip
    first = fsartifacts(*command, "model", cwd=root, env={**ENV, "FSARTIFACTS_JOBS": "1"})
    outcomes = sorted([(first.returncode, first.stderr), (second[0].returncode, second[0].stderr)])
    assert "Traceback" not in first.stderr + second[0].stderr
    if command == ["push"]:  # one publishes the version; the other finds it there
        assert [code for code, _ in outcomes] == [0, 1], outcomes
        assert "already exists" in outcomes[1][1], outcomes
    else:  # one publishes it; the other finds the same copy there: up to date
        assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert_published(s3_client, bucket, root, data)
