"""fsspec's own abstract test suite against ArtifactoryFileSystem and the local server.

Every inherited test must pass: no xfail, no skip. It runs twice: against
the server as Artifactory Pro (File List, copy and move APIs) and as
Artifactory OSS, where the filesystem falls back to Folder Info listings,
checksum-deploy copies and copy-then-delete moves (137 tests each). The
suite creates its scenarios under ``fs_path`` and removes them itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import fsspec.tests.abstract as abstract
import pytest
from fsspec.tests.abstract import AbstractFixtures

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from fsartifacts.testing.artifactory import ArtifactoryServer

REPO = f"abstract-{uuid.uuid4().hex[:8]}-local"


class ArtifactoryFixtures(AbstractFixtures):
    """On the session's server, as Artifactory Pro."""

    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, artifactory_server: ArtifactoryServer) -> Iterator[ArtifactoryFileSystem]:
        artifactory_server.add_repo(REPO)
        yield ArtifactoryFileSystem(url=artifactory_server.url, anon=True, skip_instance_cache=True)

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def fs_path(self) -> str:
        return REPO

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return True


class ArtifactoryOssFixtures(ArtifactoryFixtures):
    """On a server of the class's own that plays Artifactory OSS (no Pro-only APIs)."""

    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtifactoryFileSystem]:
        root = tmp_path_factory.mktemp("artifactory-oss")
        with ArtifactoryServer(root, repos=(REPO,), pro=False) as server:
            yield ArtifactoryFileSystem(url=server.url, anon=True, skip_instance_cache=True)


class TestArtifactoryCopy(abstract.AbstractCopyTests, ArtifactoryFixtures):
    pass


class TestArtifactoryGet(abstract.AbstractGetTests, ArtifactoryFixtures):
    pass


class TestArtifactoryPut(abstract.AbstractPutTests, ArtifactoryFixtures):
    pass


class TestArtifactoryPipe(abstract.AbstractPipeTests, ArtifactoryFixtures):
    pass


class TestArtifactoryOpen(abstract.AbstractOpenTests, ArtifactoryFixtures):
    pass


class TestArtifactoryOssCopy(abstract.AbstractCopyTests, ArtifactoryOssFixtures):
    pass


class TestArtifactoryOssGet(abstract.AbstractGetTests, ArtifactoryOssFixtures):
    pass


class TestArtifactoryOssPut(abstract.AbstractPutTests, ArtifactoryOssFixtures):
    pass


class TestArtifactoryOssPipe(abstract.AbstractPipeTests, ArtifactoryOssFixtures):
    pass


class TestArtifactoryOssOpen(abstract.AbstractOpenTests, ArtifactoryOssFixtures):
    pass
