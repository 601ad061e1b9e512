"""What the commands print: result lines, summaries, sizes, on a local folder store."""

from __future__ import annotations

import json
from pathlib import Path

from fsartifacts.cli.render import render_results
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.results import Result
from tests.fixtures.cli import fsartifacts, write_project

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: model
      file: models/model.pkl
    - name: features
      file: data/features
    - name: labels
      file: labels.json
      singular: true
"""

FOLDER_BYTES = 3 * 1024 * 1024 + 5


def build(root: Path, seed: str, version: str = "1.0.0") -> Path:
    write_project(root, CONFIG, version)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 1000)
    (root / "data" / "features" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "features" / "a.bin").write_bytes(b"a" * (3 * 1024 * 1024))
    (root / "data" / "features" / "deep" / "b.bin").write_bytes(b"bbbbb")
    (root / "labels.json").write_text('["cat"]')
    return root


def ok(*args: str, cwd: Path) -> str:
    run = fsartifacts(*args, cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_a_failure_is_printed_once_in_the_columns_of_the_others(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("sync", "push", "ALL", cwd=root)
    (root / "models" / "model.pkl").write_bytes(b"retrained")
    run = fsartifacts("sync", "push", "ALL", cwd=root)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    failed = [line for line in lines if line.startswith("failed")]
    assert len(failed) == 1, run.stdout
    # The same columns as the other lines: label, artifact, version.
    assert failed[0].split() == ["failed", "model", "1.0.0"]
    assert lines[1].index("features") == failed[0].index("model")
    assert "model: model" not in run.stdout + run.stderr
    # The reason is said once, on stderr.
    (reason,) = run.stderr.strip().splitlines()
    assert "already exists" in reason and "already exists" not in run.stdout
    assert lines[-1] == "3 artifacts: 2 up to date, 1 failed"

    doc = json.loads(fsartifacts("sync", "push", "ALL", "--json", cwd=root).stdout)
    counts = doc["summary"]
    assert (counts["up_to_date"], counts["skipped"], counts["failed"]) == (2, 0, 1)
    assert sum(n for k, n in counts.items() if k != "total") == counts["total"] == 3


def test_folder_sizes_come_from_the_manifest_everywhere(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("push", "ALL", cwd=root)
    ok("sync", "push", "ALL", "--project-version", "1.1.0", cwd=root)
    manifest = Manifest.from_bytes(
        (tmp_path / "store" / "features_v1.0.0.manifest.json").read_bytes(), "test"
    )
    assert manifest.size == FOLDER_BYTES

    listed = ok("list", "features", cwd=root)
    rows = [line for line in listed.splitlines() if "features_v" in line]
    assert len(rows) == 2 and all("3.0 MiB" in row for row in rows), listed
    assert rows[0].split()[-1] == "features_v1.1.0/"
    doc = json.loads(ok("list", "--json", cwd=root))
    versions = {a["artifact"]: a["versions"] for a in doc["artifacts"]}
    assert [v["size"] for v in versions["features"]] == [FOLDER_BYTES, FOLDER_BYTES]
    assert [v["remote"].rpartition("/")[0].rpartition("/")[2] for v in versions["features"]] == [
        "features_v1.1.0",
        "features_v1.0.0",
    ]
    assert all(v["remote"].endswith("/") for v in versions["features"])
    assert not any(v["remote"].endswith("/") for v in versions["model"])

    rm = fsartifacts("rm", "features", "1.0.0", "--dry-run", "--json", cwd=root)
    assert json.loads(rm.stdout)["results"][0]["bytes"] == FOLDER_BYTES
    assert "(3.0 MiB)" in ok("rm", "features", "1.0.0", "--dry-run", cwd=root)

    plan = ok("prune", "features", "--keep", "1", "--dry-run", cwd=root)
    assert "features_v1.0.0/  (3.0 MiB)" in plan, plan
    pruned = json.loads(ok("prune", "ALL", "--keep", "1", "--json", cwd=root))
    assert {r["artifact"]: r["bytes"] for r in pruned["results"]}["features"] == FOLDER_BYTES


def test_a_failed_pull_names_the_version_it_asked_for(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("push", "ALL", cwd=root)
    run = fsartifacts("pull", "ALL", "2.0.0", cwd=root)
    assert run.returncode == 1
    rows = [line.split() for line in run.stdout.splitlines()[:3]]
    assert rows[0] == ["failed", "model", "2.0.0"] and rows[1] == ["failed", "features", "2.0.0"]
    assert rows[2][0] == "pulled"  # the singular one has no version to miss


def test_prune_counts_versions(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        ok("push", "model", "--project-version", version, cwd=root)
    out = ok("prune", "model", "--keep", "1", cwd=root)
    assert out.splitlines()[-1] == "2 versions: 2 deleted", out


def test_summaries_count_what_the_command_acts_on() -> None:
    deleted = [Result("claim", "deleted", remote="x"), Result("temporary", "deleted", remote="y")]
    assert render_results(deleted, show_summary=True, command="gc").endswith(
        "2 leftovers: 2 deleted"
    )
    assert render_results(deleted, show_summary=True, command="rm").endswith(
        "2 versions: 2 deleted"
    )


def test_an_up_to_date_sync_pull_points_the_pull_way(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("push", "ALL", cwd=root)
    ok("sync", "pull", cwd=root)
    again = ok("sync", "pull", cwd=root)
    rows = again.splitlines()[:-1]
    assert len(rows) == 3 and all(" <- " in row and " -> " not in row for row in rows), again
    assert again.splitlines()[-1] == "3 artifacts: 3 up to date"


def test_pull_o_of_a_folder_reports_the_local_files_it_removes(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("push", "ALL", cwd=root)
    features = root / "data" / "features"
    (features / "only-local.txt").write_text("mine")
    (features / "deep" / "scratch.tmp").write_text("mine too")
    (features / "odd\nname.txt").write_text("a newline in its name")

    dry = ok("pull", "features", "LATEST", "-o", "--dry-run", cwd=root)
    assert "only-local.txt (local only, would be removed)" in dry, dry
    assert "deep/scratch.tmp (local only, would be removed)" in dry
    assert (features / "only-local.txt").exists()

    doc = json.loads(ok("pull", "features", "LATEST", "-o", "--dry-run", "--json", cwd=root))
    assert doc["results"][0]["removed"] == ["deep/scratch.tmp", "odd\nname.txt", "only-local.txt"]

    run = ok("pull", "features", "LATEST", "-o", cwd=root)
    lines = run.splitlines()
    assert lines[0].startswith("pulled")
    assert lines[1:] == [
        "  - deep/scratch.tmp (local only, removed)",
        "  - odd\\nname.txt (local only, removed)",
        "  - only-local.txt (local only, removed)",
    ]
    assert not (features / "only-local.txt").exists()
    assert sorted(p.name for p in features.rglob("*") if p.is_file()) == ["a.bin", "b.bin"]


def test_a_prefix_is_prepended_as_is(tmp_path: Path) -> None:
    root = build(tmp_path / "p", "one")
    ok("push", "model", "-p", "exp-", cwd=root)
    assert (tmp_path / "store" / "exp-model_v1.0.0.pkl").is_file()
    ok("pull", "model", "LATEST", "-p", "exp-", cwd=root)
    assert (root / "exp-model_v1.0.0.pkl").read_bytes() == (root / "models/model.pkl").read_bytes()
