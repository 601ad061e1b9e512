"""Conditional replacement of a small object (what an alias move is), on every store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fsartifacts import Project
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.conditional import ChangedMeanwhile
from tests.fixtures.cli import write_project
from tests.fixtures.remotes import Remote, yaml_config

ARTIFACTS = "    - name: model\n      file: model.pkl\n"


def store_ops(remote: Remote, tmp_path: Path) -> tuple[StoreOps, str]:
    root = write_project(tmp_path / "p", yaml_config(remote, ARTIFACTS))
    store = Project.load(start=root, environ={}).store
    if remote.kind == "folder":
        Path(store.root).mkdir(parents=True, exist_ok=True)
    return store.ops, store.path(".obj.json")


def test_a_write_conditioned_on_a_stale_revision_is_refused(remote: Remote, tmp_path: Path) -> None:
    ops, path = store_ops(remote, tmp_path)
    assert ops.read_revision(path) is None
    ops.write_if(path, b"one", None)
    with pytest.raises(ChangedMeanwhile):
        ops.write_if(path, b"two", None)  # "only while absent", and it exists
    data, first = ops.read_revision(path) or (b"", "")
    assert data == b"one"
    ops.write_if(path, b"two", first)
    with pytest.raises(ChangedMeanwhile):
        ops.write_if(path, b"three", first)  # the revision "one" had
    assert ops.read_bytes(path) == b"two"
    assert [n for n in remote.names() if "claim" in n] == []  # no guard is left behind


@pytest.mark.parametrize("remote", ["folder", "s3"], indirect=True)
def test_of_two_racing_writes_from_one_revision_exactly_one_lands(
    remote: Remote, tmp_path: Path
) -> None:
    ops, path = store_ops(remote, tmp_path)
    ops.write_if(path, b"start", None)
    for round_ in range(3):
        _, revision = ops.read_revision(path) or (b"", "")
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def write(who: str, revision: str, barrier: threading.Barrier, outcomes: dict) -> None:
            barrier.wait()
            try:
                ops.write_if(path, who.encode(), revision)
                outcomes[who] = "won"
            except ChangedMeanwhile:
                outcomes[who] = "refused"

        threads = [
            threading.Thread(target=write, args=(f"{w}{round_}", revision, barrier, outcomes))
            for w in "ab"
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes.values()) == ["refused", "won"], (round_, outcomes)
        winner = next(w for w, o in outcomes.items() if o == "won")
        assert ops.read_bytes(path) == winner.encode()


def test_a_change_under_way_is_refused_saying_how_a_left_guard_is_cleared(tmp_path: Path) -> None:
    from fsspec.implementations.local import LocalFileSystem

    from fsartifacts.stores import claims
    from fsartifacts.stores.local import LocalOps

    ops, path = LocalOps(LocalFileSystem()), str(tmp_path / ".obj.json")
    ops.write_if(path, b"one", None)
    _, revision = ops.read_revision(path) or (b"", "")
    other = claims.Claim.new()  # another process, between its read and its write
    assert ops.claim(claims.claim_path(path), other) is None
    with pytest.raises(ChangedMeanwhile, match=r"under way \(started .*gc --older-than 0s"):
        ops.write_if(path, b"two", revision)
    ops.release(claims.claim_path(path), other)
    ops.write_if(path, b"two", revision)
    assert ops.read_bytes(path) == b"two"
