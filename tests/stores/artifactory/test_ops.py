"""Copies on Artifactory, against the local server: no bytes sent, content checked."""

from __future__ import annotations

import hashlib
import os
from urllib.parse import unquote

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.stores.artifactory.ops import ArtifactoryOps
from fsartifacts.stores.base import StoredCopy
from tests.fixtures.artifactory import ArtifactoryRepo


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
    copy_api = [r.status for r in repo.server.requests if "/api/copy/" in unquote(r.path)]
    assert copy_api == ([200] if pro else [400])  # OSS: "available only in Artifactory Pro"
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
