"""Pulls of one destination at the same time, in real processes, one of them killed.

A pull is held half way by the local Artifactory server (one of its GETs waits there
until the test releases it), so that a second pull starts, or a signal lands, while
the first is provably under way, however loaded the machine. Whatever happens to the
second (refused, killed), the destination ends as the old copy or the new complete
one, never a mix, and a refused pull says so without blaming the store.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.engine.pulllock import KEPT_TAG
from tests.fixtures.artifactory import ArtifactoryRepo, ServerHold
from tests.fixtures.cli import fsartifacts, start, tree_digest, write_project

FILES = 30
HELD = "/f17.bin"  # the GET of one file of the folder, held while the test acts
BUSY = "another pull of"


def config(repo: ArtifactoryRepo) -> str:
    return (
        f"repository:\n  artifactory:\n    url: {repo.url}\n    repo: {repo.name}\n"
        "    path: team\n    auth: {authType: none}\n  artifacts:\n"
        "    - {name: model, file: model.bin}\n    - {name: data, file: data}\n"
    )


def projects(tmp_path: Path, repo: ArtifactoryRepo) -> tuple[Path, Path]:
    """(producer, consumer): the producer pushed data 1.0.0 (a folder) and model 1.0.0;
    the consumer holds older local copies of both."""
    producer = write_project(tmp_path / "producer", config(repo), "1.0.0")
    for i in range(FILES):
        (producer / "data" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (producer / "data" / f"d{i % 3}" / f"f{i}.bin").write_bytes(f"new {i}\n".encode() * 200)
    (producer / "model.bin").write_bytes(b"new model\n" * 5000)
    assert {r.action for r in Project.load(start=producer, environ={}).push("ALL")} == {"pushed"}
    consumer = write_project(tmp_path / "consumer", config(repo), "1.0.0")
    (consumer / "data").mkdir()
    (consumer / "data" / "old.txt").write_text("the old folder\n")
    (consumer / "data" / "f0.bin").write_text("old f0\n")
    (consumer / "model.bin").write_bytes(b"old model\n")
    return producer, consumer


def temporaries(consumer: Path, name: str) -> list[Path]:
    return sorted(consumer.glob(f".{name}.fsartifacts-*"))


def staging_folders(consumer: Path, name: str) -> list[Path]:
    """The folders a pull builds ``name`` in (not the one keeping its members for a later
    run, beside them once the first member is in)."""
    kept = f"{KEPT_TAG}.part"
    return [p for p in temporaries(consumer, name) if p.is_dir() and not p.name.endswith(kept)]


def wait_for(condition: object, what: str, deadline_s: float = 60) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` if it never is."""
    assert callable(condition)
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never saw {what}")
        time.sleep(0.002)


