"""The Python API on a folder store: loading, queries, credentials (pushes and pulls:
test_projecttransfers.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import semver

from fsartifacts import ConfigError, Project
from fsartifacts.stores.artifactory.auth import Credentials
from tests.fixtures.cli import write_api_project


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    return write_api_project(tmp_path / "p")


def test_load_push_pull_versions_resolve_open(project_root: Path) -> None:
    project = Project.load(start=project_root, environ={})
    assert project.version == semver.Version.parse("1.4.0")
    assert [r.action for r in project.push("ALL")] == ["pushed", "pushed"]
    Project.load(start=project_root, project_version="1.2.0", environ={}).push("model")
    Project.load(start=project_root, project_version="2.0.0", environ={}).push("model")

    assert [str(v) for v in project.versions("model")] == ["2.0.0", "1.4.0", "1.2.0"]
    assert str(project.resolve("model", "LATEST")) == "1.4.0"
    assert str(project.resolve("model", "1.2.0")) == "1.2.0"
    assert str(project.resolve("model", "~1.2")) == "1.2.0"  # ranges, here as everywhere
    assert str(project.resolve("model", ">=1.0.0,<3")) == "2.0.0"
    assert str(project.resolve("model")) == "1.4.0"  # no version: the artifact's default
    with pytest.raises(ConfigError, match=r"'1\.2\.3\.4' is not a version or a range"):
        project.resolve("model", "1.2.3.4")
    with project.open("model", "^1.3") as f:
        assert f.read() == b"weights"
    with pytest.raises(ConfigError, match="folder artifact"):
        project.open("data")

    results = project.pull("ALL", "LATEST")
    assert [(r.artifact, r.action, r.version) for r in results] == [
        ("model", "pulled", "1.4.0"),
        ("data", "pulled", "1.4.0"),
    ]
    assert (project_root / "model_v1.4.0.pkl").read_bytes() == b"weights"
    assert results[0].to_dict()["sha256"] == results[0].sha256
    assert [r.detail for r in project.sync_push("all")] == ["up to date", "up to date"]


def test_redact_hides_every_form_of_the_secret(project_root: Path) -> None:
    project = Project.load(start=project_root, environ={})
    project.credentials = Credentials("user_pass", "alice", "s3cr3t!pw", source="--token")
    basic = base64.b64encode(b"alice:s3cr3t!pw").decode()
    text = f"failed with s3cr3t!pw and Basic {basic} and s3cr3t%21pw"
    shown = project.redact(text)
    assert "s3cr3t" not in shown and basic not in shown
