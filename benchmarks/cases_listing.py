"""Case ``listing``: ``fsartifacts list`` of a store holding 10,000 folder versions, beside
the same command on a store holding 10, in the same run on the same server.

The versions are written straight into the store (the folder store, and the local
Artifactory server's storage on disk), as pushes leave them: the folder with one
file, its manifest, and its listing note; building 10,000 by pushing would take
longer than everything measured here. Requests are counted in the Artifactory
server's own log; on the folder store, by a run of the same command under an audit
hook (``list_counted.py``) that counts the files opened and the folders listed
below the store. The target: the requests do not grow with the versions (one
listing, then what does not depend on their number).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench import Bench
from measure import Sample, Summary, repeat, run_measured
from projects import (
    ARTIFACTORY,
    FOLDER,
    StoreSpec,
    artifactory_store,
    folder_store,
    fsartifacts_command,
    write_project,
)
from servers import Artifactory, child_env, is_listing
from table import Row, seconds, times, verdict

HERE = Path(__file__).resolve().parent
FEW = 10


def listing(bench: Bench) -> list[Row]:
    versions = 1_000 if bench.quick else 10_000
    rows: list[Row] = []
    for kind in bench.on(FOLDER, ARTIFACTORY):
        bench.note(f"listing: list of {versions:,} folder versions on {kind}")
        rows += _listing_on(bench, kind, versions)
    return rows


def _listing_on(bench: Bench, kind: str, versions: int) -> list[Row]:
    root = bench.scratch(f"listing-{kind}")
    server: Artifactory | None = None
    if kind == FOLDER:
        store = root / "store"
        store.mkdir()
        spec: StoreSpec = folder_store(store)
    else:
        server = bench.artifactory()
        store = Path(server.server.root) / server.repo / "listing"
        store.mkdir(parents=True, exist_ok=True)
        spec = artifactory_store(server.url, server.repo, "listing")
    project = write_project(root / "project", spec, [("data", "data")], f"1.{versions}.0")
    env = child_env({"FSARTIFACTS_CACHE_DIR": str(root / "cache")})
    argv = [*fsartifacts_command(), "--json", "list", "data"]

    def measured(count: int) -> tuple[Summary, int, int]:
        """The median of the runs of `list`, its requests and its listings of the folder.

        One untimed run first: the Artifactory server hashes and records the files written
        behind its back on its first listing of them, which no real server does."""
        _checked(run_measured(argv, cwd=project, env=env), count)
        summary = repeat(bench.runs, lambda: _checked(run_measured(argv, cwd=project, env=env),
                                                      count))  # fmt: skip
        if server is not None:
            server.clear_requests()
            _checked(run_measured(argv, cwd=project, env=env), count)
            requests = server.requests()
            lists = sum(is_listing(kind, q, [spec.folder]) for q in requests)
            return summary, len(requests), lists
        counted = _counted(argv[1:], project, env, store)
        return summary, counted["opened"] + counted["listed"], counted["listed"]

    try:
        _write_versions(store, range(FEW))
        few, few_requests, _ = measured(FEW)
        _write_versions(store, range(FEW, versions))
        many, many_requests, many_lists = measured(versions)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
    label = f"list of {versions:,} folder versions"
    bench.detail(f"{label} on {kind}", "fsartifacts", many)
    bench.detail(f"{label} on {kind}", f"fsartifacts, {FEW} versions", few)
    return [
        Row(label, kind, "wall time", seconds(many.wall), f"{FEW} versions: {seconds(few.wall)}",
            times(few.wall / many.wall)),
        Row(label, kind, "requests", str(many_requests), f"{FEW} versions: {few_requests}",
            times(few_requests / many_requests), f"= {FEW} versions'",
            verdict(many_requests == few_requests)),
        Row(label, kind, "listings of the folder", str(many_lists), "", "", "1",
            verdict(many_lists == 1)),
    ]  # fmt: skip


def _write_versions(store: Path, minors: range) -> None:
    """Folder versions data_v1.MINOR.0 as a push leaves them: one file, the manifest, and
    the listing note with the folder's size."""
    from fsartifacts.engine import listnotes
    from fsartifacts.engine.manifest import Manifest, ManifestEntry

    for minor in minors:
        name = f"data_v1.{minor}.0"
        content = f"version {minor}\n".encode()
        (store / name).mkdir()
        (store / name / "part.csv").write_bytes(content)
        entry = ManifestEntry("part.csv", len(content), hashlib.sha256(content).hexdigest())
        manifest = Manifest("data", f"1.{minor}.0", (entry,), {"commit": "ab" * 20})
        (store / f"{name}.manifest.json").write_bytes(manifest.to_bytes())
        note = listnotes.note_name(name, manifest.size, manifest.provenance)
        assert note is not None
        (store / note).write_bytes(b"")


def _checked(sample: Sample, count: int) -> Sample:
    """A run of `list --json` that shows every version, each with its size."""
    listed = json.loads(sample.stdout)["artifacts"][0]["versions"]
    if len(listed) != count or any(v["size"] is None for v in listed):
        raise RuntimeError(f"list showed {len(listed)} versions of {count}, or no sizes")
    return sample


def _counted(args: list[str], project: Path, env: dict[str, str], store: Path) -> dict[str, int]:
    """The files opened and folders listed below ``store`` by one run of ``fsartifacts
    ARGS``, counted inside it."""
    done = subprocess.run(
        [sys.executable, str(HERE / "list_counted.py"), str(store), *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"list_counted.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    counts: dict[str, int] = json.loads(done.stderr.strip().splitlines()[-1])
    return counts
