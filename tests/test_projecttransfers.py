"""Pushes and pulls of the Python API on a folder store (projecttransfers.py)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
from fsspec.callbacks import Callback

from fsartifacts import ConfigError, ConflictError, NotFoundError, Project, Results
from tests.fixtures.cli import API_PROJECT, write_api_project, write_project


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    return write_api_project(tmp_path / "p")


def test_push_with_force_and_errors_are_typed(project_root: Path) -> None:
    project = Project.load(start=project_root, environ={})
    project.push("model")
    (project_root / "model.pkl").write_bytes(b"retrained")
    refused = project.push("model")
    assert refused[0].action == "failed" and "force=True" in (refused[0].error or "")
    assert project.push("model", force=True)[0].action == "pushed"
    with pytest.raises(ConfigError, match="model, data"):
        project.push("nope")
    with pytest.raises(NotFoundError, match=r"Versions there: 1\.4\.0"):
        project.resolve("model", "9.9.9")


def test_results_raise_for_status_and_check(project_root: Path) -> None:
    project = Project.load(start=project_root, environ={})
    pushed = project.push("ALL")
    assert isinstance(pushed, list) and isinstance(pushed, Results)
    assert pushed.ok and pushed.failed == [] and pushed.raise_for_status() is pushed

    (project_root / "model.pkl").write_bytes(b"retrained")
    refused = project.sync_push("ALL")
    assert not refused.ok
    assert [r.artifact for r in refused.failed] == ["model"]
    with pytest.raises(ConflictError) as raised:
        refused.raise_for_status()
    assert raised.value is refused.failed[0].exception
    assert str(raised.value) == refused.failed[0].error
    with pytest.raises(ConflictError):
        project.sync_push("model", check=True)

    (project_root / "model.pkl").write_bytes(b"weights")
    with pytest.raises(NotFoundError, match=r"9\.9\.9"):
        project.pull("model", "9.9.9", check=True)
    assert project.pull("ALL", "LATEST", check=True).ok
    assert project.sync_pull(check=True).ok


class _HeldAfterInstall(Callback):
    """An artifact's progress bar whose close (which a pull calls after it has put the
    copy in place, before it reports it done) holds the worker there: all the workers
    meet, one sends Ctrl-C (SIGINT) to the main thread, and they wait to be let go."""

    def __init__(self, met: threading.Barrier, release: threading.Event) -> None:
        super().__init__()
        self.met, self.release = met, release

    def close(self) -> None:
        if self.met.wait(timeout=30) == 0:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        assert self.release.wait(timeout=30)


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_after_an_install_before_its_report_still_records_it_in_the_lock_file(
    project_root: Path, jobs: int
) -> None:
    Project.load(start=project_root, environ={}).push("ALL")
    root = write_project(project_root.parent / "consumer", API_PROJECT.replace("./", "./../p/"))
    consumer = Project.load(start=root, environ={})
    met, release = threading.Barrier(jobs), threading.Event()
    consumer.progress = lambda label, size, files=None: _HeldAfterInstall(met, release)
    consumer.engine.jobs = jobs
    try:
        with pytest.raises(KeyboardInterrupt):
            consumer.pull("ALL", "1.4.0")
    finally:
        release.set()
    installed = {p.name for p in root.iterdir() if p.name.startswith(("model_v", "data_v"))}
    assert installed  # the interrupt came after at least one install
    lock = (root / "fsartifacts.lock").read_text()
    assert {name for name in installed if f"remote: {name}" in lock} == installed
