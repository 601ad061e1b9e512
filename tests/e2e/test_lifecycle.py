"""Lock file, rm, prune, pins and sync, end to end on every kind of store.

The commands run through the CLI's ``main`` in this process (:func:`in_process`): these
tests are about what they do to the stores and the lock file; the installed command's
process (its start, signals, exit) is tested in ``test_cli_*``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fsartifacts import Project
from tests.fixtures.cli import in_process, tree_digest, write_project
from tests.fixtures.remotes import Remote, yaml_config

ARTIFACTS = """\
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""


def project(root: Path, remote: Remote, version: str, seed: str | None = None) -> Path:
    write_project(root, yaml_config(remote, ARTIFACTS), version)
    if seed is not None:
        (root / "models").mkdir(exist_ok=True)
        (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 3000)
        (root / "data" / "deep").mkdir(parents=True, exist_ok=True)
        (root / "data" / "part.csv").write_text(f"x\n{seed}\n")
        (root / "data" / "deep" / "more.bin").write_bytes(seed.encode() * 100)
    return root


def push_in_process(root: Path, which: str = "ALL", *, force: bool = False) -> None:
    """The producer's side, in-process: the consumer's CLI is what these tests are about."""
    results = Project.load(start=root, environ={}).push(which, force=force)
    assert {r.action for r in results} == {"pushed"}, results


