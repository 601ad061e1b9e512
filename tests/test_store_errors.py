"""Mistakes and store failures end in one clear line and the right exit code, never a
traceback or a false success: stores that do not exist, unknown artifact names, and
deletes the store refuses.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fsartifacts.artifactory import ArtifactoryFileSystem

from .cli_helpers import fsartifacts, write_project
from .fixtures_artifactory import ArtifactoryRepo

MODEL = "    - name: model\n      file: models/model.pkl\n"


def artifactory_project(root: Path, url: str, repo: str, artifacts: str = MODEL) -> Path:
    config = (
        f"repository:\n  artifactory:\n    url: {url}\n    repo: {repo}\n"
        f"    path: team/models\n    auth: {{authType: none}}\n  artifacts:\n{artifacts}"
    )
    project = write_project(root, config)
    (project / "models").mkdir()
    (project / "models" / "model.pkl").write_bytes(b"the model\n")
    return project


def json_doc(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("fsartifacts: error")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- rm and prune on store errors -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["no_overwrite", "server_error"])
def test_rm_refused_by_the_store_is_exit_1_with_its_json_document(
    fault: str, artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    project = artifactory_project(tmp_path / "p", artifactory_repo.url, artifactory_repo.name)
    remote = f"{artifactory_repo.name}/team/models/model_v1.0.0.pkl"
    ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True).pipe_file(
        remote, b"published"
    )
    if fault == "no_overwrite":
        artifactory_repo.server.no_overwrite = True
    else:
        artifactory_repo.server.faults.fail_next(10, 500, methods=["DELETE"])
    env = {"FSARTIFACTS_ATTEMPTS": "2", "FSARTIFACTS_TIMEOUT": "5"}
    for args in (["rm", "model", "1.0.0"], ["prune", "--keep", "1", "--project-version", "1.0.1"]):
        if args[0] == "prune":
            ArtifactoryFileSystem(
                url=artifactory_repo.url, anon=True, skip_instance_cache=True
            ).pipe_file(remote.replace("1.0.0", "1.0.1"), b"newer")
        text = fsartifacts(*args, cwd=project, env=env)
        assert text.returncode == 1, text.stderr
        line = one_line_error(text)
        assert "model" in line
        assert ("needs DELETE permission" if fault == "no_overwrite" else "HTTP 500") in line
        as_json = fsartifacts(*args, "--json", cwd=project, env=env)
        assert as_json.returncode == 1, as_json.stderr
        doc = json_doc(as_json)
        assert doc["ok"] is False
        assert [r["action"] for r in doc["results"]] == ["failed"]
        assert "Traceback" not in as_json.stderr


# -- an artifact name that is not in the config ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["push", "nope"],
        ["pull", "nope", "LATEST"],
        ["sync", "push", "nope"],
        ["sync", "pull", "nope"],
        ["list", "nope"],
        ["rm", "nope", "1.0.0"],
        ["prune", "nope", "--keep", "1"],
    ],
    ids=lambda args: "-".join(args[:2]),
)
def test_an_unknown_artifact_is_a_usage_error_listing_the_configured_names(
    args: list[str], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    artifacts = MODEL + "    - name: labels\n      file: labels.json\n"
    project = write_project(
        tmp_path / "p", f"repository:\n  url: {store.as_uri()}\n  artifacts:\n{artifacts}"
    )
    run = fsartifacts(*args, cwd=project)
    assert run.returncode == 2, run.stderr
    line = one_line_error(run)
    assert "'nope'" in line and "configured: model, labels" in line
