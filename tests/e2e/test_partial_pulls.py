"""Partial pulls of a folder artifact on every store: --include / --exclude, recorded in
the lock file and honoured from it, and the files of a version listed with their sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.engine.lockfile import LockFile
from tests.fixtures.cli import fsartifacts, tree_digest, write_project
from tests.fixtures.remotes import Remote, yaml_config

ARTIFACTS = """\
    - name: data
      file: data
    - name: model
      file: model.pkl
"""
PUSHED = {
    "a.csv": b"a,1\n",
    "b.csv": b"b,2\n",
    "deep/c.csv": b"c,3\n",
    "images/x.png": b"x" * 3000,
    "images/y.png": b"y" * 2000,
    "notes.txt": b"notes\n",
}


def project_with_data(root: Path, config: str) -> Path:
    write_project(root, config)
    for rel, data in PUSHED.items():
        (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "data" / rel).write_bytes(data)
    (root / "model.pkl").write_bytes(b"weights")
    return root


def test_a_partial_pull_takes_the_selection_and_keeps_the_local_files_outside_it(
    remote: Remote, tmp_path: Path
) -> None:
    root = project_with_data(tmp_path / "p", yaml_config(remote, ARTIFACTS))
    assert Project.load(start=root, environ={}).push("ALL").ok
    data = root / "data"
    (data / "a.csv").write_bytes(b"changed here\n")  # in the selection: pulled again
    (data / "extra.csv").write_bytes(b"not on the store\n")  # in it, not listed: removed
    (data / "mine.txt").write_bytes(b"mine\n")  # outside it: kept
    (data / "images" / "x.png").write_bytes(b"edited locally")  # outside it: kept as is
    (data / "deep" / "c.csv").write_bytes(b"excluded\n")  # excluded: kept as is

    (result,) = Project.load(start=root, environ={}).pull(
        "data", "1.0.0", override=True, include=["*.csv"], exclude=["deep/"]
    )
    assert result.action == "pulled", result.error
    assert result.removed == ["extra.csv"]
    assert result.bytes == len(PUSHED["a.csv"]) + len(PUSHED["b.csv"])
    assert {p: (data / p).read_bytes() for p in ("a.csv", "b.csv")} == {
        "a.csv": PUSHED["a.csv"],
        "b.csv": PUSHED["b.csv"],
    }
    assert (data / "mine.txt").read_bytes() == b"mine\n"
    assert (data / "images" / "x.png").read_bytes() == b"edited locally"
    assert (data / "deep" / "c.csv").read_bytes() == b"excluded\n"
    assert not (data / "extra.csv").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # nothing staged

    entry = LockFile.read(root).entry("data")
    assert entry is not None
    assert (entry.include, entry.exclude) == (("*.csv",), ("deep/",))
    assert "- '*.csv'" in (root / "fsartifacts.lock").read_text()

    # --locked takes the recorded selection again, and nothing else.
    (data / "a.csv").write_bytes(b"changed again\n")
    (again,) = Project.load(start=root, environ={}).pull(
        "data", "1.0.0", locked=True, override=True
    )
    assert again.action == "pulled", again.error
    assert (data / "a.csv").read_bytes() == PUSHED["a.csv"]
    assert (data / "images" / "x.png").read_bytes() == b"edited locally"
    # sync pull within the selection: the local files outside it do not make it stale.
    (same,) = Project.load(start=root, environ={}).sync_pull(
        "data", "1.0.0", locked=True, override=True
    )
    assert (same.action, same.detail) == ("skipped", "up to date"), same.error


def test_a_partial_pull_without_override_holds_only_the_selection(
    remote: Remote, tmp_path: Path
) -> None:
    root = project_with_data(tmp_path / "p", yaml_config(remote, ARTIFACTS))
    project = Project.load(start=root, environ={})
    assert project.push("data").ok
    (result,) = project.pull("data", "1.0.0", include=["images/"], exclude=["y.png"])
    assert result.action == "pulled", result.error
    assert set(tree_digest(root / "data_v1.0.0")) == {"images/x.png"}
    copy, manifest = project.files("data", "1.0.0")
    assert copy.name == "data_v1.0.0"
    assert {f.path: f.size for f in manifest.files} == {p: len(d) for p, d in PUSHED.items()}


def test_selections_that_cannot_be_meant_are_refused(remote: Remote, tmp_path: Path) -> None:
    root = project_with_data(tmp_path / "p", yaml_config(remote, ARTIFACTS))
    project = Project.load(start=root, environ={})
    assert project.push("ALL").ok
    before = tree_digest(root)
    (none,) = project.pull("data", "1.0.0", include=["*.parquet"])
    assert none.exit_code == 2 and "include='*.parquet' matches none of its 6 files" in str(
        none.error
    )
    (file,) = project.pull("model", "1.0.0", include=["*.csv"])
    assert file.exit_code == 2 and "takes files of a folder artifact" in str(file.error)
    with pytest.raises(Exception, match="name it instead of ALL"):
        project.pull("ALL", "LATEST", include=["*.csv"])
    with pytest.raises(Exception, match="cannot go with locked=True"):
        project.pull("data", "1.0.0", include=["*.csv"], locked=True)
    assert tree_digest(root) == before


def test_the_command_line_pulls_part_of_a_folder_and_lists_its_files(tmp_path: Path) -> None:
    """Through the installed command, on a folder store: the flags, repeated, and
    `list --files` in text and JSON (four runs of the command)."""
    root = project_with_data(tmp_path / "p", "repository:\n  url: file://./store\n  artifacts:\n"
                             + ARTIFACTS)  # fmt: skip
    assert fsartifacts("push", "data", cwd=root).returncode == 0
    pulled = fsartifacts(
        "pull", "data", "1.0.0", "--include", "*.csv", "--include", "images/",
        "--exclude", "deep/", "--exclude", "y.png", cwd=root,
    )  # fmt: skip
    assert pulled.returncode == 0, pulled.stderr
    assert set(tree_digest(root / "data_v1.0.0")) == {"a.csv", "b.csv", "images/x.png"}

    listed = fsartifacts("list", "--files", "data", "1.0.0", cwd=root)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[:2] == ["    4 B  a.csv", "    4 B  b.csv"]  # sizes right-aligned
    assert "2.9 KiB  images/x.png" in listed.stdout
    assert lines[-1].startswith("6 files, 4.9 KiB in file://")
    shown = json.loads(fsartifacts("list", "--files", "data", "LATEST", "--json", cwd=root).stdout)
    assert {f["path"]: f["size"] for f in shown["files"]} == {p: len(d) for p, d in PUSHED.items()}
