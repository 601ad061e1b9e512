"""Provenance end to end: recorded at push on every store, shown by info and list."""

from __future__ import annotations

import json
from pathlib import Path

from fsartifacts import Project
from tests.engine.test_provenance import git_repo
from tests.fixtures.cli import fsartifacts, write_project
from tests.fixtures.remotes import Remote, yaml_config

ARTIFACTS = """\
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""


def project_files(root: Path, seed: str) -> None:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 100)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "part.csv").write_text(f"x\n{seed}\n")


def test_a_push_from_a_git_checkout_records_its_commit(remote: Remote, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    commit = git_repo(root)
    write_project(root, yaml_config(remote, ARTIFACTS), "1.0.0")
    project_files(root, "one")
    project = Project.load(start=root, environ={})
    assert project.push("ALL", message="nightly retrain").ok
    project.alias_set("model", "1.0.0", "prod")

    shown = fsartifacts("info", "model", "@prod", "--json", cwd=root)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert (info["version"], info["aliases"]) == ("1.0.0", ["prod"])
    assert info["size"] == len(b"model one\n") * 100 and len(info["sha256"]) == 64
    record = info["provenance"]
    assert (record["commit"], record["branch"]) == (commit, "main")
    assert record["dirty"] is False  # untracked files (the config, the artifacts) do not count
    assert record["message"] == "nightly retrain" and record["user"] and record["time"]

    folder = project.info("data", "1.0.0")
    assert folder.provenance["commit"] == commit and folder.aliases == []
    assert [(f.path, f.size) for f in folder.files or []] == [("part.csv", len("x\none\n"))]

    listed = fsartifacts("list", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    versions = {a["artifact"]: a["versions"][0] for a in json.loads(listed.stdout)["artifacts"]}
    assert (versions["model"]["commit"], versions["model"]["aliases"]) == (commit, ["prod"])
    assert (versions["data"]["commit"], versions["data"]["aliases"]) == (commit, [])

    # The provenance object of a file goes with it.
    assert ".model_v1.0.0.pkl.fsartifacts-provenance.json" in remote.names()
    project.alias_rm("model", "prod")  # rm leaves a version an alias points at
    assert project.rm("model", "1.0.0").ok
    assert not {n for n in remote.names() if n.startswith(".model_v1.0.0.pkl")}


def test_a_project_outside_git_pushes_without_a_commit(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root = write_project(
        tmp_path / "plain", f"repository:\n  url: {store.as_uri()}\n  artifacts:\n{ARTIFACTS}"
    )
    project_files(root, "plain")
    pushed = fsartifacts("push", "ALL", cwd=root)
    assert pushed.returncode == 0, pushed.stderr
    project = Project.load(start=root, environ={})
    for name in ("model", "data"):
        record = project.info(name).provenance
        assert "commit" not in record and record["user"] and record["fsartifacts"]
