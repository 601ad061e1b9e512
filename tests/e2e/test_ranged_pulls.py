"""Large files pulled as several ranges at once, on the local Artifactory server and moto.

The files are small (about 1.5 MiB) and the transfer settings make them large: ranges
from 1 MiB on, of 256 KiB each.
"""

from __future__ import annotations

import _thread
import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fsspec.callbacks import Callback

from fsartifacts import Project
from fsartifacts.engine.transfers import Transfers
from fsartifacts.errors import IntegrityError
from fsartifacts.testing.faults import Faults
from fsartifacts.testing.requestlog import peak_overlap
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold
from tests.fixtures.cli import fsartifacts
from tests.fixtures.fault_proxy import FaultProxy

SIZE = 6 * 256 * 1024 + 1000  # seven ranges, the last a short one
RANGED = "transfer:\n  ranged_from: 1MiB\n  range_size: 256KiB\n  ranges: 4\n  jobs: {jobs}\n"


def artifactory_config(repo: ArtifactoryRepo) -> str:
    return (
        f"  artifactory:\n    url: {repo.url}\n    repo: {repo.name}\n"
        "    auth: {authType: none}\n"
    )


def project(root: Path, store: str, *, jobs: int = 4, ranged: bool = True) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fsartifacts.yaml").write_text(
        f"version: 1.0.0\nrepository:\n{store}  artifacts:\n"
        "    - name: model\n      file: model.bin\n" + (RANGED.format(jobs=jobs) if ranged else "")
    )
    return Project.load(start=root, environ={})


def pushed(tmp_path: Path, store: str, data: bytes) -> None:
    producer = project(tmp_path / "producer", store)
    (tmp_path / "producer" / "model.bin").write_bytes(data)
    assert producer.push("model").ok


def pushed_folder(tmp_path: Path, store: str, files: dict[str, bytes], *, jobs: int) -> None:
    """``files`` pushed as the folder artifact ``weights`` 1.0.0 by tmp_path/producer;
    tmp_path/consumer is a project of the same configuration."""
    folder = "    - name: weights\n      file: weights\n"
    for root in (tmp_path / "producer", tmp_path / "consumer"):
        root.mkdir(parents=True, exist_ok=True)
        (root / "fsartifacts.yaml").write_text(
            f"version: 1.0.0\nrepository:\n{store}  artifacts:\n{folder}" + RANGED.format(jobs=jobs)
        )
    for name, content in files.items():
        path = tmp_path / "producer" / "weights" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    assert Project.load(start=tmp_path / "producer", environ={}).push("weights").ok


def content_gets(repo: ArtifactoryRepo) -> list:
    return [r for r in repo.server.requests if r.method == "GET" and "model_v1.0.0" in r.path]


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


def test_a_large_file_arrives_in_ranges_in_flight_together(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    artifactory_repo.server.clear_requests()
    pulling = project(tmp_path / "consumer", store)
    got: list[Any] = []
    # The first two ranges asked are held by the server until both are there: in flight
    # together, whatever the machine's load (one range at a time never gets there).
    with ServerHold(artifactory_repo.server, "model_v1.0.0", count=2) as hold:
        puller = threading.Thread(target=lambda: got.append(pulling.pull("model", "1.0.0")))
        puller.start()
        try:
            hold.wait(2)
        finally:
            hold.release()
            puller.join()
    (results,) = got
    assert results.ok, results
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data
    gets = content_gets(artifactory_repo)
    assert sorted(r.headers.get("Range") for r in gets) == sorted(
        f"bytes={start}-{min(start + 256 * 1024, SIZE) - 1}" for start in range(0, SIZE, 256 * 1024)
    )
    assert sum(r.bytes_out for r in gets) == SIZE
    assert peak_overlap(gets) > 1
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in (tmp_path / "consumer").iterdir()) == [
        "fsartifacts.lock", "fsartifacts.yaml", "model_v1.0.0.bin"
    ]  # fmt: skip


