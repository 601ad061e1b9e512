"""End to end: the installed command on a local folder store (issue: core)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.cli import BIN, fsartifacts, interruptible, tree_digest, write_project

CONFIG = """\
repository:
  url: file://./../store
  artifacts:
    - name: model
      file: models/model.pkl
    - name: features
      file: data/features.csv
    - name: embeddings
      file: data/embeddings
    - name: labels
      file: labels.json
      singular: true
"""


def build(root: Path, seed: str, version: str = "1.0.0") -> Path:
    write_project(root, CONFIG, version)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 5000)
    (root / "data" / "embeddings" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "features.csv").write_text(f"id,value\n1,{seed}\n")
    (root / "data" / "embeddings" / "a.bin").write_bytes(seed.encode() * 300)
    (root / "data" / "embeddings" / "deep" / "b.bin").write_bytes(b"b" + seed.encode())
    (root / "labels.json").write_text('["cat", "dog"]')
    return root


def test_the_whole_job_end_to_end(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    store = tmp_path / "store"

    first = fsartifacts("push", "ALL", cwd=producer)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in store.iterdir() if not p.name.endswith(".sha256")) == [
        ".embeddings_v1.0.0.fsartifacts-listed.s904",  # the folder's size, for list
        ".features_v1.0.0.csv.fsartifacts-provenance.json",  # where each file came from
        ".labels.json.fsartifacts-provenance.json",
        ".model_v1.0.0.pkl.fsartifacts-provenance.json",
        "embeddings_v1.0.0",
        "embeddings_v1.0.0.manifest.json",
        "features_v1.0.0.csv",
        "labels.json",
        "model_v1.0.0.pkl",
    ]
    assert "4 artifacts: 4 pushed" in first.stdout

    # A second sync push of changed content is refused and the remote copy stays.
    remote_before = tree_digest(store)
    (producer / "models" / "model.pkl").write_bytes(b"model two\n" * 5000)
    refused = fsartifacts("sync", "push", "ALL", cwd=producer)
    assert refused.returncode == 1
    assert "model_v1.0.0.pkl with different content" in refused.stderr
    assert "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "3 up to date" in refused.stdout
    assert tree_digest(store) == remote_before

    forced = fsartifacts("push", "model", "-f", cwd=producer)
    assert forced.returncode == 0, forced.stderr
    assert (store / "model_v1.0.0.pkl").read_bytes() == b"model two\n" * 5000

    # Newer builds: 1.2.0 and 2.0.0 (another major); the singular labels are unchanged.
    build(producer, "twelve", version="1.2.0")
    assert fsartifacts("sync", "push", "ALL", cwd=producer).returncode == 0
    build(producer, "two", version="2.0.0")
    assert fsartifacts("sync", "push", "ALL", cwd=producer).returncode == 0
    build(producer, "twelve", version="1.2.0")  # the tree as it was at 1.2.0, to compare

    # A consumer at 1.5.0: LATEST is 1.2.0, never 2.0.0.
    consumer = write_project(tmp_path / "consumer", CONFIG, "1.5.0")
    pulled = fsartifacts("pull", "ALL", "latest", "--json", cwd=consumer)
    assert pulled.returncode == 0, pulled.stderr
    doc = json.loads(pulled.stdout)
    assert doc["ok"] is True
    assert {r["artifact"]: r["version"] for r in doc["results"]} == {
        "model": "1.2.0",
        "features": "1.2.0",
        "embeddings": "1.2.0",
        "labels": None,
    }
    assert all(r["action"] == "pulled" and r["sha256"] for r in doc["results"])
    assert (consumer / "model_v1.2.0.pkl").read_bytes() == (
        producer / "models/model.pkl"
    ).read_bytes()
    assert tree_digest(consumer / "embeddings_v1.2.0") == tree_digest(producer / "data/embeddings")

    # -o replaces the working file and mirrors the working folder.
    build(consumer, "stale", version="1.5.0")
    (consumer / "data" / "embeddings" / "only-local.txt").write_text("goes away")
    override = fsartifacts("pull", "ALL", "LATEST", "-o", cwd=consumer)
    assert override.returncode == 0, override.stderr
    assert (consumer / "models/model.pkl").read_bytes() == (
        producer / "models/model.pkl"
    ).read_bytes()
    assert tree_digest(consumer / "data/embeddings") == tree_digest(producer / "data/embeddings")

    # A version that does not exist: exit 1, listing the versions that do.
    missing = fsartifacts("pull", "model", "1.1.0", cwd=consumer)
    assert missing.returncode == 1
    assert "Versions there: 2.0.0, 1.2.0, 1.0.0" in missing.stderr

    # --dry-run changes nothing on either side.
    local_before, remote_before = tree_digest(consumer), tree_digest(store)
    for args in (["push", "ALL", "-f"], ["pull", "ALL", "LATEST", "-o"], ["pull", "ALL", "1.0.0"]):
        dry = fsartifacts(*args, "--dry-run", "--json", cwd=consumer)
        assert dry.returncode == 0, dry.stderr
        assert {r["action"] for r in json.loads(dry.stdout)["results"]} <= {"planned", "skipped"}
    assert tree_digest(consumer) == local_before
    assert tree_digest(store) == remote_before


def test_global_options_before_or_after_the_command(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    before = fsartifacts("--json", "--project-version", "3.1.0", "push", "model", cwd=producer)
    after = fsartifacts("push", "features", "--json", "--project-version", "3.1.0", cwd=producer)
    for run in (before, after):
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["results"][0]["version"] == "3.1.0"


def test_list_marks_latest(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    for version in ("1.0.0", "1.3.0", "2.0.0"):
        assert (
            fsartifacts("push", "model", "--project-version", version, cwd=producer).returncode == 0
        )
    listed = fsartifacts("list", "model", "--project-version", "1.9.0", cwd=producer)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if "model_v" in line]
    assert [line.split()[0] for line in lines] == ["2.0.0", "1.3.0", "1.0.0"]
    assert lines[1].endswith("<- LATEST")
    doc = json.loads(
        fsartifacts("list", "--json", "--project-version", "1.9.0", cwd=producer).stdout
    )
    assert doc["artifacts"][0]["latest"] == "1.3.0"


def test_skelebot_A8_prefixed_artifacts_can_be_pulled(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    assert fsartifacts("push", "model", "-p", "retrain_", cwd=producer).returncode == 0
    plain = fsartifacts("pull", "model", "LATEST", cwd=producer)
    assert plain.returncode == 1
    prefixed = fsartifacts("pull", "model", "LATEST", "--prefix", "retrain_", cwd=producer)
    assert prefixed.returncode == 0, prefixed.stderr
    assert (producer / "retrain_model_v1.0.0.pkl").exists()
    bad = fsartifacts("pull", "model", "LATEST", "-p", "../x", cwd=producer)
    assert bad.returncode == 2 and "--prefix" in bad.stderr


def test_skelebot_A7_latest_in_any_case(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    assert fsartifacts("push", "model", cwd=producer).returncode == 0
    for word in ("latest", "Latest", "LATEST"):
        run = fsartifacts("pull", "model", word, cwd=producer)
        assert run.returncode == 0, run.stderr


def test_unknown_artifact_names_the_configured_ones(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    run = fsartifacts("push", "nope", cwd=producer)
    assert run.returncode == 2
    assert "model, features, embeddings, labels" in run.stderr


def test_validate_shows_the_resolved_config_without_secrets(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    (producer / "fsartifacts.yaml").write_text(
        CONFIG.replace(
            "  url: file://./../store\n",
            # An option the filesystem takes (s3fs's session token): validate checks that.
            "  url: s3://bucket/models\n  options: {token: s3cr3t-value}\n",
        )
    )
    run = fsartifacts("validate", "--json", cwd=producer)
    assert run.returncode == 0, run.stderr
    assert "s3cr3t-value" not in run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert doc["project_version"] == "1.0.0"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("repository: [unclosed\n", "line"),
        ("repository:\n  url: 5\n  artifacts: []\n", "repository.url"),
        (
            "repository:\n  url: file://x\n  artifacts:\n    - name: m\n",
            "repository.artifacts[0].file",
        ),
        (
            "repository:\n  s3: {bucket: b}\n  artifactory: {url: h, repo: r}\n  artifacts: []\n",
            "repository",
        ),
        (
            "repository:\n  artifactory: {url: h, repo: r, auth: {authType: kerberos}}\n"
            "  artifacts: []\n",
            "authType",
        ),
        ("repository:\n  url: file://x\n  artifacts:\n    - {name: m, file: ../m.pkl}\n", "file"),
        (
            "repository:\n  url: file://x\n  artifacts:\n"
            "    - {name: m, file: a}\n    - {name: m, file: b}\n",
            "m",
        ),
        ("version: one\nrepository:\n  url: file://x\n  artifacts: []\n", "version"),
        ("repository:\n  url: file://x\n  bogus: 1\n  artifacts: []\n", "repository.bogus"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(
    tmp_path: Path, config: str, expected: str
) -> None:
    write_project(tmp_path, config)
    run = fsartifacts("push", "ALL", cwd=tmp_path)
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert expected in lines[0]
    assert "Traceback" not in run.stderr


def test_bad_project_version_and_bad_prefix_exit_2(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    bad_version = fsartifacts("push", "ALL", "--project-version", "1.2", cwd=producer)
    assert bad_version.returncode == 2 and "1.2" in bad_version.stderr
    bad_prefix = fsartifacts("push", "ALL", "-p", "a/b", cwd=producer)
    assert bad_prefix.returncode == 2 and "--prefix" in bad_prefix.stderr
    usage = fsartifacts("push", cwd=producer)
    assert usage.returncode == 2


def test_a_skelebot_project_works_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "skel"
    write_project(
        root,
        """\
