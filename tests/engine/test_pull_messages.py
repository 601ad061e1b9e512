"""What a failed pull says and how often it tries: the local side is named as local, a
malformed manifest as malformed, and a copy damaged on the store is given up after one
retry instead of ``attempts`` tries."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from fsartifacts import Project
from fsartifacts.engine.install import Sink
from fsartifacts.errors import LocalError
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import BIN, command_env, fsartifacts, tree_digest, write_project

ARTIFACTS = """\
  artifacts:
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""
FOLDER_STORE = "repository:\n  url: file://./../store\n" + ARTIFACTS


def pushed(root: Path, config: str = FOLDER_STORE) -> Path:
    write_project(root, config, "1.0.0")
    (root / "models").mkdir()
    (root / "models" / "model.pkl").write_bytes(b"model bytes\n" * 1000)
    (root / "data" / "deep").mkdir(parents=True)
    (root / "data" / "a.csv").write_bytes(b"hello")
    (root / "data" / "deep" / "b.bin").write_bytes(b"b" * 300)
    assert {r.action for r in Project.load(start=root, environ={}).push("ALL")} == {"pushed"}
    # The project's folder moves on after the push: a pull must fetch each file from the
    # store, where a file it still held would be copied from it instead.
    (root / "data" / "a.csv").write_bytes(b"local")
    (root / "data" / "deep" / "b.bin").write_bytes(b"c" * 300)
    return root


def failed(root: Path, *args: str, unprivileged: bool = False) -> str:
    """Run ``pull ARGS -v``: it must fail (exit 1) with the project as it was; its stderr."""
    before = tree_digest(root)
    run = fsartifacts("pull", *args, "-v", cwd=root, timeout=120, unprivileged=unprivileged)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    assert tree_digest(root) == before
    return run.stderr


def test_a_damaged_copy_on_artifactory_is_given_up_after_one_retry(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    auth: {{authType: none}}\n" + ARTIFACTS
    )
    root = pushed(tmp_path / "project", config)
    server = artifactory_repo.server
    server.faults.corrupt_next(count=100, offset=7, path_contains="model_v1.0.0.pkl")
    server.clear_requests()
    stderr = failed(root, "model", "1.0.0", "-o")
    assert "the copy on the store is damaged (sha256 " in stderr
    assert ", recorded " in stderr and "push it again (-f/--force)" in stderr
    gets = [
        r for r in server.requests if r.method == "GET" and "model_v1.0.0.pkl" in unquote(r.path)
    ]
    assert len(gets) == 2  # the first try and one retry, not five


def test_a_folder_entry_shorter_than_its_manifest_is_damaged_not_retried_five_times(
    tmp_path: Path,
) -> None:
    root = pushed(tmp_path / "project")
    (tmp_path / "store" / "data_v1.0.0" / "deep" / "b.bin").write_bytes(b"b" * 10)
    stderr = failed(root, "data", "1.0.0", "-o")
    assert "the copy on the store is damaged (it sends 10 bytes" in stderr
    assert "lists 300 bytes" in stderr
    assert stderr.count("retrying ") == 1 and "(try 2 of 5)" in stderr


def test_a_file_changed_on_the_store_is_damaged_after_one_retry(tmp_path: Path) -> None:
    root = pushed(tmp_path / "project")
    stored = tmp_path / "store" / "model_v1.0.0.pkl"
    stored.write_bytes(stored.read_bytes().replace(b"model", b"MODEL", 1))
    stderr = failed(root, "model", "1.0.0", "-o")
    assert "the copy on the store is damaged (sha256 " in stderr
    assert stderr.count("retrying ") == 1 and "(try 2 of 5)" in stderr


def test_a_manifest_with_a_file_and_a_folder_of_one_name_is_called_malformed(
    tmp_path: Path,
) -> None:
    root = pushed(tmp_path / "project")
    manifest = tmp_path / "store" / "data_v1.0.0.manifest.json"
    doc = json.loads(manifest.read_text())
    entry = next(f for f in doc["files"] if f["path"] == "a.csv")
    doc["files"].append({**entry, "path": "a.csv/inner"})
    manifest.write_text(json.dumps(doc))
    stderr = failed(root, "data", "1.0.0", "-o")
    assert (
        "the folder manifest is malformed: 'a.csv' is listed both as a file and as a folder"
        in stderr
    )
    assert "already exists" not in stderr