def test_ranges_take_their_slots_from_jobs(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    artifactory_repo.server.clear_requests()
    pulling = project(tmp_path / "consumer", store, jobs=1)
    refused = threading.Event()
    spare_slot = Transfers.spare_slot

    def spare_slot_watched(self: Transfers, timeout: float) -> bool:
        taken = spare_slot(self, timeout)
        if not taken:
            refused.set()
        return taken

    got: list[Any] = []
    # The first range is held by the server until a further range of the file has asked
    # for a slot beside it and been refused: with a slot free, that range would be in
    # flight beside the held one, and overlap it in the server's log.
    with (
        ServerHold(artifactory_repo.server, "model_v1.0.0") as hold,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(Transfers, "spare_slot", spare_slot_watched)
        puller = threading.Thread(target=lambda: got.append(pulling.pull("model", "1.0.0")))
        puller.start()
        try:
            hold.wait()
            assert refused.wait(60), "no further range asked for a slot"
        finally:
            hold.release()
            puller.join()
    assert got[0].ok
    gets = content_gets(artifactory_repo)
    assert len(gets) == 7
    assert peak_overlap(gets) == 1


@pytest.mark.parametrize("size", [1024 * 1024 - 1, 1024 * 1024])
def test_a_file_up_to_the_threshold_is_one_get(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, size: int
) -> None:
    store = artifactory_config(artifactory_repo)
    data = os.urandom(size)  # ranged_from is 1 MiB: ranges only for a larger file
    pushed(tmp_path, store, data)
    artifactory_repo.server.clear_requests()
    assert project(tmp_path / "consumer", store).pull("model", "1.0.0").ok
    gets = content_gets(artifactory_repo)
    assert [r.headers.get("Range") for r in gets] == [None]
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data


def test_a_corrupted_range_fails_the_pull_and_leaves_the_destination_as_it_was(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    consumer = project(tmp_path / "consumer", store)
    dest = tmp_path / "consumer" / "model_v1.0.0.bin"
    dest.write_bytes(b"the copy that was there")
    # One byte of every range is flipped, on every try.
    artifactory_repo.server.faults.corrupt_next(
        count=100, offset=1000, path_contains="model_v1.0.0"
    )
    with pytest.raises(IntegrityError, match=r"damaged|sha256"):
        consumer.pull("model", "1.0.0", check=True)
    assert dest.read_bytes() == b"the copy that was there"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fsartifacts.yaml", dest.name]


def test_a_server_that_ignores_ranges_gets_one_stream_for_the_file(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    artifactory_repo.server.clear_requests()
    artifactory_repo.server.faults.ignore_ranges(path_contains="model_v1.0.0")
    results = project(tmp_path / "consumer", store).pull("model", "1.0.0")
    assert results.ok, results
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    gets = content_gets(artifactory_repo)
    # The first answers (at most one a range in flight) show it, then one whole GET.
    assert [r.headers.get("Range") for r in gets if r.status == 206] == []
    assert 1 <= len([r for r in gets if "Range" in r.headers]) <= 4
    assert [r.headers.get("Range") for r in gets if "Range" not in r.headers] == [None]
    assert sorted(p.name for p in (tmp_path / "consumer").iterdir()) == [
        "fsartifacts.lock", "fsartifacts.yaml", "model_v1.0.0.bin"
    ]  # fmt: skip


def test_the_one_stream_after_ignored_ranges_is_still_verified(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    artifactory_repo.server.faults.ignore_ranges(path_contains="model_v1.0.0")
    artifactory_repo.server.faults.corrupt_next(count=100, offset=5000, path_contains="model_v1")
    dest = tmp_path / "consumer" / "model_v1.0.0.bin"
    with pytest.raises(IntegrityError, match=r"damaged|sha256"):
        project(tmp_path / "consumer", store).pull("model", "1.0.0", check=True)
    assert not dest.exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fsartifacts.yaml"]


def staged_handles(root: Path) -> list[str]:
    """What this process holds open of the partial files under ``root``."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(root)) and "fsartifacts-partial" in target:
                held.append(target)
    return held


def range_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fsartifacts-range" and t.is_alive()]


def once_hanging(faults: Faults, action: Callable[[], None]) -> None:
    """``action()`` on a thread of its own once two responses hang (``stall_after``)."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + 30
        while faults.stalled() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    threading.Thread(target=wait_then_act, daemon=True).start()


@pytest.mark.parametrize("how", ["a range fails", "ctrl-c"])
def test_a_stopped_ranged_pull_leaves_no_writer_running_and_no_handle_open(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes, how: str
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    root = tmp_path / "consumer"
    project(root, store)
    consumer = Project.load(start=root, environ={"FSARTIFACTS_ATTEMPTS": "1"})
    faults = artifactory_repo.server.faults
    # Every range hangs after 64 KiB (until the fixture's reset); once two hang, one of
    # them breaks off (a reset connection: the pull fails) or the user presses Ctrl-C.
    faults.stall_after(64 * 1024, seconds=60.0, count=None, path_contains="model_v1.0.0")
    stop = _thread.interrupt_main if how == "ctrl-c" else faults.end_stalls
    once_hanging(faults, stop)
    if how == "ctrl-c":
        with pytest.raises(KeyboardInterrupt):
            consumer.pull("model", "1.0.0")
    else:
        assert not consumer.pull("model", "1.0.0").ok
    assert faults.stalled() >= 2  # it stopped while ranges hung
    assert range_threads() == []
    assert staged_handles(root) == []


@pytest.fixture
def s3_proxy(moto_server: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server)
    yield proxy
    proxy.close()


def test_a_large_file_arrives_in_ranges_from_s3(
    tmp_path: Path, moto_server: str, bucket: str, s3_proxy: FaultProxy, data: bytes
) -> None:
    store = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"
    pushed(tmp_path, store.format(bucket=bucket, url=moto_server), data)
    consumer = project(tmp_path / "consumer", store.format(bucket=bucket, url=s3_proxy.url))
    results = consumer.pull("model", "1.0.0")
    assert results.ok, results
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data
    gets = s3_proxy.content_requests("GET", "model_v1.0.0")
    assert len(gets) == 7
    assert sum(r.bytes_out for r in gets) == SIZE


def test_moto_behind_a_proxy_that_drops_ranges_gets_one_stream_for_the_file(
    tmp_path: Path, moto_server: str, bucket: str, s3_proxy: FaultProxy, data: bytes
) -> None:
    store = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"
    pushed(tmp_path, store.format(bucket=bucket, url=moto_server), data)
    consumer = project(tmp_path / "consumer", store.format(bucket=bucket, url=s3_proxy.url))
    s3_proxy.ignore_ranges(path_contains="model_v1.0.0")
    results = consumer.pull("model", "1.0.0")
    assert results.ok, results
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data
    assert results[0].sha256 == hashlib.sha256(data).hexdigest()
    gets = s3_proxy.content_requests("GET", "model_v1.0.0")
    assert all(r.status == 200 for r in gets)
    assert 2 <= len(gets) <= 5  # at most one refused answer a range in flight, then one


def test_a_failed_ranged_pull_from_s3_leaves_no_writer_running_and_no_handle_open(
    tmp_path: Path, moto_server: str, bucket: str, s3_proxy: FaultProxy, data: bytes
) -> None:
    store = "  s3:\n    bucket: {bucket}/models\n    region: us-east-1\n    endpoint_url: {url}\n"
    pushed(tmp_path, store.format(bucket=bucket, url=moto_server), data)
    root = tmp_path / "consumer"
    project(root, store.format(bucket=bucket, url=s3_proxy.url))
    consumer = Project.load(start=root, environ={"FSARTIFACTS_ATTEMPTS": "1"})
    # Every range hangs (until the proxy closes); once two hang, one breaks off.
    s3_proxy.stall_after(64 * 1024, seconds=60.0, count=None, path_contains="model_v1.0.0")
    once_hanging(s3_proxy, s3_proxy.end_stalls)
    assert not consumer.pull("model", "1.0.0").ok
    assert s3_proxy.stalled() >= 2
    assert range_threads() == []
    assert staged_handles(root) == []


class _CtrlCOnClose(Callback):
    """A progress bar that Ctrl-C (SIGINT) hits as it closes: after the copy is in place,
    before the pull returns it."""

    def close(self) -> None:
        signal.raise_signal(signal.SIGINT)


def test_ctrl_c_right_after_a_ranged_install_still_records_it_in_the_lock_file(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    store = artifactory_config(artifactory_repo)
    pushed(tmp_path, store, data)
    consumer = project(tmp_path / "consumer", store, jobs=1)
    consumer.progress = lambda label, size, files=None: _CtrlCOnClose()
    with pytest.raises(KeyboardInterrupt):
        consumer.pull("model", "1.0.0")
    assert (tmp_path / "consumer" / "model_v1.0.0.bin").read_bytes() == data
    assert "remote: model_v1.0.0.bin" in (tmp_path / "consumer" / "fsartifacts.lock").read_text()


def test_after_ignored_ranges_no_file_of_the_run_asks_for_ranges_again(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    files = {f"part{i}.bin": os.urandom(SIZE) for i in range(2)}
    # One file after the other: the second knows.
    pushed_folder(tmp_path, artifactory_config(artifactory_repo), files, jobs=1)
    artifactory_repo.server.clear_requests()
    artifactory_repo.server.faults.ignore_ranges(path_contains="part")
    assert Project.load(start=tmp_path / "consumer", environ={}).pull("weights", "1.0.0").ok
    for name, content in files.items():
        assert (tmp_path / "consumer" / "weights_v1.0.0" / name).read_bytes() == content
    gets = [r for r in artifactory_repo.server.requests if r.method == "GET" and "part" in r.path]
    assert len([r for r in gets if "Range" in r.headers]) == 1
    assert len([r for r in gets if "Range" not in r.headers]) == 2


def test_a_large_file_of_a_folder_arrives_in_ranges_too(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, data: bytes
) -> None:
    files = {"deep/big.bin": data, "small.txt": b"small\n"}
    pushed_folder(tmp_path, artifactory_config(artifactory_repo), files, jobs=4)
    artifactory_repo.server.clear_requests()
    consumer = Project.load(start=tmp_path / "consumer", environ={})
    assert consumer.pull("weights", "1.0.0").ok
    pulled = tmp_path / "consumer" / "weights_v1.0.0"
    assert (pulled / "deep" / "big.bin").read_bytes() == data
    assert sorted(p.relative_to(pulled).as_posix() for p in pulled.rglob("*")) == [
        "deep", "deep/big.bin", "small.txt"
    ]  # fmt: skip
    gets = [r for r in artifactory_repo.server.requests if r.method == "GET"]
    assert len([r for r in gets if "big.bin" in r.path and "Range" in r.headers]) == 7
    assert [r.headers.get("Range") for r in gets if "small.txt" in r.path] == [None]


def when_hanging(faults: Faults | FaultProxy, n: int) -> Callable[[], None]:
    """An action that waits (on the server's thread, bounded) until ``n`` responses hang."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while faults.stalled() < n and time.monotonic() < deadline:
            time.sleep(0.01)

    return wait


@pytest.mark.parametrize("kind", ["artifactory", "s3"])
def test_a_member_that_fails_for_good_ends_the_stalled_downloads_beside_it(
    tmp_path: Path,
    kind: str,
    artifactory_repo: ArtifactoryRepo,
    request: pytest.FixtureRequest,
    data: bytes,
) -> None:
    # A member of the folder fails for good while two others hang with no byte
    # arriving: one streamed, one in ranges. Each hung read was ended only by the read
    # timeout (here 10 minutes), the stop between blocks waiting for a block that never
    # came; the failure now closes the responses in flight beside it, and the pull exits
    # at once.
    files = {"a-bad.bin": os.urandom(20_000), "stalled.bin": os.urandom(300_000),
             "stalled-ranges.bin": data}  # fmt: skip
    faults: Faults | FaultProxy
    if kind == "artifactory":
        pushed_folder(tmp_path, artifactory_config(artifactory_repo), files, jobs=8)
        faults = artifactory_repo.server.faults
    else:
        moto, bucket = request.getfixturevalue("moto_server"), request.getfixturevalue("bucket")
        faults = request.getfixturevalue("s3_proxy")
        store = "  s3:\n    bucket: {b}/models\n    region: us-east-1\n    endpoint_url: {url}\n"
        pushed_folder(tmp_path, store.format(b=bucket, url=moto), files, jobs=8)
        config = tmp_path / "consumer" / "fsartifacts.yaml"
        config.write_text(config.read_text().replace(moto, faults.url))
    faults.stall_after(64 * 1024, seconds=600.0, count=None, path_contains="stalled")
    # The bad member's one try waits until both others hang (the streamed one and the
    # first range of the other), then arrives damaged.
    faults.before_next(when_hanging(faults, 2), methods=("GET",), path_contains="a-bad.bin")
    faults.corrupt_next(offset=7, path_contains="a-bad.bin")
    env = {"FSARTIFACTS_ATTEMPTS": "1", "FSARTIFACTS_TIMEOUT": "600"}
    consumer = tmp_path / "consumer"
    run = fsartifacts("pull", "weights", "1.0.0", "-j", "8", cwd=consumer, env=env, timeout=90)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "a-bad.bin" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert faults.stalled() >= 2
    # Nothing of the pull is left (no staged folder, no staged file of the ranges).
    assert [p.name for p in consumer.iterdir()] == ["fsartifacts.yaml"]
