"""Aliases end to end on every store: set, move, rm, pull @prod, history, and races."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.errors import ConflictError, IntegrityError, NotFoundError
from tests.fixtures.cli import in_process, start, tree_digest, write_project
from tests.fixtures.remotes import Remote, yaml_config

ARTIFACTS = """\
    - name: model
      file: models/model.pkl
    - name: data
      file: data
"""


def produce(
    root: Path, remote: Remote, version: str, seed: str, *, force: bool = False, which: str = "ALL"
) -> Path:
    """A project at ``version`` whose artifacts hold ``seed``, pushed (``which``) in-process."""
    write_project(root, yaml_config(remote, ARTIFACTS), version)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.pkl").write_bytes(f"model {seed}\n".encode() * 500)
    (root / "data" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "data" / "deep" / "part.csv").write_text(f"x\n{seed}\n")
    results = Project.load(start=root, environ={}).push(which, force=force)
    assert {r.action for r in results} == {"pushed"}, results
    return root


def run_json(*args: str, cwd: Path) -> dict:
    run = in_process(*args, "--json", cwd=cwd)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def test_set_move_pull_and_remove_an_alias(remote: Remote, tmp_path: Path) -> None:
    producer = produce(tmp_path / "producer", remote, "1.0.0", "one")
    produce(producer, remote, "1.1.0", "two")
    consumer = write_project(tmp_path / "consumer", yaml_config(remote, ARTIFACTS), "1.1.0")

    project = Project.load(start=consumer, environ={})
    alias, move = project.alias_set("model", "1.0.0", "prod")
    assert (str(alias.version), move.old, move.new) == ("1.0.0", None, "1.0.0")
    project.alias_set("data", "1.0.0", "prod")
    moved = in_process("alias", "set", "model", "1.1.0", "prod", "-v", cwd=consumer)
    assert moved.returncode == 0, moved.stderr
    assert "@prod of model: 1.0.0 -> 1.1.0" in moved.stdout
    # Only Artifactory lacks a conditional write, and -v says what guards the move there.
    said = "has no conditional write, so a move of the alias is guarded by an election"
    assert (said in moved.stderr) == (remote.kind == "artifactory"), moved.stderr

    # The alias object sits beside the versions; no listing takes it for one.
    assert ".model.fsartifacts-alias.prod.json" in remote.names()
    assert [str(v) for v in project.versions("model")] == ["1.1.0", "1.0.0"]
    assert str(project.resolve("model", "LATEST")) == "1.1.0"

    pulled = in_process("pull", "model", "@prod", "-o", cwd=consumer)
    assert pulled.returncode == 0, pulled.stderr
    assert (consumer / "models" / "model.pkl").read_bytes() == b"model two\n" * 500
    (result,) = project.pull("data", "@prod", override=True)
    assert result.action == "pulled" and result.version == "1.0.0", result.error
    assert set(tree_digest(consumer / "data")) == {"deep/part.csv"}
    assert (producer / "data" / "deep" / "part.csv").read_text() == "x\ntwo\n"  # 1.1.0's
    assert (consumer / "data" / "deep" / "part.csv").read_text() == "x\none\n"  # prod's

    project.alias_rm("model", "prod")
    with pytest.raises(NotFoundError, match="no alias @prod"):
        project.resolve("model", "@prod")
    assert [(a.artifact, a.name) for a in project.aliases()] == [("data", "prod")]

    listed = run_json("alias", "list", "--history", cwd=consumer)
    by_name = {(a["artifact"], a["alias"]): a for a in listed["aliases"]}
    assert by_name[("model", "prod")]["version"] is None
    moves = [(m["from"], m["to"]) for m in by_name[("model", "prod")]["history"]]
    assert moves == [(None, "1.0.0"), ("1.0.0", "1.1.0"), ("1.1.0", None)]
    assert by_name[("data", "prod")]["version"] == "1.0.0"


def test_pull_at_an_alias_checks_the_sha256_it_recorded(remote: Remote, tmp_path: Path) -> None:
    producer = produce(tmp_path / "producer", remote, "1.0.0", "one")
    project = Project.load(start=producer, environ={})
    project.alias_set("model", "1.0.0", "prod")
    project.alias_set("data", "1.0.0", "prod")
    produce(producer, remote, "1.0.0", "replaced", force=True)  # same version, other bytes
    for name in ("model", "data"):
        with pytest.raises(IntegrityError, match="differs from what alias @prod recorded"):
            Project.load(start=producer, environ={}).pull(name, "@prod", check=True)
    assert not (producer / "model_v1.0.0.pkl").exists()
    with pytest.raises(NotFoundError, match=r"no alias @staging .* Aliases there: @prod"):
        project.resolve("model", "@staging")


@pytest.mark.parametrize("remote", ["folder", "s3"], indirect=True)
def test_two_processes_moving_one_alias_exactly_one_wins(remote: Remote, tmp_path: Path) -> None:
    producer = produce(tmp_path / "producer", remote, "1.0.0", "one", which="model")
    for version in ("1.1.0", "1.2.0"):
        produce(producer, remote, version, version, which="model")
    Project.load(start=producer, environ={}).alias_set("model", "1.0.0", "prod")
    procs = {
        version: start("alias", "set", "model", version, "prod", "--from", "1.0.0", cwd=producer)
        for version in ("1.1.0", "1.2.0")
    }
    outcomes = {v: (p.communicate(timeout=120), p.returncode) for v, p in procs.items()}
    codes = sorted(code for _, code in outcomes.values())
    assert codes == [0, 1], outcomes
    winner = next(v for v, (_, code) in outcomes.items() if code == 0)
    (_, err), _ = next(o for o in outcomes.values() if o[1] == 1)
    assert "model: alias @prod" in err and "Traceback" not in err, err
    (alias,) = Project.load(start=producer, environ={}).aliases("model", removed=True)
    assert str(alias.version) == winner
    assert [(m.old, m.new) for m in alias.history] == [(None, "1.0.0"), ("1.0.0", winner)]


def test_rm_and_prune_leave_a_version_an_alias_points_at(tmp_path: Path) -> None:
    store = tmp_path / "store"
    remote = Remote("folder", f"  url: {store.as_uri()}\n", None, str(store))
    root = produce(tmp_path / "p", remote, "1.0.0", "one")
    for version in ("1.1.0", "1.2.0"):
        produce(root, remote, version, version)
    project = Project.load(start=root, environ={})
    project.alias_set("model", "1.0.0", "prod")
    with pytest.raises(ConflictError, match=r"model 1\.0\.0: @prod points at it.*alias rm model"):
        project.rm("model", "1.0.0")
    doomed = {(c.artifact, str(c.version)) for c in project.prune_plan(keep=1)}
    assert doomed == {("model", "1.1.0"), ("data", "1.1.0"), ("data", "1.0.0")}
    project.alias_rm("model", "prod")
    assert project.rm("model", "1.0.0").ok
    # A version deleted behind fsartifacts' back: the alias says it points at nothing there.
    project.alias_set("model", "1.2.0", "prod")
    (store / "model_v1.2.0.pkl").unlink()
    with pytest.raises(NotFoundError, match=r"@prod points at 1\.2\.0, which is gone from"):
        Project.load(start=root, environ={}).resolve("model", "@prod")
    # A pull of it says the same, naming the alias, not only the missing version.
    (result,) = Project.load(start=root, environ={}).pull("model", "@prod", override=True)
    assert result.action == "failed" and "@prod points at 1.2.0, which is gone" in str(
        result.error
    ), result.error
