"""Copies on Artifactory, against the local server: no bytes sent, content checked."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.errors import IntegrityError
from fsartifacts.stores.artifactory.ops import HASHED_AS_SENT_MIN, ArtifactoryOps
from fsartifacts.stores.base import StoredCopy
from fsartifacts.stores.claims import Claim
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.artifactoryfs import header


def stored(fs: ArtifactoryFileSystem, path: str, data: bytes) -> StoredCopy:
    fs.pipe_file(path, data)
    return StoredCopy(path, len(data), hashlib.sha256(data).hexdigest())


def bodies(repo: ArtifactoryRepo) -> int:
    """Bytes of request bodies the server received since the log was cleared."""
    return sum(r.bytes_in for r in repo.server.requests)


@pytest.mark.parametrize("pro", [True, False])
def test_a_copy_sends_no_bytes_with_or_without_the_sha1(
    artifactory_repo: ArtifactoryRepo, pro: bool
) -> None:
    repo = artifactory_repo
    repo.server.pro = pro  # OSS has no copy API: the copy falls back to a checksum deploy
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    ops = ArtifactoryOps(fs)
    data = os.urandom(3000)
    source = stored(fs, f"{repo.name}/m_v1.0.0.bin", data)
    sha1 = hashlib.sha1(data).hexdigest()
    repo.server.clear_requests()

    assert ops.copy(
        source, f"{repo.name}/m_v1.0.1.bin", digests={"sha256": source.sha256, "sha1": sha1}
    )
    assert ops.copy(source, f"{repo.name}/m_v1.0.2.bin", exclusive=True)  # no sha1 given
    with pytest.raises(FileExistsError):
        ops.copy(source, f"{repo.name}/m_v1.0.2.bin", exclusive=True)

    assert bodies(repo) == 0
    # By checksum both times, the sha1 not given read from the source's record: the
    # copy API (Pro only) is not needed.
    assert not [r for r in repo.server.requests if "/api/copy/" in unquote(r.path)]
    for version in ("1.0.1", "1.0.2"):
        assert fs.cat_file(f"{repo.name}/m_v{version}.bin") == data
        assert ops.recorded_sha256(f"{repo.name}/m_v{version}.bin") == source.sha256


def test_content_the_server_no_longer_holds_is_not_copied(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    repo = artifactory_repo
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    ops = ArtifactoryOps(fs)
    data = os.urandom(3000)
    source = stored(fs, f"{repo.name}/m_v1.0.0.bin", data)
    fs.pipe_file(source.path, os.urandom(3000))  # replaced: that content is gone
    digests = {"sha256": source.sha256, "sha1": hashlib.sha1(data).hexdigest()}
    assert not ops.copy(source, f"{repo.name}/m_v1.0.1.bin", digests=digests)
    assert not ops.copy(source, f"{repo.name}/m_v1.0.1.bin")  # the copy API, checked
    assert not fs.exists(f"{repo.name}/m_v1.0.1.bin", refresh=True)


@pytest.mark.parametrize("pro", [True, False])
def test_a_copy_from_a_source_replaced_since_it_was_listed_never_writes_the_new_path(
    artifactory_repo: ArtifactoryRepo, pro: bool
) -> None:
    """The new path holds the content asked for or nothing, not even for a moment: a copy
    of whatever the source holds now, checked afterwards, would show another version's
    bytes there until the check removed them (and for good if the pusher died first)."""
    repo = artifactory_repo
    repo.server.pro = pro
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    ops = ArtifactoryOps(fs)
    source = stored(fs, f"{repo.name}/m_v1.0.0.bin", os.urandom(3000))
    fs.pipe_file(source.path, os.urandom(3000))  # a forced push replaced it since
    repo.server.clear_requests()

    assert not ops.copy(source, f"{repo.name}/m_v1.0.1.bin")  # no sha1 known
    named = [f"{r.method} {unquote(r.path)}" for r in repo.server.requests
             if "m_v1.0.1.bin" in unquote(r.path)]  # fmt: skip
    assert [n for n in named if not n.startswith(("GET ", "HEAD "))] == [], named
    assert not fs.exists(f"{repo.name}/m_v1.0.1.bin", refresh=True)


def test_a_file_is_hashed_as_it_is_sent(artifactory_repo: ArtifactoryRepo, tmp_path: Path) -> None:
    repo = artifactory_repo
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    local = tmp_path / "large.bin"
    data = os.urandom(HASHED_AS_SENT_MIN)
    local.write_bytes(data)
    repo.server.clear_requests()
    with open(local, "rb") as src:
        digests = ArtifactoryOps(fs).upload_hashing(src, f"{repo.name}/large.bin", exclusive=True)
    sha256, sha1 = hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest()
    assert dict(digests) == {"sha256": sha256, "sha1": sha1}
    assert digests.unchanged(local)  # the identity of the file as it was opened
    # One PUT of the bytes, its first byte sent at once: no checksum probe, no checksum to
    # send. It goes to a hidden name; a checksum deploy of what it stored publishes it.
    puts = [r for r in repo.server.requests if r.method == "PUT"]
    assert [(r.status, r.bytes_in) for r in puts] == [(201, HASHED_AS_SENT_MIN), (201, 0)]
    assert not [h for h in puts[0].headers if h.lower().startswith("x-checksum")]
    assert ".large.bin.fsartifacts-" in puts[0].path
    assert puts[1].path.endswith("/large.bin") and header(puts[1], "X-Checksum-Deploy") == "true"
    assert fs.cat_file(f"{repo.name}/large.bin") == data


def test_a_large_file_corrupted_on_its_way_is_not_kept(
    artifactory_repo: ArtifactoryRepo, tmp_path: Path
) -> None:
    repo = artifactory_repo
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    local = tmp_path / "large.bin"
    local.write_bytes(os.urandom(HASHED_AS_SENT_MIN))
    repo.server.faults.corrupt_next(methods=["PUT"], offset=HASHED_AS_SENT_MIN - 1)
    with open(local, "rb") as src, pytest.raises(IntegrityError, match="Push again"):
        ArtifactoryOps(fs).upload_hashing(src, f"{repo.name}/large.bin", exclusive=True)
    assert not fs.exists(f"{repo.name}/large.bin", refresh=True)


def test_a_claim_taken_checked_and_dropped_reads_no_claim_object_back(
    artifactory_repo: ArtifactoryRepo,
) -> None:
    """Artifactory takes a claim by an election among candidates named by their token:
    the caller's own candidate says what it wrote, and a lone one needs no creation time,
    so taking, checking and dropping it is a write, two listings and a delete (each
    request at the server's latency, at the start and end of every folder push)."""
    repo = artifactory_repo
    fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
    ops = ArtifactoryOps(fs)
    path = f"{repo.name}/.features_v1.0.0.fsartifacts-claim"
    claim, other = Claim.new(), Claim.new()
    repo.server.clear_requests()

    assert ops.claim(path, claim) is None
    held = ops.holder(path, own=claim)
    assert held is not None and held.claim == claim
    ops.release(path, claim)

    def claim_requests() -> list[str]:
        return [
            f"{r.method} {'storage' if '/api/storage/' in r.path else 'file'}"
            for r in repo.server.requests
            if "fsartifacts-claim" in unquote(r.path)
        ]

    made = claim_requests()
    # No read of the claim object, no creation time asked: at most the delete's own stat
    # (which the listing's cache may answer).
    assert [r for r in made if r != "GET storage"] == ["PUT file", "DELETE file"]
    assert made.count("GET storage") <= 1
    assert fs.ls(repo.name, detail=False, refresh=True) == []

    # Against another push's candidate, the holder is still read and ranked by creation.
    fs.pipe_file(f"{path}-{other.token}", other.to_bytes())
    # The server stamps creation to the millisecond, and a tie is ranked by name (the
    # random token): ours must be written in a later millisecond to rank second.
    planted = fs.created(f"{path}-{other.token}")
    while datetime.now(UTC) <= planted + timedelta(milliseconds=1):
        time.sleep(0.001)
    assert ops.claim(path, claim) is not None
    held = ops.holder(path, own=claim)
    assert held is not None and held.claim == other
