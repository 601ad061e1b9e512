"""fsartifacts:// read by pandas and fsspec on a folder store: ranges, aliases, pickles."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec
import pandas as pd
import pytest

from fsartifacts import Project
from fsartifacts.versionedfs import VersionedFileSystem
from tests.fixtures.dask import WORKERS_START
from tests.fixtures.remotes import Remote, yaml_config

if TYPE_CHECKING:
    from distributed import Client

CONFIG = """\
repository:
  url: file://./.artifacts
  artifacts:
    - {name: table, file: table.csv}
    - {name: features, file: features}
"""


def push(root: Path, version: str) -> None:
    """Version ``version`` of both artifacts: a CSV, and a folder of two parquet parts."""
    n = int(version.split(".")[1])
    pd.DataFrame({"x": [n, n + 1], "v": [version, version]}).to_csv(root / "table.csv", index=False)
    write_parts(root, version)
    results = Project.load(start=root, project_version=version, environ={}).push("ALL")
    assert {r.action for r in results} == {"pushed"}, results


def write_parts(root: Path, version: str) -> None:
    (root / "features").mkdir(exist_ok=True)
    for part in (0, 1):
        frame = pd.DataFrame({"part": [part], "v": [version]})
        frame.to_parquet(root / "features" / f"part-{part:04d}.parquet", index=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "fsartifacts.yaml").write_text(CONFIG)
    (root / "VERSION").write_text("2.0.0\n")
    push(root, "1.0.0")
    push(root, "1.1.0")
    push(root, "2.0.0")
    Project.load(start=root, environ={}).alias_set("features", "1.0.0", "prod")
    return root


def test_pandas_reads_a_csv_and_parquet_by_range_and_alias(project: Path) -> None:
    options = {"config": str(project / "fsartifacts.yaml")}
    table = pd.read_csv("fsartifacts://table@^1.0", storage_options=options)
    assert list(table["v"]) == ["1.1.0", "1.1.0"]
    prod = pd.read_parquet("fsartifacts://features@prod/", storage_options=options)
    assert sorted(prod["part"]) == [0, 1] and set(prod["v"]) == {"1.0.0"}
    one = pd.read_parquet("fsartifacts://features@~1.1/part-0001.parquet", storage_options=options)
    assert list(one["v"]) == ["1.1.0"]
    # No @: LATEST against the project version; an exact version; the alias spelt @@.
    assert set(pd.read_csv("fsartifacts://table", storage_options=options)["v"]) == {"2.0.0"}
    fs = fsspec.filesystem("fsartifacts", **options)
    assert fs.resolved("fsartifacts://features@@prod/part-0000.parquet") == "1.0.0"
    assert fs.resolved("table@1.0.0") == "1.0.0"
    assert sorted(fs.ls("features@prod", detail=False)) == [
        "features@prod/part-0000.parquet", "features@prod/part-0001.parquet",
    ]  # fmt: skip


def test_the_config_is_found_from_the_working_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("FSARTIFACTS_VERSION", "1.5.0")  # LATEST: the highest 1.x up to 1.5.0
    with fsspec.open("fsartifacts://table@LATEST", "rb") as f:
        assert b"1.1.0" in f.read()


def test_a_pickle_reads_what_it_resolved_after_a_newer_push(project: Path, tmp_path: Path) -> None:
    fs = fsspec.filesystem("fsartifacts", config=str(project / "fsartifacts.yaml"))
    assert isinstance(fs, VersionedFileSystem)
    assert fs.resolved("table@^1.0") == "1.1.0"
    blob = tmp_path / "fs.pickle"
    blob.write_bytes(pickle.dumps(fs))
    push(project, "1.2.0")
    assert fsspec.filesystem("fsartifacts", config=str(project / "fsartifacts.yaml")).resolved(
        "table@^1.0"
    ) == "1.2.0"  # fmt: skip
    assert fs.resolved("table@^1.0") == "1.1.0"  # fixed for the instance's life

    # Elsewhere (another process, another working directory): the same version.
    worker = subprocess.run(
        [
            sys.executable, "-c",
            "import pickle, sys; fs = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "print(fs.resolved('table@^1.0')); print(fs.cat_file('table@^1.0').decode())",
            str(blob),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.splitlines()[0] == "1.1.0"
    assert "1.1.0" in worker.stdout and "1.2.0" not in worker.stdout


def test_read_only_and_missing_versions(project: Path) -> None:
    fs = fsspec.filesystem("fsartifacts", config=str(project / "fsartifacts.yaml"))
    before = sorted(str(p) for p in (project / ".artifacts").rglob("*"))
    for write in (
        lambda: fs.open("table@^1.0", "wb"),
        lambda: fs.pipe_file("table@^1.0", b"x"),
        lambda: fs.rm("features@prod", recursive=True),
        lambda: fs.mkdir("features@prod/new"),
    ):
        with pytest.raises(PermissionError, match="fsartifacts:// is read-only"):
            write()
    with pytest.raises(FileNotFoundError, match=r"no version matching \^5.*Versions there"):
        fs.open("table@^5")
    with pytest.raises(FileNotFoundError, match="is a file artifact"):
        fs.open("table@^1.0/inside.csv")
    assert sorted(str(p) for p in (project / ".artifacts").rglob("*")) == before


def test_dask_workers_read_the_version_the_client_resolved(
    project: Path, dask_client: Client
) -> None:
    # Two worker processes: each unpickles the filesystem the client resolved with.
    import dask.dataframe as dd

    pd.DataFrame({"part": [0], "v": ["1.2.0"]}).to_parquet(
        project / "features" / "part-0000.parquet"
    )  # the next push's content
    config = str(project / "fsartifacts.yaml")
    frame = dd.read_parquet("fsartifacts://features@^1.0/", storage_options={"config": config})
    # A newer match is pushed after the job resolved, before any worker reads.
    Project.load(config, project_version="1.2.0").push("features")
    # Both workers registered with the scheduler before the job runs: counted after it, a
    # worker still registering on a loaded machine was not there yet.
    dask_client.wait_for_workers(2, timeout=WORKERS_START)
    parts = dask_client.compute(frame).result()
    assert sorted(set(parts["v"])) == ["1.1.0"]
    assert sorted(parts["part"].tolist()) == [0, 1]
    assert (project / ".artifacts" / "features_v1.2.0.manifest.json").is_file()


@pytest.mark.parametrize("remote", ["s3", "artifactory"], indirect=True)
def test_reads_go_through_the_stores_own_filesystem(remote: Remote, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    artifacts = "    - {name: table, file: table.csv}\n    - {name: features, file: features}\n"
    (root / "fsartifacts.yaml").write_text(yaml_config(remote, artifacts))
    (root / "VERSION").write_text("1.1.0\n")
    push(root, "1.1.0")
    options = {"config": str(root / "fsartifacts.yaml")}
    assert set(pd.read_csv("fsartifacts://table@^1.0", storage_options=options)["v"]) == {"1.1.0"}
    parts = pd.read_parquet("fsartifacts://features@^1.0/", storage_options=options)
    assert sorted(parts["part"]) == [0, 1] and set(parts["v"]) == {"1.1.0"}
