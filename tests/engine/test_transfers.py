"""The run's one bound on transfers, and the files of a folder moving several at once."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import semver

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine.options import PullOptions
from fsartifacts.engine.runner import Engine
from fsartifacts.engine.transfers import Transfers
from fsartifacts.errors import EXIT_FAILED, IntegrityError
from fsartifacts.stores.artifactory.settings import ArtifactorySettings
from fsartifacts.stores.artifactory.store import open_artifactory_store
from fsartifacts.stores.s3.ops import open_s3_store
from fsartifacts.stores.s3.settings import S3Settings
from fsartifacts.testing.artifactory import ArtifactoryServer
from fsartifacts.testing.requestlog import RequestRecord, peak_overlap
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import tree_digest
from tests.fixtures.fault_proxy import FaultProxy

DATA = Artifact("data", "data")
V1, V2 = semver.Version.parse("1.0.0"), semver.Version.parse("2.0.0")


def test_nested_runs_never_exceed_jobs_in_total_and_reach_it() -> None:
    """Two artifacts' files at once, on 3 slots: never a 4th in flight, and 3 at once
    (each group of 3 meets at a barrier, which only 3 transfers in flight can pass)."""
    transfers = Transfers(3)
    lock, in_flight, most = threading.Lock(), [0], [0]
    barrier = threading.Barrier(3, timeout=20)

    def transfer(item: int) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        barrier.wait()
        with lock:
            in_flight[0] -= 1

    artifacts = [
        threading.Thread(target=transfers.each, args=(transfer, range(6))) for _ in range(2)
    ]
    for thread in artifacts:
        thread.start()
    for thread in artifacts:
        thread.join(timeout=60)
    assert most[0] == 3
    assert not barrier.broken


def test_the_first_failure_stops_the_rest_and_is_raised() -> None:
    transfers = Transfers(2)
    items = iter(range(1000))
    started: list[int] = []

    def transfer(item: int) -> None:
        started.append(item)
        if item == 3:
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        transfers.each(transfer, items)
    count = len(started)
    assert count < 10  # items are taken only as slots free up, and none after the failure
    assert next(items, None) is not None  # the rest were never taken
    assert len(started) == count  # nothing runs once each() has returned


def test_small_items_run_on_the_calling_thread_and_large_ones_beside_within_jobs() -> None:
    """Two lanes: the small items one after another on the thread that called, the large
    ones on the other jobs - 1 threads at once; never more than jobs in flight in all."""
    transfers = Transfers(3)
    lock, in_flight, most = threading.Lock(), [0], [0]
    ran: dict[int, str] = {}
    large = threading.Barrier(2, timeout=20)  # two large ones at once, or the test fails

    def transfer(item: int) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            ran[item] = threading.current_thread().name
        if item >= 100:
            large.wait()
        with lock:
            in_flight[0] -= 1

    items = [100, *range(10), 101, *range(10, 20), 102, 103]
    transfers.each(transfer, items, small=lambda item: item < 100)
    caller = threading.current_thread().name
    assert sorted(ran) == sorted(items)
    assert {ran[i] for i in range(20)} == {caller}
    assert caller not in {ran[i] for i in (100, 101, 102, 103)}
    assert most[0] <= 3 and not large.broken


@pytest.mark.parametrize("failing", [5, 100])
def test_in_lanes_the_first_failure_stops_both_and_is_raised(failing: int) -> None:
    transfers = Transfers(2)
    items = iter([*range(10), 100, *range(1000, 3000)])
    started: list[int] = []
    stop, waited = threading.Event(), threading.Event()

    def transfer(item: int) -> None:
        started.append(item)
        if item == failing:
            raise OSError("disk on fire")
        if item >= 1000 and not waited.is_set():
            # The first small item after the large one ends once the other lane's failure
            # is in (or after 30 s): it is then seen at the next item, whatever the pace
            # of the threads. Only that one waits, so a failure not seen ends the test.
            waited.set()
            stop.wait(30)

    with pytest.raises(OSError, match="disk on fire"):
        transfers.each(transfer, items, stop, small=lambda item: item != 100)
    count = len(started)
    assert count < 500 and next(items, None) is not None  # the rest were never taken
    assert len(started) == count  # nothing runs once each() has returned


def test_a_folder_on_the_folder_store_copies_its_small_files_on_the_artifacts_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads buy nothing for a small file copied on this machine: its pull and push
    run on the artifact's thread; a large file beside them still moves on another."""
    from fsartifacts import copyshares
    from fsartifacts.stores.local import LocalOps
    from fsartifacts.stores.url import open_url_store

    project = tmp_path / "project"
    folder = project / DATA.file
    (folder / "sub").mkdir(parents=True)
    for i in range(6):
        (folder / "sub" / f"s{i}.bin").write_bytes(os.urandom(1000))
    (folder / "large.bin").write_bytes(os.urandom(1024 * 1024 + 1))
    threads: dict[str, set[str]] = {}
    real_download, real_member = LocalOps.download, LocalOps.upload_member
    real_batch = copyshares.copy_files
    doing = ["push"]

    def seen(path: str) -> None:
        name = "large" if path.endswith("large.bin") else "small"
        threads.setdefault(f"{doing[0]} {name}", set()).add(threading.current_thread().name)

    def download(self: LocalOps, rpath: str, *args: Any, **kwargs: Any) -> None:
        seen(rpath)
        real_download(self, rpath, *args, **kwargs)

    def upload_member(self: LocalOps, folder: str, file: Any, *args: Any, **kw: Any) -> None:
        seen(file[1])
        real_member(self, folder, file, *args, **kw)

    def copy_files(copies: Any, *args: Any, **kwargs: Any) -> bytearray:
        listed = list(copies)  # the small files, copied in one loop
        for _, src, _ in listed:
            seen(os.fsdecode(src))
        return real_batch(listed, *args, **kwargs)

    monkeypatch.setattr(LocalOps, "download", download)
    monkeypatch.setattr(LocalOps, "upload_member", upload_member)
    monkeypatch.setattr(copyshares, "copy_files", copy_files)
    transfer = TransferSettings(jobs=4)
    store = open_url_store("file://./store", {}, tmp_path, transfer)
    caller = threading.current_thread().name
    assert Engine(store, project, jobs=4, transfer=transfer).push(DATA, V1).action == "pushed"
    consumer = tmp_path / "consumer"
    doing[0] = "pull"
    result = Engine(store, consumer, jobs=4, transfer=transfer).pull(DATA, "1.0.0", V1)
    assert result.action == "pulled", result.error
    assert tree_digest(consumer / "data_v1.0.0") == tree_digest(folder)
    assert threads["push small"] == threads["pull small"] == {caller}
    assert caller not in threads["push large"] | threads["pull large"]