def outcome(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def test_a_second_pull_killed_while_the_first_is_under_way_loses_nothing(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    producer, consumer = projects(tmp_path, artifactory_repo)
    old = tree_digest(consumer / "data")
    with ServerHold(artifactory_repo.server, HELD) as hold:
        first = start("pull", "data", "1.0.0", "-o", cwd=consumer)
        hold.wait(command=first)

        def first_is_staging() -> bool:
            staged = staging_folders(consumer, "data")
            return bool(staged) and any(staged[0].rglob("*.bin"))

        # The other files land meanwhile; the pull cannot end while one is held.
        wait_for(first_is_staging, "the first pull's staging folder with files in it")
        (staging,) = staging_folders(consumer, "data")
        staged_inode = staging.stat().st_ino
        second = start("pull", "data", "1.0.0", "-o", cwd=consumer)

        def second_ended_or_swept() -> bool:
            if second.poll() is not None:
                return True
            try:
                return staging.stat().st_ino != staged_inode
            except FileNotFoundError:
                return True

        wait_for(second_ended_or_swept, "the second pull end or touch the first one's staging")
        if second.poll() is None:
            second.send_signal(signal.SIGKILL)
        status, stderr = outcome(second)
        assert status in (1, -signal.SIGKILL), stderr
        if status == 1:
            assert f"{BUSY} {consumer / 'data'} is under way" in stderr
            assert "not found on" not in stderr and "Traceback" not in stderr

    status, stderr = outcome(first)
    after = tree_digest(consumer / "data")
    assert after in (old, tree_digest(producer / "data")), "a mix of the old and new folders"
    assert status == 0, stderr
    assert after == tree_digest(producer / "data")
    assert not temporaries(consumer, "data")


@pytest.mark.parametrize("name", ["data", "model"])
def test_two_pulls_of_one_destination_at_once_both_succeed_or_one_is_refused(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, name: str
) -> None:
    producer, consumer = projects(tmp_path, artifactory_repo)
    dest = consumer / ("model.bin" if name == "model" else "data")
    # The second starts while the first waits for one of its files.
    with ServerHold(
        artifactory_repo.server, "model_v1.0.0.bin" if name == "model" else HELD
    ) as hold:
        runs = [start("pull", name, "1.0.0", "-o", cwd=consumer)]
        hold.wait(command=runs[0])
        runs.append(start("pull", name, "1.0.0", "-o", cwd=consumer))
        second = outcome(runs[1])
    results = [outcome(runs[0]), second]
    for status, stderr in results:
        assert status == 0 or (status == 1 and f"{BUSY} {dest} is under way" in stderr), stderr
        assert "Traceback" not in stderr
    assert 0 in [status for status, _ in results]
    if name == "model":
        assert dest.read_bytes() == (producer / "model.bin").read_bytes()
    else:
        assert tree_digest(dest) == tree_digest(producer / "data")
    assert not temporaries(consumer, dest.name)


def test_a_killed_pull_releases_its_lock_and_the_next_sweeps_its_leftovers(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    producer, consumer = projects(tmp_path, artifactory_repo)
    with ServerHold(artifactory_repo.server, HELD) as hold:
        killed = start("pull", "data", "1.0.0", "-o", cwd=consumer)
        hold.wait(command=killed)
        wait_for(
            lambda: any(
                p.is_dir() and any(p.rglob("*.bin")) for p in temporaries(consumer, "data")
            ),
            "the pull's staging folder with files in it",
        )
        killed.send_signal(signal.SIGKILL)
        assert outcome(killed)[0] == -signal.SIGKILL
    assert temporaries(consumer, "data"), "the killed pull left its staging folder"

    again = start("pull", "data", "1.0.0", "-o", cwd=consumer)
    status, stderr = outcome(again)
    assert status == 0, stderr
    assert tree_digest(consumer / "data") == tree_digest(producer / "data")
    assert not temporaries(consumer, "data")


@pytest.mark.parametrize(
    ("jobs", "how"),
    [("1", signal.SIGINT), ("4", signal.SIGINT), ("4", signal.SIGTERM)],
    ids=["ctrl-c-j1", "ctrl-c-j4", "sigterm-j4"],
)
def test_ctrl_c_during_pull_all_records_what_was_installed_in_the_lock_file(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo, jobs: str, how: signal.Signals
) -> None:
    _, consumer = projects(tmp_path, artifactory_repo)
    with ServerHold(artifactory_repo.server, HELD) as hold:
        run = start("pull", "ALL", "1.0.0", "-j", jobs, cwd=consumer)
        hold.wait(command=run)  # the folder cannot be installed while one of its files waits
        wait_for(
            lambda: (
                (consumer / "model_v1.0.0.bin").exists()
                and any(p.is_dir() for p in temporaries(consumer, "data_v1.0.0"))
            ),
            "model installed and the folder data on its way",
        )
        run.send_signal(how)  # a CI runner cancels a job with SIGTERM: the same cleanup
        status, stderr = outcome(run)
    assert status == 130, stderr
    assert "nothing half-written was installed" in stderr and "Traceback" not in stderr
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.0.0.bin" in lock
    assert ("remote: data_v1.0.0" in lock) == (consumer / "data_v1.0.0").is_dir()


def test_pulls_of_two_artifacts_at_once_both_stay_in_the_lock_file(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    _, consumer = projects(tmp_path, artifactory_repo)
    other: list[subprocess.CompletedProcess[str]] = []
    # The pull of data runs, start to end, while the pull of model (which read the lock
    # file as it began) is downloading: each must keep what the other recorded.
    artifactory_repo.server.faults.before_next(
        lambda: other.append(fsartifacts("pull", "data", "1.0.0", cwd=consumer)),
        methods=["GET"], path_contains="model_v1.0.0.bin",
    )  # fmt: skip
    assert Project.load(start=consumer, environ={}).pull("model", "1.0.0").ok
    assert other[0].returncode == 0, other[0].stderr
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.0.0.bin" in lock and "remote: data_v1.0.0" in lock, lock


def push_newer_model(producer: Path) -> None:
    (producer / "VERSION").write_text("1.1.0\n")
    (producer / "model.bin").write_bytes(b"newer model\n" * 5000)
    assert Project.load(start=producer, environ={}).push("model").ok


def pull_newer_model_while_data_downloads(
    artifactory_repo: ArtifactoryRepo, consumer: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Arms a pull of model 1.1.0 into ``consumer``, run start to end as the next pull there
    asks for a file of data 1.0.0; the list holds its result once it ran."""
    other: list[subprocess.CompletedProcess[str]] = []
    artifactory_repo.server.faults.before_next(
        lambda: other.append(fsartifacts("pull", "model", "1.1.0", "-o", cwd=consumer)),
        methods=["GET"], path_contains="data_v1.0.0/",
    )  # fmt: skip
    return other


def test_two_pulls_of_one_artifact_at_once_record_the_copy_installed_last(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    producer, consumer = projects(tmp_path, artifactory_repo)
    push_newer_model(producer)
    # The first pull installs model 1.0.0, then, while it downloads data, a second pull
    # installs model 1.1.0 in the same place, start to end: the lock file must end
    # naming 1.1.0, the copy in place, whichever pull writes it last.
    other = pull_newer_model_while_data_downloads(artifactory_repo, consumer)
    first = fsartifacts("pull", "ALL", "1.0.0", "-o", "-j", "1", cwd=consumer)
    assert first.returncode == 0, first.stderr
    assert other and other[0].returncode == 0, other and other[0].stderr
    assert (consumer / "model.bin").read_bytes() == b"newer model\n" * 5000
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.1.0.bin" in lock and "remote: data_v1.0.0" in lock, lock


def test_a_copy_found_up_to_date_is_recorded_before_another_pull_replaces_it(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    producer, consumer = projects(tmp_path, artifactory_repo)
    assert fsartifacts("pull", "model", "1.0.0", "-o", cwd=consumer).returncode == 0
    push_newer_model(producer)
    # The sync pull finds model 1.0.0 in place, then, while it downloads data, another
    # pull installs model 1.1.0 there: the lock file must end naming 1.1.0.
    other = pull_newer_model_while_data_downloads(artifactory_repo, consumer)
    first = fsartifacts("sync", "pull", "ALL", "1.0.0", "-o", "-j", "1", cwd=consumer)
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout, first.stdout
    assert other and other[0].returncode == 0, other and other[0].stderr
    assert (consumer / "model.bin").read_bytes() == b"newer model\n" * 5000
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.1.0.bin" in lock and "remote: data_v1.0.0" in lock, lock
