"""A large file's pull that does not finish is resumed by the next run (real processes where
how a process ends matters).

The local Artifactory server's ``cut_after`` switch stands for a network that goes down
for good part way: the first run spends its tries and fails, keeping its partial file
and journal; the next run, on a healthy server, asks only for the bytes the journal
does not hold.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fsartifacts import Project
from tests.e2e.test_ranged_pulls import SIZE, artifactory_config, project
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold
from tests.fixtures.cli import fsartifacts, start

NAME = "model_v1.0.0.bin"
ENV = {"FSARTIFACTS_ATTEMPTS": "2"}


@pytest.fixture
def store(tmp_path: Path, artifactory_repo: ArtifactoryRepo) -> str:
    return artifactory_config(artifactory_repo)


def push(tmp_path: Path, store: str, data: bytes, *, force: bool = False) -> None:
    producer = project(tmp_path / "producer", store)
    (tmp_path / "producer" / "model.bin").write_bytes(data)
    assert producer.push("model", force=force).ok


def consumer(tmp_path: Path, store: str) -> Path:
    project(tmp_path / "consumer", store)
    return tmp_path / "consumer"


def journal(root: Path) -> Path:
    return root / f".{NAME}.fsartifacts-partial.json"


def held(root: Path) -> int:
    """The bytes the journal says the partial file holds."""
    return sum(end - start for start, end in json.loads(journal(root).read_text())["done"])


def served(repo: ArtifactoryRepo) -> int:
    """Bytes of the file the server sent since its log was cleared."""
    return sum(r.bytes_out for r in repo.server.requests if r.method == "GET" and NAME in r.path)


def cut_short(repo: ArtifactoryRepo, root: Path, *, cli: bool = True) -> int:
    """A pull that the network lets have 600 KiB of the file, then fails for good (a
    real process unless ``cli`` is False): it fails, keeping its partial download. The
    bytes its journal holds."""
    nbytes = 600 * 1024
    repo.server.faults.cut_after(nbytes, path_contains=NAME)
    # One range at a time: the ranges before the cut arrive whole (a reset connection
    # loses what its client had not read yet).
    if cli:
        run = fsartifacts("pull", "model", "1.0.0", "-j", "1", cwd=root, env=ENV)
        assert run.returncode == 1, run.stdout + run.stderr
        assert "the next pull resumes" in run.stderr
    else:
        one_at_a_time = Project.load(start=root, environ={**ENV, "FSARTIFACTS_JOBS": "1"})
        assert not one_at_a_time.pull("model", "1.0.0").ok
    repo.server.faults.reset()
    assert not (root / NAME).exists()
    assert 2 * 256 * 1024 <= held(root) <= nbytes
    repo.server.clear_requests()
    return held(root)


def pulled(root: Path, *args: str, cli: bool = True) -> None:
    if cli:
        run = fsartifacts("pull", "model", "1.0.0", *args, cwd=root, env=ENV)
        assert run.returncode == 0, run.stdout + run.stderr
    else:
        assert Project.load(start=root, environ=ENV).pull("model", "1.0.0").ok
    assert sorted(p.name for p in root.iterdir()) == ["fsartifacts.lock", "fsartifacts.yaml", NAME]


def stopped_once(process: subprocess.Popen[str], ready: Callable[[], bool], how: int) -> None:
    """Send ``how`` (SIGKILL, SIGINT, SIGTERM) to ``process`` once ``ready()``; it ends as
    it should (SIGTERM stops it as Ctrl-C does)."""
    try:
        deadline = time.monotonic() + 60
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, how)
        _, err = process.communicate(timeout=30)
        assert process.returncode == (-signal.SIGKILL if how == signal.SIGKILL else 130), err
    finally:
        if process.poll() is None:
            process.kill()


def test_a_pull_cut_short_is_resumed_by_the_next_and_downloads_only_the_rest(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    kept = cut_short(artifactory_repo, root)
    pulled(root)
    assert served(artifactory_repo) == SIZE - kept
    assert (root / NAME).read_bytes() == data


def test_a_partial_of_a_copy_replaced_since_is_discarded(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo
) -> None:
    push(tmp_path, store, os.urandom(SIZE))
    root = consumer(tmp_path, store)
    cut_short(artifactory_repo, root, cli=False)
    replacement = os.urandom(SIZE)
    push(tmp_path, store, replacement, force=True)
    artifactory_repo.server.clear_requests()
    pulled(root, cli=False)
    assert served(artifactory_repo) == SIZE
    assert (root / NAME).read_bytes() == replacement


def test_a_partial_whose_server_no_longer_serves_ranges_starts_over_in_one_stream(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    kept = cut_short(artifactory_repo, root, cli=False)
    artifactory_repo.server.faults.ignore_ranges(path_contains=NAME)
    with caplog.at_level(logging.DEBUG, logger="fsartifacts"):
        pulled(root, cli=False)
    assert (root / NAME).read_bytes() == data
    assert [r.headers.get("Range") for r in artifactory_repo.server.requests
            if r.method == "GET" and NAME in r.path and r.status == 200][-1] is None  # fmt: skip
    assert f"the {kept} bytes an earlier pull kept are discarded" in caplog.text


def test_no_resume_starts_over_and_leaves_nothing(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    cut_short(artifactory_repo, root)
    pulled(root, "--no-resume")
    assert served(artifactory_repo) == SIZE
    assert (root / NAME).read_bytes() == data
    # Nor does a pull without resuming leave anything when it is cut short.
    (root / NAME).unlink()
    artifactory_repo.server.faults.cut_after(600 * 1024, path_contains=NAME)
    run = fsartifacts("pull", "model", "1.0.0", "--no-resume", cwd=root, env=ENV)
    assert run.returncode == 1, run.stdout + run.stderr
    assert sorted(p.name for p in root.iterdir()) == ["fsartifacts.lock", "fsartifacts.yaml"]


@pytest.mark.parametrize("tamper", ["claims everything", "truncated", "past the end", "old"])
def test_a_journal_not_to_trust_is_never_taken_on_its_word(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo, tamper: str
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    cut_short(artifactory_repo, root, cli=False)
    body = json.loads(journal(root).read_text())
    if tamper == "claims everything":
        body["done"] = [[0, SIZE]]  # the partial still holds zeros: the sha256 says so
        journal(root).write_text(json.dumps(body))
    elif tamper == "truncated":
        journal(root).write_text(json.dumps(body)[:40])
    elif tamper == "past the end":
        body["done"] = [[0, SIZE * 2]]
        journal(root).write_text(json.dumps(body))
    else:
        two_days_ago = time.time() - 2 * 86400
        os.utime(journal(root), (two_days_ago, two_days_ago))
    pulled(root, cli=False)
    assert (root / NAME).read_bytes() == data
    assert served(artifactory_repo) == SIZE


def test_kept_bytes_that_fail_verification_cost_no_try_and_blame_no_store(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo, caplog: pytest.LogCaptureFixture
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    cut_short(artifactory_repo, root, cli=False)
    body = json.loads(journal(root).read_text())
    body["done"] = [[0, SIZE]]  # edited by hand: the partial holds zeros past the cut
    journal(root).write_text(json.dumps(body))
    # One try only: the bytes that fail are the journal's, not the store's, so the file is
    # downloaded whole at once instead of the pull failing as corrupted on the store.
    one_try = Project.load(start=root, environ={"FSARTIFACTS_ATTEMPTS": "1"})
    with caplog.at_level(logging.WARNING, logger="fsartifacts"):
        assert one_try.pull("model", "1.0.0").ok
    assert (root / NAME).read_bytes() == data
    assert served(artifactory_repo) == SIZE
    assert "an earlier pull kept" in caplog.text


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_a_killed_or_interrupted_pull_leaves_a_partial_the_next_run_resumes(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo, how: signal.Signals
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    server = artifactory_repo.server
    # The file's third request hangs once its first byte is out, so the signal lands
    # mid-way: once the journal holds what came before, the rest still to come. (An
    # interrupted pull closes the response it is reading.)
    server.faults.before_next(lambda: None, count=2, methods=["GET"], path_contains=NAME)
    server.faults.before_next(
        lambda: server.faults.stall_after(1, seconds=300, path_contains=NAME),
        methods=["GET"], path_contains=NAME,
    )  # fmt: skip
    stopped_once(
        start("pull", "model", "1.0.0", "-j", "1", cwd=root, env=ENV),
        lambda: journal(root).exists() and held(root) > 0 and server.faults.hanging() == 1,
        how,
    )
    server.faults.reset()  # the hanging response ends
    assert server.wait_idle()
    kept = held(root)
    assert 0 < kept < SIZE
    artifactory_repo.server.clear_requests()
    pulled(root)
    assert served(artifactory_repo) == SIZE - kept
    assert (root / NAME).read_bytes() == data


def test_ctrl_c_while_a_range_waits_for_its_answer_ends_the_pull_at_once(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo
) -> None:
    data = os.urandom(SIZE)
    push(tmp_path, store, data)
    root = consumer(tmp_path, store)
    # The file's third request is held before the server answers it: no response exists
    # yet to close under the range, which waits for its headers. The transfer timeout is
    # far longer than the test waits for the exit, so only a pull that does not wait for
    # that range ends in time.
    with ServerHold(artifactory_repo.server, NAME, after=2) as hold:
        proc = start("pull", "model", "1.0.0", "-j", "1", cwd=root,
                     env={**ENV, "FSARTIFACTS_TIMEOUT": "600"})  # fmt: skip
        try:
            hold.wait(command=proc)
            os.kill(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert not (root / NAME).exists()
    kept = held(root)
    assert 0 < kept < SIZE  # what came before the held range is kept for the next run
    artifactory_repo.server.clear_requests()
    pulled(root)
    assert served(artifactory_repo) == SIZE - kept
    assert (root / NAME).read_bytes() == data


FOLDER = "weights_v1.0.0"
MEMBERS = [f"{n}.bin" for n in range(1, 7)]


def folder_project(root: Path, store: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fsartifacts.yaml").write_text(
        f"version: 1.0.0\nrepository:\n{store}  artifacts:\n"
        "    - name: weights\n      file: weights\n"
    )
    return root


def member_gets(repo: ArtifactoryRepo) -> list[str]:
    """The members of the folder version the server sent since its log was cleared."""
    return sorted(
        r.path.rsplit("/", 1)[1]
        for r in repo.server.requests
        if r.method == "GET" and f"/{FOLDER}/" in r.path and r.path.endswith(".bin")
    )


@pytest.mark.parametrize(
    "how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["killed", "ctrl-c", "sigterm"]
)
def test_a_folder_pull_stopped_part_way_keeps_its_verified_members_for_the_next(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo, how: signal.Signals
) -> None:
    producer = folder_project(tmp_path / "producer", store)
    files = {name: os.urandom(50_000) for name in MEMBERS}
    (producer / "weights").mkdir()
    for name, content in files.items():
        (producer / "weights" / name).write_bytes(content)
    assert Project.load(start=producer, environ={}).push("weights").ok
    root = folder_project(tmp_path / "consumer", store)
    faults = artifactory_repo.server.faults
    faults.stall_after(10_000, seconds=60.0, path_contains=f"{FOLDER}/4.bin")
    process = start("pull", "weights", "1.0.0", "-j", "1", cwd=root, env=ENV)
    stopped_once(process, lambda: faults.stalled() >= 1, how)
    faults.reset()
    kept = root / f".{FOLDER}.fsartifacts-kept.part"
    assert sorted(p.name for p in kept.iterdir()) == ["1.bin", "2.bin", "3.bin"]
    artifactory_repo.server.clear_requests()
    assert Project.load(start=root, environ=ENV).pull("weights", "1.0.0").ok
    assert member_gets(artifactory_repo) == ["4.bin", "5.bin", "6.bin"]
    for name, content in files.items():
        assert (root / FOLDER / name).read_bytes() == content
    assert sorted(p.name for p in root.iterdir()) == [
        "fsartifacts.lock",
        "fsartifacts.yaml",
        FOLDER,
    ]


def test_kept_members_that_are_not_the_manifest_s_are_downloaded_and_no_resume_keeps_none(
    tmp_path: Path, store: str, artifactory_repo: ArtifactoryRepo
) -> None:
    producer = folder_project(tmp_path / "producer", store)
    files = {name: os.urandom(50_000) for name in MEMBERS[:3]}
    (producer / "weights").mkdir()
    for name, content in files.items():
        (producer / "weights" / name).write_bytes(content)
    assert Project.load(start=producer, environ={}).push("weights").ok
    root = folder_project(tmp_path / "consumer", store)
    kept = root / f".{FOLDER}.fsartifacts-kept.part"
    kept.mkdir()
    (kept / "1.bin").write_bytes(files["1.bin"])  # as a stopped pull left it
    (kept / "2.bin").write_bytes(os.urandom(50_000))  # the same size, other bytes
    artifactory_repo.server.clear_requests()
    assert Project.load(start=root, environ=ENV).pull("weights", "1.0.0").ok
    assert member_gets(artifactory_repo) == ["2.bin", "3.bin"]
    for name, content in files.items():
        assert (root / FOLDER / name).read_bytes() == content
    assert not kept.exists()
    # --no-resume neither takes nor keeps any.
    kept.mkdir()
    (kept / "1.bin").write_bytes(files["1.bin"])
    (root / FOLDER / "1.bin").write_bytes(b"changed")
    (root / FOLDER / "2.bin").unlink()
    artifactory_repo.server.clear_requests()
    run = fsartifacts("pull", "weights", "1.0.0", "--no-resume", cwd=root, env=ENV)
    assert run.returncode == 0, run.stdout + run.stderr
    assert member_gets(artifactory_repo) == ["1.bin", "2.bin"]
    assert not kept.exists()
