"""`list` and `pull ALL LATEST` on a store with many folder versions: one listing, and no
manifest read of a version that is neither shown in detail nor installed.

Each store counts what reached it its own way: the local Artifactory server's request
log, a counting proxy in front of moto, and on a folder store the files opened and
folders listed below it (audit events of this process). The versions below the newest
are written straight through the store's filesystem, as a push leaves them, rather
than pushed one by one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.cli.commands import main
from fsartifacts.engine.manifest import Manifest, ManifestEntry
from tests.fixtures.audited import watching
from tests.fixtures.cli import write_project
from tests.fixtures.sides import Side

FEW, MANY = 2, 30  # old versions: the requests of `list` must not grow from one to the other
ARTIFACTS = """\
    - name: data
      file: data
    - name: model
      file: model.bin
"""


@pytest.fixture
def side(side: Side) -> Iterator[Side]:
    """The shared ``side``, with this process's reads below a folder store recorded."""
    if side.kind != "folder":
        yield side
        return
    with watching(side.base, side.local):
        yield side


def old_versions(side: Side, minors: range) -> None:
    """Folder versions data 1.MINOR.0 of one file each, written as an earlier fsartifacts
    pushed them (the folder, then its manifest), in two batches of requests."""
    files, manifests = {}, {}
    for minor in minors:
        content = b"x" * (minor + 1)
        name = f"{side.base}/data_v1.{minor}.0"
        if side.kind == "folder":
            side.fs.makedirs(name, exist_ok=True)
        files[f"{name}/part.bin"] = content
        entry = ManifestEntry("part.bin", len(content), hashlib.sha256(content).hexdigest())
        manifest = Manifest("data", f"1.{minor}.0", (entry,), {"commit": "ab" * 20})
        manifests[f"{name}.manifest.json"] = manifest.to_bytes()
    side.fs.pipe(files)
    side.fs.pipe(manifests)


def producer(root: Path, side: Side, version: str) -> Path:
    write_project(root, f"repository:\n{side.config}  artifacts:\n{ARTIFACTS}", version)
    (root / "data" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "a.bin").write_bytes(b"a" * 3000)
    (root / "data" / "deep" / "b.bin").write_bytes(b"b" * 30)
    (root / "model.bin").write_bytes(b"m" * 500)
    return root


def cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with contextlib.chdir(root):
        code = main(["--no-progress", *args])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


def test_list_and_pull_latest_of_many_folder_versions_are_one_listing(
    side: Side, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = producer(tmp_path / "producer", side, f"1.{MANY + 1}.0")
    old_versions(side, range(FEW))
    assert Project.load(start=root, environ={}).push("ALL").ok
    side.clear()
    text = cli(root, "list", capsys=capsys)
    few = side.requests()
    rows = [line.split() for line in text.splitlines() if "data_v" in line]
    assert rows[0][:3] == [f"1.{MANY + 1}.0", "3.0", "KiB"], text
    assert rows[1][1] == "-", text

    old_versions(side, range(FEW, MANY))
    side.clear()
    listed = json.loads(cli(root, "--json", "list", capsys=capsys))
    many = side.requests()
    assert len(many) == len(few), (few, many)
    assert [what for what, _ in many].count("list") == 1, many
    assert not [path for _, path in many if path.endswith(".manifest.json")], many

    (data, model) = listed["artifacts"]
    assert len(data["versions"]) == MANY + 1 and data["latest"] == f"1.{MANY + 1}.0"
    newest, *older = data["versions"]
    # The push recorded the folder's size where the listing shows it.
    assert (newest["version"], newest["size"]) == (f"1.{MANY + 1}.0", 3030)
    assert all(v["modified"] for v in data["versions"]), data  # S3 lists no folder's date
    # Versions pushed before that was recorded: their size is unknown to a listing.
    assert {v["size"] for v in older} == {None}
    assert model["versions"][0]["size"] == 500

    # Its files, and so its size, are one manifest away.
    side.clear()
    files = cli(root, "list", "--files", "data", "1.5.0", capsys=capsys)
    assert files.splitlines()[-1].startswith("1 file, 6 B in "), files
    manifests = [p for _, p in side.requests() if p.endswith(".manifest.json")]
    assert [p.rpartition("/")[2] for p in manifests] == ["data_v1.5.0.manifest.json"], manifests

    # pull ALL LATEST reads the one manifest it installs, and nothing of another version.
    consumer = tmp_path / "consumer"
    write_project(consumer, (root / "fsartifacts.yaml").read_text(), f"1.{MANY + 5}.0")
    side.clear()
    doc = json.loads(cli(consumer, "--json", "pull", "ALL", "LATEST", capsys=capsys))
    assert {r["version"] for r in doc["results"]} == {f"1.{MANY + 1}.0"}, doc
    requests = side.requests()
    assert [what for what, _ in requests].count("list") == 1, requests
    manifests = [p.rpartition("/")[2] for _, p in requests if p.endswith(".manifest.json")]
    assert manifests == [f"data_v1.{MANY + 1}.0.manifest.json"], requests
    assert not [p for _, p in requests if "_v1." in p and f"_v1.{MANY + 1}.0" not in p], requests

    # Replaced with --force: the listing shows the new size, from the one note left.
    (root / "data" / "a.bin").write_bytes(b"a" * 100)
    assert Project.load(start=root, environ={}).push("data", force=True).ok
    replaced = json.loads(cli(root, "--json", "list", "data", capsys=capsys))
    assert replaced["artifacts"][0]["versions"][0]["size"] == 130
    notes = [n for n in side.fs.ls(side.base, detail=False) if "fsartifacts-listed" in n]
    assert [n.rpartition("/")[2] for n in notes] == [
        f".data_v1.{MANY + 1}.0.fsartifacts-listed.s130"
    ]
