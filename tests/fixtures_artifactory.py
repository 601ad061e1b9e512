"""pytest fixtures for the local Artifactory server (plugin ``tests.fixtures_artifactory``).

* ``artifactory_server`` (session): an anonymous server with the repo ``generic-local``.
* ``artifactory_repo`` (function): a fresh, empty repository on that server, with its
  faults, ``no_overwrite``/``pro`` switches and request log reset before and after the
  test, so tests never see each other's files or faults.
* ``artifactory_secure_server`` (session): a server that requires credentials
  (``ARTIFACTORY_USER``/``ARTIFACTORY_PASSWORD``, ``ARTIFACTORY_TOKEN``,
  ``ARTIFACTORY_API_KEY``).
* ``artifactory_server_factory`` (function): ``start(**kwargs)`` starts a server with
  any ``ArtifactoryServer`` options (``root`` defaults to a fresh temp folder); all are
  stopped after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fsartifacts.testing.artifactory import ArtifactoryServer

ARTIFACTORY_USER = "deployer"
ARTIFACTORY_PASSWORD = "deployer-password"
ARTIFACTORY_TOKEN = "test-access-token"
ARTIFACTORY_API_KEY = "test-api-key"


@dataclass(frozen=True)
class ArtifactoryRepo:
    """A repository of its own for one test, on a shared server."""

    server: ArtifactoryServer
    name: str

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:<port>/artifactory``)."""
        return self.server.url

    @property
    def repo_url(self) -> str:
        """The repository's URL (``<base>/<repo>``)."""
        return f"{self.server.url}/{self.name}"


def reset_server(server: ArtifactoryServer) -> None:
    """Back to defaults: no faults, overwrite allowed, Pro endpoints on, empty log."""
    server.faults.reset()
    server.no_overwrite = False
    server.pro = True
    server.clear_requests()


@pytest.fixture(scope="session")
def artifactory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArtifactoryServer]:
    with ArtifactoryServer(tmp_path_factory.mktemp("artifactory")) as server:
        yield server


@pytest.fixture
def artifactory_repo(artifactory_server: ArtifactoryServer) -> Iterator[ArtifactoryRepo]:
    name = f"test-{uuid.uuid4().hex[:12]}-local"
    reset_server(artifactory_server)
    artifactory_server.add_repo(name)
    yield ArtifactoryRepo(artifactory_server, name)
    reset_server(artifactory_server)


@pytest.fixture(scope="session")
def artifactory_secure_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ArtifactoryServer]:
    with ArtifactoryServer(
        tmp_path_factory.mktemp("artifactory-secure"),
        user=ARTIFACTORY_USER,
        password=ARTIFACTORY_PASSWORD,
        token=ARTIFACTORY_TOKEN,
        api_key=ARTIFACTORY_API_KEY,
    ) as server:
        yield server


@pytest.fixture
def artifactory_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., ArtifactoryServer]]:
    servers: list[ArtifactoryServer] = []

    def start(**options: Any) -> ArtifactoryServer:
        root = options.pop("root", None) or tmp_path_factory.mktemp("artifactory")
        server = ArtifactoryServer(root, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