def run_ok(*args: str, cwd: Path) -> dict:
    run = in_process(*args, "--json", cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def test_lock_file_and_locked_pull(remote: Remote, tmp_path: Path) -> None:
    producer = project(tmp_path / "producer", remote, "1.0.0", seed="one")
    run_ok("push", "ALL", cwd=producer)
    consumer = project(tmp_path / "consumer", remote, "1.9.0")
    run_ok("pull", "ALL", "LATEST", cwd=consumer)
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.0.0.pkl" in lock and "remote: data_v1.0.0" in lock
    first = tree_digest(consumer)

    # A newer compatible version appears; the locked clone still gets 1.0.0.
    project(producer, remote, "1.5.0", seed="five")
    push_in_process(producer)
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("fsartifacts.yaml", "VERSION", "fsartifacts.lock"):
        shutil.copy(consumer / name, clone / name)
    doc = run_ok("pull", "ALL", "LATEST", "--locked", cwd=clone)
    assert {r["version"] for r in doc["results"]} == {"1.0.0"}
    assert tree_digest(clone) == first
    assert (clone / "fsartifacts.lock").read_text() == lock

    # sync pull --locked skips what already matches, and moves nothing.
    doc = run_ok("sync", "pull", "--locked", cwd=clone)
    assert [r["action"] for r in doc["results"]] == ["skipped", "skipped"]

    # A locked copy that was replaced, or removed, fails with exit 1.
    project(producer, remote, "1.0.0", seed="replaced")
    push_in_process(producer, "model", force=True)
    changed = in_process("pull", "model", "LATEST", "--locked", cwd=clone)
    assert (
        changed.returncode == 1 and "differs from what fsartifacts.lock recorded" in changed.stderr
    )
    assert tree_digest(clone) == first
    Project.load(start=producer, environ={}).rm("data", "1.0.0")
    gone = in_process("pull", "data", "LATEST", "--locked", cwd=clone)
    assert gone.returncode == 1 and "gone from the store" in gone.stderr


def test_rm_and_prune(remote: Remote, tmp_path: Path) -> None:
    producer = project(tmp_path / "producer", remote, "1.0.0", seed="x")
    versions = ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0", "2.2.0"]
    for version in versions:
        # Seeded in-process: the CLI is what is under test below, and each S3 command
        # pays a second of imports.
        (producer / "data" / "part.csv").write_text(version)
        seeded = Project.load(start=producer, project_version=version, environ=remote.env)
        assert {r.action for r in seeded.push("ALL")} == {"pushed"}
    before = remote.digest()

    missing = in_process("rm", "model", "1.9.9", cwd=producer)
    assert missing.returncode == 1 and "Versions there: 2.2.0, 2.1.0" in missing.stderr
    assert run_ok("rm", "model", "1.0.0", "--dry-run", cwd=producer)["results"][0]["action"] == (
        "planned"
    )
    dry = in_process("prune", "--keep", "2", "--dry-run", cwd=producer)
    assert dry.returncode == 0, dry.stderr
    assert "to delete (6)" in dry.stdout and "data_v1.1.0/" in dry.stdout
    assert remote.digest() == before

    pruned = in_process("prune", "ALL", "--keep", "2", cwd=producer)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.index("to delete (6)") < pruned.stdout.index("deleted")
    kept = {"1.2.0", "1.3.0", "2.1.0", "2.2.0"}
    assert remote.names() == (
        {f"model_v{v}.pkl" for v in kept}
        | {f".model_v{v}.pkl.fsartifacts-provenance.json" for v in kept}  # pruned with theirs
        | {f"data_v{v}" for v in kept}
        | {f"data_v{v}.manifest.json" for v in kept}
        | {f".data_v{v}.fsartifacts-listed.s{len(v) + 100}" for v in kept}  # sizes, for list
    )

    run_ok("rm", "data", "2.2.0", cwd=producer)
    assert "data_v2.2.0" not in remote.names()
    assert "data_v2.2.0.manifest.json" not in remote.names()
    doc = run_ok("list", "data", "--project-version", "2.9.0", cwd=producer)
    assert doc["artifacts"][0]["latest"] == "2.1.0"
    # A folder's size is its manifest's total, on every store; its remote ends in "/".
    for listed in doc["artifacts"][0]["versions"]:
        version = listed["version"]
        assert listed["size"] == len(version) + 100, listed  # part.csv + deep/more.bin
        assert listed["remote"].endswith(f"data_v{version}/")


def test_pinned_versions(remote: Remote, tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_project(
        root,
        yaml_config(
            remote,
            "    - {name: model, file: model.pkl, version: 1.2.0}\n"
            "    - {name: other, file: other.pkl}\n",
        ),
        "3.0.0",
    )
    (root / "model.pkl").write_bytes(b"pinned")
    (root / "other.pkl").write_bytes(b"other")
    doc = run_ok("push", "ALL", cwd=root)
    assert {r["artifact"]: r["version"] for r in doc["results"]} == {
        "model": "1.2.0",
        "other": "3.0.0",
    }
    assert {"model_v1.2.0.pkl", "other_v3.0.0.pkl"} <= remote.names()
    pulled = run_ok("pull", "model", "LATEST", cwd=root)
    assert pulled["results"][0]["version"] == "1.2.0"
    listed = in_process("list", "model", cwd=root)
    assert "pinned to 1.2.0" in listed.stdout


def test_sync_push_twice_and_sync_pull_up_to_date(remote: Remote, tmp_path: Path) -> None:
    producer = project(tmp_path / "producer", remote, "1.0.0", seed="s")
    first = run_ok("sync", "push", cwd=producer)
    assert [r["action"] for r in first["results"]] == ["pushed", "pushed"]
    before = remote.digest()
    second = run_ok("sync", "push", cwd=producer)
    assert [r["detail"] for r in second["results"]] == ["up to date", "up to date"]
    assert remote.digest() == before

    consumer = project(tmp_path / "consumer", remote, "1.0.0")
    pulled = run_ok("sync", "pull", cwd=consumer)
    assert [r["action"] for r in pulled["results"]] == ["pulled", "pulled"]
    local_before = {p: p.stat().st_mtime_ns for p in consumer.rglob("*") if p.is_file()}
    if remote.server is not None:
        remote.server.clear_requests()
    again = run_ok("sync", "pull", cwd=consumer)
    assert [r["action"] for r in again["results"]] == ["skipped", "skipped"]
    local_after = {p: p.stat().st_mtime_ns for p in consumer.rglob("*") if p.is_file()}
    changed = {p for p in local_after if local_before.get(p) != local_after[p]}
    assert changed <= {consumer / "fsartifacts.lock"}
    if remote.server is not None:
        content = [
            r
            for r in remote.server.requests
            if r.method == "GET" and "/api/" not in r.path and not r.path.endswith(".json")
        ]
        assert content == [], content
    # A changed local file is fetched again, and only that one.
    (consumer / "model_v1.0.0.pkl").write_bytes(b"tampered")
    third = run_ok("sync", "pull", cwd=consumer)
    assert [r["action"] for r in third["results"]] == ["pulled", "skipped"]
    assert (consumer / "model_v1.0.0.pkl").read_bytes() == (
        producer / "models/model.pkl"
    ).read_bytes()


SINGULAR = "    - name: labels\n      file: labels.json\n      singular: true\n"


def test_push_of_a_version_already_there_is_refused_whatever_its_content(
    remote: Remote, tmp_path: Path
) -> None:
    # push means what it means in skelebot: the same version twice is an error, even
    # with identical bytes; sync push is the one that is safe to repeat.
    producer = project(tmp_path / "producer", remote, "1.0.0", seed="one")
    write_project(producer, yaml_config(remote, ARTIFACTS + SINGULAR), "1.0.0")
    (producer / "labels.json").write_text('["cat"]')
    first = run_ok("push", "ALL", cwd=producer)
    assert [r["action"] for r in first["results"]] == ["pushed", "pushed", "pushed"]
    urls = {r["artifact"]: r["remote"] for r in first["results"]}
    before = remote.digest()

    again = in_process("push", "ALL", cwd=producer)
    assert again.returncode == 1, again.stdout + again.stderr
    assert (
        f"model 1.0.0 already exists at {urls['model']}: bump the version, or push with "
        "-f/--force." in again.stderr
    )
    assert f"data 1.0.0 already exists at {urls['data']}: bump the version" in again.stderr
    assert f"labels already exists at {urls['labels']} and is singular" in again.stderr
    assert "force=True" not in again.stderr and "Traceback" not in again.stderr
    assert remote.digest() == before

    # sync push: identical copies are up to date (exit 0), nothing written.
    synced = run_ok("sync", "push", "ALL", cwd=producer)
    assert [r["detail"] for r in synced["results"]] == ["up to date"] * 3
    assert remote.digest() == before

    # Different content: both refuse it; --force replaces it.
    project(producer, remote, "1.0.0", seed="two")
    write_project(producer, yaml_config(remote, ARTIFACTS + SINGULAR), "1.0.0")
    changed = in_process("sync", "push", "model", cwd=producer)
    assert changed.returncode == 1
    assert f"model 1.0.0 already exists at {urls['model']} with different content" in (
        changed.stderr
    )
    assert remote.digest() == before
    forced = run_ok("push", "ALL", "-f", cwd=producer)
    assert [r["action"] for r in forced["results"]] == ["pushed", "pushed", "pushed"]
    consumer = project(tmp_path / "consumer", remote, "1.0.0")
    run_ok("pull", "ALL", "1.0.0", cwd=consumer)
    assert (consumer / "model_v1.0.0.pkl").read_bytes() == (
        producer / "models/model.pkl"
    ).read_bytes()
    assert tree_digest(consumer / "data_v1.0.0") == tree_digest(producer / "data")


def test_the_python_api_names_the_keyword_not_the_flag(remote: Remote, tmp_path: Path) -> None:
    producer = project(tmp_path / "producer", remote, "1.0.0", seed="one")
    push_in_process(producer, "model")
    (refused,) = Project.load(start=producer, environ={}).push("model")
    assert refused.action == "failed"
    assert refused.error is not None and refused.error.endswith(
        "bump the version, or push with force=True."
    )
    assert "--force" not in refused.error
    assert str(refused.exception) == refused.error