@pytest.fixture
def server(artifactory_server: ArtifactoryServer) -> ArtifactoryServer:
    return artifactory_server


def engine_on(
    repo: ArtifactoryRepo, root: Path, jobs: int, attempts: int = 3, **transfer_settings: Any
) -> Engine:
    transfer = TransferSettings(attempts=attempts, timeout=10, jobs=jobs, **transfer_settings)
    settings = ArtifactorySettings(repo.url, repo.name, path="team")
    store = open_artifactory_store(settings, None, transfer)
    return Engine(store, root, transfer=transfer)


def write_folder(root: Path, seed: int, files: int = 8) -> dict[str, str]:
    folder = root / DATA.file
    for i in range(files):
        path = folder / f"part-{i}" / f"f{i}.bin" if i % 2 else folder / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([seed]) * 100 + os.urandom(20_000))
    return tree_digest(folder)


def file_downloads(
    server: ArtifactoryServer, repo: ArtifactoryRepo, name: str
) -> list[RequestRecord]:
    prefix = f"/artifactory/{repo.name}/team/{name}/"
    return [r for r in server.requests if r.method == "GET" and r.path.startswith(prefix)]


def test_a_folder_pull_downloads_its_files_at_once_within_jobs(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    pushed = write_folder(project, 1)
    engine = engine_on(artifactory_repo, project, jobs=3)
    assert engine.push(DATA, V1).action == "pushed"
    server.clear_requests()
    # The first two downloads are answered only once both have arrived: a client that
    # waits for each answer before it asks for the next file never gets past them.
    both = threading.Barrier(2, timeout=30)
    folder = f"/artifactory/{artifactory_repo.name}/team/data_v1.0.0/"
    server.faults.before_next(both.wait, count=2, methods=("GET",), path_contains=folder)

    # Another project: one holding the files would copy them, not download them.
    consumer = tmp_path / "consumer"
    result = engine_on(artifactory_repo, consumer, jobs=3).pull(DATA, "1.0.0", V1)
    assert result.action == "pulled", result.error
    assert not both.broken
    assert tree_digest(consumer / "data_v1.0.0") == pushed
    downloads = file_downloads(server, artifactory_repo, "data_v1.0.0")
    assert len(downloads) == len(pushed)
    # Served at once (a client waiting for each answer could not overlap two), within -j.
    assert 2 <= peak_overlap(downloads) <= 3


def test_a_corrupted_file_fails_the_folder_and_leaves_the_destination_as_it_was(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    engine = engine_on(artifactory_repo, project, jobs=4)
    before = write_folder(project, 1)
    assert engine.push(DATA, V1).action == "pushed"
    write_folder(project, 2)
    assert engine.push(DATA, V2).action == "pushed"
    assert engine.pull(DATA, "1.0.0", V1, PullOptions(override=True)).action == "pulled"
    assert tree_digest(project / "data") == before
    server.clear_requests()

    # The same file arrives corrupted on every try: the store's copy is damaged.
    server.faults.corrupt_next(count=20, offset=7, path_contains="data_v2.0.0/part-3/")
    with pytest.raises(IntegrityError, match=r"part-3/f3\.bin.*damaged"):
        engine.pull(DATA, "2.0.0", V2, PullOptions(override=True))
    assert tree_digest(project / "data") == before
    assert sorted(p.name for p in project.iterdir()) == ["data"]  # no staged folder left
    # The other files were fetched alongside, and the failure stopped the folder.
    assert len(file_downloads(server, artifactory_repo, "data_v2.0.0")) >= 2


MiB = 1024 * 1024
BIG = 6 * MiB  # 6 of the 1 MiB blocks a download hands on
HANG_AFTER = MiB + 64 * 1024  # a large file's response hangs once its first block is out


def when_both_hang(
    server: ArtifactoryServer, repo: ArtifactoryRepo, names: set[str], held: threading.Event
) -> Callable[[], None]:
    """An action for the server's thread: wait (bounded) until each of ``names`` has a
    download in flight and every one of them hangs, then set ``held``."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            gets = [r for r in file_downloads(server, repo, "data_v2.0.0") if "/big-" in r.path]
            files = {r.path.rsplit("/", 1)[-1] for r in gets}
            if files == names and server.faults.stalled() >= len(gets):
                held.set()
                return
            time.sleep(0.01)

    return wait


@pytest.mark.parametrize("ranged", [False, True], ids=["in-one-stream", "in-ranges"])
def test_a_file_that_fails_for_good_stops_the_files_in_flight_beside_it(
    ranged: bool, artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """One small file arrives corrupted on every try while two large ones are in flight
    (in one stream each, or in ranges of 2 MiB, two at a time): its last failure stops
    them, the pull fails naming it, and nothing of it is left.

    The order is the server's, not the machine's speed: every response of the large files
    hangs once its first block is out, and the small file's first try is answered only
    once both hang. So they are in flight when it fails, and only their stop can end the
    pull: the server holds them until the test lets them go."""
    project = tmp_path / "project"
    in_ranges = {"ranged_from": MiB, "range_size": 2 * MiB, "ranges": 2} if ranged else {}
    # Two tries, with no wait between them.
    engine = engine_on(artifactory_repo, project, jobs=4, attempts=2, **in_ranges)
    before = write_folder(project, 1, files=2)
    assert engine.push(DATA, V1).action == "pushed"
    shutil.rmtree(project / DATA.file)
    (project / DATA.file).mkdir()
    (project / DATA.file / "a-bad.bin").write_bytes(os.urandom(20_000))
    for i in range(2):
        (project / DATA.file / f"big-{i}.bin").write_bytes(os.urandom(BIG))
    assert engine.push(DATA, V2).action == "pushed"
    assert engine.pull(DATA, "1.0.0", V1, PullOptions(override=True)).action == "pulled"
    server.clear_requests()

    faults, held = server.faults, threading.Event()
    folder = f"/artifactory/{artifactory_repo.name}/team/data_v2.0.0/"
    faults.corrupt_next(count=100, offset=7, path_contains=f"{folder}a-bad.bin")
    # Held far longer than the pull takes once it stops them; a pull that does not stop
    # them waits this out on each try.
    faults.stall_after(HANG_AFTER, seconds=60, count=None, path_contains=f"{folder}big-")
    names = {"big-0.bin", "big-1.bin"}
    hold = when_both_hang(server, artifactory_repo, names, held)
    faults.before_next(hold, methods=("GET",), path_contains=f"{folder}a-bad.bin")
    try:
        with pytest.raises(IntegrityError, match=r"a-bad\.bin.*damaged") as raised:
            engine.pull(DATA, "2.0.0", V2, PullOptions(override=True))
        # The pull ended while the server still held every response of the large files
        # that had begun to hang: the failure ended them, not the server.
        stalled = faults.stalled()
        hanging = faults.hanging()
    finally:
        faults.reset()  # the held responses end (RST)
    assert held.is_set()  # both large files were in flight when the small one failed
    assert hanging >= stalled >= 2
    assert raised.value.exit_code == EXIT_FAILED
    assert tree_digest(project / "data") == before
    assert sorted(p.name for p in project.iterdir()) == ["data"]  # no staged folder left
    assert server.wait_idle()  # each stopped response has ended: its bytes sent are final
    downloads = file_downloads(server, artifactory_repo, "data_v2.0.0")
    big = [r for r in downloads if "/big-" in r.path]
    assert {r.path.rsplit("/", 1)[-1] for r in big} == names
    assert {"Range" in r.headers for r in big} == {ranged}
    if not ranged:  # and neither was asked again: a stopped transfer is not retried
        assert len(big) == 2, big


def extra_requests_of_folders(
    tmp_path: Path,
    engine: Callable[[Path], Engine],
    requests: Callable[[], list[tuple[str, str]]],
    clear: Callable[[], None],
    content: Callable[[str], str],
) -> dict[str, list[int]]:
    """Push and pull folders of 2 and 5 files: for each, one request per file is checked
    (a PUT to push, a GET to pull), and the count of all the others is returned."""
    others: dict[str, list[int]] = {"push": [], "pull": []}
    for files in (2, 5):
        artifact = Artifact(f"data{files}", f"data{files}")
        project = tmp_path / f"project-{files}"
        for i in range(files):
            path = project / artifact.file / f"part-{i % 2}" / f"f{i}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(2_000))
        prefix = content(f"{artifact.name}_v1.0.0/")
        for step, method in (("push", "PUT"), ("pull", "GET")):
            clear()
            if step == "push":
                assert engine(project).push(artifact, V1).action == "pushed"
            else:
                pulled = engine(tmp_path / f"consumer-{files}").pull(artifact, "1.0.0", V1)
                assert pulled.action == "pulled", pulled.error
            seen = requests()
            moved = [r for r in seen if r[0] == method and r[1].startswith(prefix)]
            assert len(moved) == files, (step, seen)
            others[step].append(len(seen) - files)
    return others


def test_a_folder_moves_in_one_request_per_file_and_a_constant_few_more(
    artifactory_repo: ArtifactoryRepo, server: ArtifactoryServer, tmp_path: Path
) -> None:
    """Each file of a folder costs one PUT to push and one GET to pull, as curl's; what
    else is asked (claims, listings, the manifest) does not grow with the files."""
    # The store's folder exists already (a push into none first asks whether the repo does).
    ArtifactoryFileSystem(url=artifactory_repo.url, skip_instance_cache=True).pipe_file(
        f"{artifactory_repo.name}/team/README", b"artifacts"
    )
    others = extra_requests_of_folders(
        tmp_path,
        lambda root: engine_on(artifactory_repo, root, jobs=4),
        lambda: [(r.method, r.path) for r in server.requests],
        server.clear_requests,
        lambda name: f"/artifactory/{artifactory_repo.name}/team/{name}",
    )
    assert others["push"][0] == others["push"][1] <= 16, others
    assert others["pull"][0] == others["pull"][1] <= 2, others  # the listing, the manifest


def test_a_folder_on_s3_moves_in_one_request_per_file_and_a_constant_few_more(
    moto_server: str, bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    """The same on S3 (counted by a proxy in front of moto): no HEAD per file for what
    the manifest already says, no listing per subfolder."""
    s3_client.put_object(Bucket=bucket, Key="team/README", Body=b"artifacts")  # as above
    transfer = TransferSettings(attempts=3, timeout=10, jobs=4)
    proxy = FaultProxy(moto_server)
    try:
        settings = S3Settings(bucket=f"{bucket}/team", endpoint_url=proxy.url, region="us-east-1")
        store = open_s3_store(settings, transfer)  # one client: making each costs a second

        def engine(root: Path) -> Engine:
            return Engine(store, root, transfer=transfer)

        others = extra_requests_of_folders(
            tmp_path,
            engine,
            lambda: [(r.method, unquote(r.path)) for r in proxy.requests],
            proxy.reset,
            lambda name: f"/{bucket}/team/{name}",
        )
    finally:
        proxy.close()
    assert others["push"][0] == others["push"][1] <= 16, others
    assert others["pull"][0] == others["pull"][1] <= 2, others  # the listing, the manifest
