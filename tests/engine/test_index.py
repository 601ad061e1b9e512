"""The remote index: one listing of the store per run, however many versions it holds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import semver

from fsartifacts import Project
from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.runner import Engine
from fsartifacts.stores.artifactory.settings import ArtifactorySettings
from fsartifacts.stores.artifactory.store import open_artifactory_store
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.cli import write_project

DATA = Artifact("data", "data")
VERSIONS = 100  # the request count does not grow with it; the server's listing does
NEWEST = semver.Version.parse(f"1.{VERSIONS}.0")


def engine_on(repo: ArtifactoryRepo, root: Path) -> Engine:
    transfer = TransferSettings(attempts=2, timeout=30, jobs=3)
    store = open_artifactory_store(ArtifactorySettings(repo.url, repo.name, path="team"),
                                   None, transfer)  # fmt: skip
    return Engine(store, root, transfer=transfer)


def test_latest_among_many_folder_versions_is_one_listing(
    artifactory_repo: ArtifactoryRepo, artifactory_server: ArtifactoryServer, tmp_path: Path
) -> None:
    """LATEST among 100 folder versions: one listing of the store, one manifest read,
    then the files, as with 10,000 (which the local server takes over a minute to list).
    The old versions are written straight into its storage: their manifests list no files."""
    server = artifactory_server
    folder = Path(server.root) / artifactory_repo.name / "team"
    folder.mkdir(parents=True)
    empty = Manifest("data", None, ()).to_bytes()
    for minor in range(VERSIONS):
        (folder / f"data_v1.{minor}.0").mkdir()
        (folder / f"data_v1.{minor}.0.manifest.json").write_bytes(empty)
    project = tmp_path / "project"
    for name in ("a.bin", "b.bin", "c.bin"):
        (project / "data").mkdir(parents=True, exist_ok=True)
        (project / "data" / name).write_bytes(os.urandom(1000))
    assert engine_on(artifactory_repo, project).push(DATA, NEWEST).action == "pushed"
    server.clear_requests()

    result = engine_on(artifactory_repo, project).pull(DATA, "LATEST", NEWEST)
    assert (result.action, result.version) == ("pulled", str(NEWEST)), result.error
    listings = [r.path for r in server.requests if "/api/storage/" in r.path]
    assert len(listings) == 1, listings
    downloads = [r.path for r in server.requests if r.method == "GET" and "/api/" not in r.path]
    assert len(downloads) == 1 + 3, downloads  # the manifest, then the three files


def test_a_note_older_than_its_version_describes_an_earlier_copy_and_is_not_shown(
    tmp_path: Path,
) -> None:
    # An rm by a tool that writes no notes leaves the note of the version it removed; the
    # same version pushed again by such a tool is then listed beside a note of the copy
    # before it. A note is written after its version is published, so one older than
    # the version's manifest (or file) is not its own.
    config = "repository:\n  url: file://./../store\n  artifacts:\n    - {name: data, file: data}\n"
    root = write_project(tmp_path / "project", config, "1.0.0")
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_bytes(b"hello")
    assert Project.load(start=root, environ={}).push("data").ok
    store = tmp_path / "store"
    (note,) = store.glob(".data_v1.0.0.fsartifacts-listed.*")
    assert note.name.endswith(".s5")
    hour_ago = note.stat().st_mtime - 3600
    os.utime(note, (hour_ago, hour_ago))  # written when the first copy was pushed
    # The version removed and pushed again (300 bytes now) by a tool writing no notes:
    # pushed to an empty store, its version (not its note) moved into this one.
    old = tmp_path / "old"
    store.rename(old)
    (root / "data" / "a.csv").write_bytes(b"b" * 300)
    assert Project.load(start=root, environ={}).push("data").ok
    shutil.rmtree(old / "data_v1.0.0")
    for name in ("data_v1.0.0", "data_v1.0.0.manifest.json"):
        (store / name).rename(old / name)
    shutil.rmtree(store)
    old.rename(store)
    (copy,) = Project.load(start=root, environ={}).copies("data")
    assert copy.size in (None, 300)


class _CountedEntry(dict[str, Any]):
    """A listing entry that counts how often its name is read."""

    reads = 0

    def __getitem__(self, key: str) -> Any:
        if key == "name":
            _CountedEntry.reads += 1
        return super().__getitem__(key)


def test_the_copies_of_many_artifacts_read_the_listing_back_once_not_once_per_artifact(
    tmp_path: Path,
) -> None:
    """``ALL`` of 50 artifacts x 20 versions: asking each artifact's copies (or its
    aliases) reads each entry of the one listing a bounded number of times in all. Read
    back per artifact, a pull of ALL cost artifacts x entries (50 x 1,000 names parsed,
    most of a second of the interpreter's time at 20 ms latency)."""
    from fsspec.implementations.local import LocalFileSystem

    from fsartifacts.engine.aliases import Aliases
    from fsartifacts.engine.index import RemoteIndex
    from fsartifacts.stores.local import LocalOps
    from fsartifacts.stores.store import Store

    folder = tmp_path / "store"
    folder.mkdir()
    artifacts = [Artifact(f"a{i:02d}", f"a{i:02d}.bin") for i in range(50)]
    for artifact in artifacts:
        for minor in range(20):
            (folder / f"{artifact.name}_v1.{minor}.0.bin").write_bytes(b"x")
    ops = LocalOps(LocalFileSystem())
    real_listing = ops.listing
    ops.listing = lambda path: [_CountedEntry(e) for e in real_listing(path)]  # type: ignore[method-assign]
    index = RemoteIndex(Store(ops.fs, str(folder), ops, str(folder)), lambda exc, what: exc)  # type: ignore[arg-type,return-value]
    entries = len(index.listing())
    _CountedEntry.reads = 0

    for artifact in artifacts:
        copies = index.copies(artifact)
        assert [str(c.version) for c in copies[:2]] == ["1.19.0", "1.18.0"]
        assert index.entry(copies[0].name) is not None
    assert _CountedEntry.reads <= 10 * entries, _CountedEntry.reads

    # The aliases of every artifact (alias list ALL, prune ALL): the same.
    aliases = Aliases(index.store, index)
    aliases.set(artifacts[7], index.copies(artifacts[7])[1], "prod")
    index.invalidate()
    entries = len(index.listing())
    _CountedEntry.reads = 0
    found = {a.name: [(x.name, str(x.version)) for x in aliases.list(a)] for a in artifacts}
    assert found == {a.name: [("prod", "1.18.0")] if a is artifacts[7] else [] for a in artifacts}
    assert _CountedEntry.reads <= 10 * entries, _CountedEntry.reads


def test_a_file_copy_listed_without_a_date_takes_none_from_a_manifest_of_its_name(
    tmp_path: Path,
) -> None:
    """Only a folder is dated by its manifest: a file of the same name keeps the date its
    own entry gives (none here)."""
    from fsspec.implementations.local import LocalFileSystem

    from fsartifacts.engine.index import RemoteIndex
    from fsartifacts.stores.local import LocalOps
    from fsartifacts.stores.store import Store

    listing = [
        {"name": "r/tool_v1.0.0", "type": "file", "size": 1},
        {"name": "r/tool_v1.0.0.manifest.json", "type": "file", "size": 2, "mtime": 1.7e9},
    ]
    ops = LocalOps(LocalFileSystem())
    ops.listing = lambda path: listing  # type: ignore[method-assign]
    index = RemoteIndex(Store(ops.fs, "r", ops, "r"), lambda exc, what: exc)  # type: ignore[arg-type,return-value]
    (copy,) = index.copies(Artifact("tool", "bin/tool"))
    assert (copy.kind, copy.modified) == ("file", None)