name: test-project
description: a skelebot project
maintainer: Data Science <ds@example.com>
version: 0.0.1
language: Python
primaryExe: CMD
dependencies:
  - pyyaml
ports:
  - "8888:8888"
components:
  jupyter:
    port: 8888
    folder: notebooks
  repository:
    url: file://./remote
    artifacts:
      name: model
      file: model.pkl
jobs:
  - name: train
    source: jobs/train.py
""",
        version="1.1.0",
        name="skelebot.yaml",
    )
    (root / "model.pkl").write_bytes(b"m")
    run = fsartifacts("push", "ALL", cwd=root)
    assert run.returncode == 0, run.stderr
    assert (root / "remote" / "model_v1.1.0.pkl").read_bytes() == b"m"


ORIGINAL = b"the working copy, to be kept intact\n" * 100
BIG = 384 * 1024 * 1024


def pull_interrupted_by(sig: signal.Signals, tmp_path: Path) -> tuple[int, str, Path, Path]:
    """Push a large model, then signal a `pull -o` of it once its temporary has bytes.

    Returns the pull's exit status, its stderr, the project and the working file.
    """
    producer = build(tmp_path / "producer", "one")
    big = producer / "models" / "model.pkl"
    with open(big, "wb") as f:
        for _ in range(BIG // (1024 * 1024)):
            f.write(os.urandom(1024 * 1024))
    assert fsartifacts("push", "model", cwd=producer).returncode == 0
    big.write_bytes(ORIGINAL)

    env = {k: v for k, v in os.environ.items() if not k.startswith("FSARTIFACTS_")}
    proc = subprocess.Popen(
        [str(BIN), "pull", "model", "LATEST", "-o"],
        cwd=producer,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_size > 0 for p in big.parent.glob(".model.pkl.fsartifacts-*.part")):
            proc.send_signal(sig)
            seen = True
            break
        time.sleep(0.002)
    _, stderr = proc.communicate(timeout=60)
    assert seen, "the pull finished before the test could interrupt it"
    return proc.returncode, stderr, producer, big


def test_a_pull_killed_mid_transfer_leaves_the_destination_as_it_was(tmp_path: Path) -> None:
    status, _, producer, big = pull_interrupted_by(signal.SIGKILL, tmp_path)
    assert status == -signal.SIGKILL
    assert big.read_bytes() == ORIGINAL
    assert list(big.parent.glob(".model.pkl.fsartifacts-*.part")), "the killed pull left its temp"

    rerun = fsartifacts("pull", "model", "LATEST", "-o", cwd=producer)
    assert rerun.returncode == 0, rerun.stderr
    assert not list(big.parent.glob(".*.part"))
    assert big.stat().st_size == BIG


def test_an_interrupted_pull_exits_130_and_cleans_up(tmp_path: Path) -> None:
    status, stderr, _, big = pull_interrupted_by(signal.SIGINT, tmp_path)
    assert status == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert big.read_bytes() == ORIGINAL
    assert not list(big.parent.glob(".*.part"))


def test_a_name_with_a_trailing_newline_does_not_shadow_a_real_version(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "real")
    store = tmp_path / "store"
    assert fsartifacts("push", "model", cwd=producer).returncode == 0
    real = (store / "model_v1.0.0.pkl").read_bytes()
    # Someone who may only create objects plants a look-alike, with a matching sidecar.
    evil = b"evil\n" * 100
    (store / "model_v1.0.0.pkl\n").write_bytes(evil)
    digest = hashlib.sha256(evil).hexdigest()
    (store / "model_v1.0.0.pkl\n.sha256").write_text(f"{digest}  model_v1.0.0.pkl\n\n")

    consumer = build(tmp_path / "consumer", "other")
    pulled = fsartifacts("pull", "model", "1.0.0", "-o", cwd=consumer)
    assert pulled.returncode == 0, pulled.stderr
    assert (consumer / "models" / "model.pkl").read_bytes() == real  # not the planted copy
    lock = (consumer / "fsartifacts.lock").read_text()
    assert "remote: model_v1.0.0.pkl\n" in lock and "\\n" not in lock
    listed = fsartifacts("list", "model", cwd=consumer)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == 1 and "model_v1.0.0.pkl  <- LATEST" in rows[0], listed.stdout

    # A lock file naming the planted copy (hand-edited, or written before this rule) is refused.
    (consumer / "fsartifacts.lock").write_text(
        lock.replace("model_v1.0.0.pkl", '"model_v1.0.0.pkl\\n"')
    )
    locked = fsartifacts("pull", "model", "1.0.0", "-o", "--locked", cwd=consumer)
    assert locked.returncode == 2, locked.stderr
    assert "control characters" in locked.stderr and "Traceback" not in locked.stderr
    assert (consumer / "models" / "model.pkl").read_bytes() == real


def test_a_symlinked_folder_leading_outside_the_project_is_refused(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "one")
    assert fsartifacts("push", "ALL", cwd=producer).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.pkl").write_text("someone else's file")
    (outside / "keep.txt").write_text("and their other files")
    consumer = build(tmp_path / "consumer", "two")
    shutil.rmtree(consumer / "models")
    (consumer / "models").symlink_to(outside, target_is_directory=True)
    before = tree_digest(outside)

    for command in (["validate"], ["pull", "model", "1.0.0", "-o"], ["push", "model"]):
        run = fsartifacts(*command, cwd=consumer)
        assert run.returncode == 2, (command, run.stdout, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "outside the project root" in lines[0], run.stderr
    assert tree_digest(outside) == before


def test_a_symlink_that_appears_after_loading_is_refused_before_writing(tmp_path: Path) -> None:
    from fsartifacts import Project

    producer = build(tmp_path / "producer", "one")
    assert fsartifacts("push", "ALL", cwd=producer).returncode == 0
    outside = tmp_path / "outside"
    (outside / "embeddings").mkdir(parents=True)
    (outside / "model.pkl").write_text("someone else's file")
    (outside / "embeddings" / "theirs.bin").write_text("theirs")
    consumer = build(tmp_path / "consumer", "two")
    project = Project.load(start=consumer, environ={})
    # Loaded and checked; now the folders are swapped for links that lead out.
    shutil.rmtree(consumer / "models")
    shutil.rmtree(consumer / "data")
    (consumer / "models").symlink_to(outside, target_is_directory=True)
    (consumer / "data").symlink_to(outside, target_is_directory=True)
    before = tree_digest(outside)

    results = project.pull("ALL", "1.0.0", override=True)
    by_name = {r.artifact: r for r in results}
    for name in ("model", "embeddings", "features"):
        assert by_name[name].action == "failed" and by_name[name].exit_code == 2
        assert "outside the project root" in (by_name[name].error or "")
    assert by_name["labels"].action == "pulled"
    assert tree_digest(outside) == before


HOSTILE_NAMES = [
    "model_v1.9.0.pkl\n",
    "model_v1.9.1.pkl\r",
    "model_v1.9.2\x1b.pkl",
    "model\uff3fv1.9.3.pkl",  # fullwidth low line
    "model_\u1d651.9.4.pkl",  # subscript v
    "model_v\u0661.9.5.pkl",  # Arabic-Indic one
    "model_v1.9.6.pkl\u200b",  # zero-width space
    "..model_v1.9.7.pkl",
    "model_v1.9.8.pkl" + "x" * 200,
    "model_v1.9.9..pkl",
    "..\\model_v1.9.10.pkl",
    " model_v1.9.11.pkl",
    "model_v1.9.12.pkl\x7f",
]


def outside(base: Path) -> list[str]:
    """What is beside the projects and the store (the CLI helper's hash caches aside)."""
    return sorted(p.name for p in base.iterdir() if not p.name.startswith(".hash-cache-"))


def test_hostile_names_on_the_store_are_never_pulled_nor_written_outside(tmp_path: Path) -> None:
    producer = build(tmp_path / "producer", "real")
    store = tmp_path / "store"
    assert fsartifacts("push", "ALL", cwd=producer).returncode == 0
    evil = b"evil\n"
    digest = hashlib.sha256(evil).hexdigest()
    for name in HOSTILE_NAMES:
        (store / name).write_bytes(evil)
        (store / f"{name}.sha256").write_text(f"{digest}  {name}\n")
    # A folder version whose name ends in a newline, its manifest leading out of the folder.
    (store / "embeddings_v1.9.0\n").mkdir()
    (store / "embeddings_v1.9.0\n" / "x").write_bytes(evil)
    manifest = {
        "format": "fsartifacts-manifest/1", "artifact": "embeddings", "version": "1.9.0",
        "files": [{"path": "../../../escaped.txt", "size": 5, "sha256": digest}],
    }  # fmt: skip
    (store / "embeddings_v1.9.0\n.manifest.json").write_text(json.dumps(manifest))
    consumer = build(tmp_path / "consumer", "other", version="1.99.0")
    outside_before = outside(tmp_path)

    pulled = fsartifacts("--json", "pull", "ALL", "LATEST", cwd=consumer)
    doc = json.loads(pulled.stdout)
    by_name = {r["artifact"]: r for r in doc["results"]}
    assert by_name["model"]["version"] == "1.0.0", pulled.stdout
    assert by_name["embeddings"]["version"] == "1.0.0", pulled.stdout
    assert (consumer / "model_v1.0.0.pkl").read_bytes() == (store / "model_v1.0.0.pkl").read_bytes()
    assert tree_digest(consumer / "embeddings_v1.0.0") == tree_digest(store / "embeddings_v1.0.0")
    assert outside(tmp_path) == outside_before
    assert not any(p.read_bytes() == evil for p in consumer.rglob("*") if p.is_file())
    listed = fsartifacts("list", cwd=consumer)
    assert listed.returncode == 0, listed.stderr
    assert "1.9." not in listed.stdout, listed.stdout


def test_a_user_without_a_home_folder_pushes_and_pulls_with_the_hash_cache_in_memory(
    tmp_path: Path,
) -> None:
    # A container run under a bare uid with $HOME unset: the hash cache has no home to
    # live in. It is kept for the run only, never in a "~" folder where the command runs
    # (the push failed with an internal error: Path.home() raised).
    producer = build(tmp_path / "producer", "one")
    pushed = fsartifacts("push", "ALL", cwd=producer, homeless=True)
    assert pushed.returncode == 0, pushed.stderr
    consumer = write_project(tmp_path / "consumer", CONFIG, "1.0.0")
    pulled = fsartifacts("pull", "embeddings", "1.0.0", cwd=consumer, homeless=True)
    assert pulled.returncode == 0, pulled.stderr
    assert tree_digest(consumer / "embeddings_v1.0.0") == tree_digest(
        producer / "data" / "embeddings"
    )
    assert not list(tmp_path.rglob("~"))


def test_an_interrupted_pull_of_many_small_files_exits_130_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) while the store's
    worker processes copy their share of a folder: the pull ends them, exits 130 and
    leaves nothing beside the destination; the next pull installs the folder whole."""
    root = write_project(tmp_path / "project", CONFIG.replace("data/embeddings", "data/many"))
    many = root / "data" / "many"
    for n in range(8_000):  # 1,000 a folder: the workers take the last ones
        if n % 1000 == 0:
            (many / f"part-{n // 1000:02d}").mkdir(parents=True)
        (many / f"part-{n // 1000:02d}" / f"{n:05d}.bin").write_bytes(b"%d\n" % n * 3)
    assert fsartifacts("push", "embeddings", cwd=root).returncode == 0
    shutil.rmtree(many)  # nothing local to copy from: every file comes from the store
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSARTIFACTS_")}
    proc = subprocess.Popen(
        [str(BIN), "pull", "embeddings", "1.0.0"],
        cwd=root,
        env={**env, "FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if any(root.glob(".embeddings_v1.0.0.fsartifacts-*/part-06/*")):
            os.killpg(proc.pid, signal.SIGINT)
            seen = True
            break
        time.sleep(0.002)
    _, stderr = proc.communicate(timeout=60)
    assert seen, "the pull finished before the test could interrupt it"
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in root.iterdir()) == ["VERSION", "data", "fsartifacts.yaml"]

    again = fsartifacts("pull", "embeddings", "1.0.0", cwd=root)
    assert again.returncode == 0, again.stderr
    store = tmp_path / "store" / "embeddings_v1.0.0"
    assert tree_digest(root / "embeddings_v1.0.0") == tree_digest(store)


def test_an_interrupted_push_of_many_small_files_exits_130_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) while the push and its
    worker processes copy a folder's small files: the push ends them, exits 130 and
    leaves nothing on the store (no folder, staged or not, no manifest, no claim); the
    next push publishes the folder whole."""
    root = write_project(tmp_path / "project", CONFIG.replace("data/embeddings", "data/many"))
    many = root / "data" / "many"
    for n in range(8_000):  # 1,000 a folder: the workers take the last ones
        if n % 1000 == 0:
            (many / f"part-{n // 1000:02d}").mkdir(parents=True)
        (many / f"part-{n // 1000:02d}" / f"{n:05d}.bin").write_bytes(b"%d\n" % n * 3)
    store = tmp_path / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSARTIFACTS_")}
    proc = subprocess.Popen(
        [str(BIN), "push", "embeddings"],
        cwd=root,
        env={**env, "FSARTIFACTS_CACHE_DIR": str(tmp_path / "cache")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and proc.poll() is None:
        if any(store.glob(".embeddings_v1.0.0.fsartifacts-*/part-0[0-6]/*")):
            os.killpg(proc.pid, signal.SIGINT)
            seen = True
            break
        time.sleep(0.002)
    _, stderr = proc.communicate(timeout=60)
    assert seen, "the push finished before the test could interrupt it"
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in store.iterdir()) == []

    again = fsartifacts("push", "embeddings", cwd=root)
    assert again.returncode == 0, again.stderr
    assert tree_digest(store / "embeddings_v1.0.0") == tree_digest(many)
