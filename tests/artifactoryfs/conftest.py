"""What the tests of the ``artifactory://`` filesystem share: no $ARTIFACTORY_* of the
developer's, and a filesystem on the session's local server with its repository's name
and the server (a test file may define its own ``fs``)."""

from __future__ import annotations

import pytest

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ArtifactoryRepo
from tests.fixtures.artifactoryfs import make_fs


@pytest.fixture(autouse=True)
def _no_artifactory_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own $ARTIFACTORY_* must not leak into these tests."""
    for name in ("ARTIFACTORY_URL", "ARTIFACTORY_USER", "ARTIFACTORY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fs(artifactory_repo: ArtifactoryRepo) -> ArtifactoryFileSystem:
    return make_fs(artifactory_repo.url)


@pytest.fixture
def repo(artifactory_repo: ArtifactoryRepo) -> str:
    return artifactory_repo.name


@pytest.fixture
def server(artifactory_repo: ArtifactoryRepo) -> ArtifactoryServer:
    return artifactory_repo.server
