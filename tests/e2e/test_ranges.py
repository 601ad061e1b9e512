"""Version ranges end to end: the CLI on a folder store and on moto, with the lock file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.engine.lockfile import LockFile
from tests.fixtures.cli import fsartifacts, write_project
from tests.fixtures.remotes import Remote, yaml_config

# The model asks for ^1.2 by default; the folder artifact has no version: of its own.
ARTIFACTS = """\
    - name: model
      file: model.pkl
      version: "^1.2"
    - name: data
      file: data
"""
ON_STORE = ("1.2.9", "1.2.10", "1.4.3", "1.5.0-rc.1", "2.0.0")


def push_versions(root: Path, versions: tuple[str, ...]) -> None:
    """The producer's side, in-process: the consumer's CLI is what is tested."""
    for version in versions:
        (root / "model.pkl").write_text(f"model {version}\n")
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / "part.csv").write_text(f"x\n{version}\n")
        project = Project.load(start=root, project_version=version, environ={})
        results = project.push("ALL")
        assert {r.action for r in results} == {"pushed"}, results


def pull(cwd: Path, *args: str) -> dict:
    run = fsartifacts("pull", *args, "--json", cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return {r["artifact"]: r["version"] for r in json.loads(run.stdout)["results"]}


def pulled_by_the_configured_range(remote: Remote, tmp_path: Path) -> tuple[Path, Path]:
    """(producer, consumer) after ON_STORE was pushed and the consumer pulled ALL with no
    VERSION: the model by its configured ^1.2 (not the pre-release, not 2.0.0), the folder
    artifact by LATEST against the project version 1.9.0, both in the lock file."""
    producer = write_project(tmp_path / "producer", yaml_config(remote, ARTIFACTS), "")
    push_versions(producer, ON_STORE)
    consumer = write_project(tmp_path / "consumer", yaml_config(remote, ARTIFACTS), "1.9.0")
    assert pull(consumer, "ALL") == {"model": "1.4.3", "data": "1.4.3"}
    lock = LockFile.read(consumer)
    model, data = lock.entry("model"), lock.entry("data")
    assert model is not None and (model.requested, model.version) == ("^1.2", "1.4.3")
    assert data is not None and (data.requested, data.version, data.kind) == (
        "LATEST", "1.4.3", "folder"
    )  # fmt: skip
    return producer, consumer


def listed_in_order(consumer: Path) -> dict:
    """1.2.10 > 1.2.9: numbers, not text."""
    listed = fsartifacts("list", "model", "~1.2", "--json", cwd=consumer)
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)["artifacts"]
    assert [v["version"] for v in shown["versions"]] == ["1.2.10", "1.2.9"]
    return shown


@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_a_range_resolves_from_the_s3_listing(remote: Remote, tmp_path: Path) -> None:
    """The range rules are the engine's, proven on the folder store below; here the names
    listed on S3 reach them (the pre-release, the next major and 1.2.10 among them)."""
    _, consumer = pulled_by_the_configured_range(remote, tmp_path)
    shown = listed_in_order(consumer)
    assert (shown["requested"], shown["resolved"], shown["latest"]) == ("~1.2", "1.2.10", "1.4.3")


@pytest.mark.parametrize("remote", ["folder"], indirect=True)
def test_ranges_pull_the_highest_match_and_the_lock_keeps_that(
    remote: Remote, tmp_path: Path
) -> None:
    producer, consumer = pulled_by_the_configured_range(remote, tmp_path)
    data = LockFile.read(consumer).entry("data")

    # A newer match appears: --locked still installs exactly what the lock resolved.
    push_versions(producer, ("1.6.0",))
    assert pull(consumer, "ALL", "--locked") == {"model": "1.4.3", "data": "1.4.3"}
    assert pull(consumer, "model", ">=1.2.0,<2", "--pre") == {"model": "1.6.0"}

    nothing = fsartifacts("pull", "model", "^3", cwd=consumer)
    assert nothing.returncode == 1, nothing.stderr
    assert "no version matching ^3" in nothing.stderr
    assert "Versions there: 2.0.0, 1.6.0, 1.5.0-rc.1, 1.4.3, 1.2.10, 1.2.9." in nothing.stderr
    malformed = fsartifacts("pull", "ALL", ">=1.0 ||", cwd=consumer)
    assert malformed.returncode == 2, malformed.stderr
    assert malformed.stderr.count("\n") == 1 and "'>=1.0 ||' is not a version or a range" in (
        malformed.stderr
    )
    model = LockFile.read(consumer).entry("model")
    assert LockFile.read(consumer).entry("data") == data
    assert model is not None and (model.requested, model.version) == (">=1.2.0,<2", "1.6.0")

    shown = listed_in_order(consumer)
    assert (shown["requested"], shown["resolved"], shown["latest"]) == ("~1.2", "1.2.10", "1.6.0")
    # Without a VERSION: every version, the configured range's answer marked.
    listed = fsartifacts("list", "model", cwd=consumer)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["2.0.0", "1.6.0", "1.5.0-rc.1", "1.4.3", "1.2.10", "1.2.9"]
    assert rows[1][-2:] == ["<-", "^1.2"] and "asks for ^1.2" in listed.stdout