def test_a_manifest_with_a_negative_size_is_called_malformed_and_not_retried(
    tmp_path: Path,
) -> None:
    root = pushed(tmp_path / "project")
    manifest = tmp_path / "store" / "data_v1.0.0.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"][0]["size"] = -1
    manifest.write_text(json.dumps(doc))
    stderr = failed(root, "data", "1.0.0", "-o")
    assert "the folder manifest is malformed" in stderr and "negative size (-1)" in stderr
    assert "retrying " not in stderr


def test_a_read_only_destination_is_named_as_local_not_blamed_on_the_store(
    tmp_path: Path,
) -> None:
    root = pushed(tmp_path / "project")
    (root / "models" / "model.pkl").write_bytes(b"the local copy")
    os.chmod(root / "models", 0o555)
    try:
        stderr = failed(root, "model", "1.0.0", "-o", unprivileged=True)
    finally:
        os.chmod(root / "models", 0o755)
    assert f"cannot write {root / 'models'}" in stderr
    assert "The local folder is not writable" in stderr
    assert "refused access" not in stderr and "not found on" not in stderr


def test_a_full_disk_names_the_local_path(tmp_path: Path) -> None:
    dest = tmp_path / "models" / "model.pkl"
    with open("/dev/full", "wb", buffering=0) as full, pytest.raises(LocalError) as raised:
        Sink(full, dest).write(b"x" * 4096)
    assert str(raised.value).startswith(f"cannot write {dest}: No space left on device.")
    assert "Free some space" in str(raised.value)


def test_a_store_failure_while_a_folder_file_downloads_is_the_stores_and_retried(
    tmp_path: Path, artifactory_repo: ArtifactoryRepo
) -> None:
    """A member's download wrote into a staged file whose block turned every OSError into
    "cannot write <that file>": a connection reset part way (an OSError of the store's)
    was blamed on the local disk, and as a local failure it was not tried again."""
    config = (
        f"repository:\n  artifactory:\n    url: {artifactory_repo.url}\n"
        f"    repo: {artifactory_repo.name}\n    auth: {{authType: none}}\n" + ARTIFACTS
    )
    root = pushed(tmp_path / "project", config)
    server = artifactory_repo.server
    server.faults.drop_after(100, path_contains="deep/b.bin")  # once: the next try succeeds
    run = fsartifacts("pull", "data", "1.0.0", "-o", cwd=root, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (root / "data" / "deep" / "b.bin").read_bytes() == b"b" * 300
    (root / "data" / "deep" / "b.bin").write_bytes(b"c" * 300)
    server.faults.fail_next(100, status=404, path_contains="deep/b.bin", methods=["GET"])
    stderr = failed(root, "data", "1.0.0", "-o")
    assert "HTTP 404" in stderr and "cannot write" not in stderr


def test_a_file_too_large_for_the_disk_names_the_staged_file_whatever_wrote_it(
    tmp_path: Path,
) -> None:
    """The kernel copies a large file from a folder store without the Sink: its EFBIG (or
    ENOSPC) must still be the local file's, not taken for the store's failure."""
    root = write_project(tmp_path / "project", FOLDER_STORE, "1.0.0")
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    assert Project.load(start=root, environ={}).push("data")[0].action == "pushed"
    shutil.rmtree(root / "data")

    def small_files_only() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death, past the limit
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, resource.RLIM_INFINITY))

    run = subprocess.run([str(BIN), "pull", "data", "1.0.0"], cwd=root, env=command_env(root),
                         capture_output=True, text=True, timeout=120,
                         preexec_fn=small_files_only)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "cannot write" in run.stderr and "File too large" in run.stderr, run.stderr
    assert "file size limit (ulimit -f)" in run.stderr, run.stderr  # and the way out
    assert not (root / "data").exists()
