"""Copy and move over the local Artifactory server's REST API (testing/copying.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

from fsartifacts.testing.artifactory import ArtifactoryServer
from tests.fixtures.artifactory import ArtifactoryRepo

VENDOR = "application/vnd.org.jfrog.artifactory.storage"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def test_copy_and_move(artifactory_repo: ArtifactoryRepo, session: requests.Session) -> None:
    repo = artifactory_repo
    sha1 = hashlib.sha1(b"a").hexdigest()
    session.put(f"{repo.repo_url}/src/a.txt", data=b"a", headers={"X-Checksum-Sha1": sha1})
    session.put(f"{repo.repo_url}/src/sub/b.txt", data=b"b")
    session.put(f"{repo.repo_url}/target/", data=b"")
    api = f"{repo.url}/api"

    renamed = session.post(f"{api}/copy/{repo.name}/src/a.txt?to=/{repo.name}/renamed.txt")
    assert renamed.status_code == 200
    assert renamed.headers["Content-Type"] == f"{VENDOR}.CopyOrMoveResult+json"
    assert renamed.json()["messages"][0]["level"] == "INFO"
    assert session.get(f"{repo.repo_url}/renamed.txt").content == b"a"

    # An existing folder as target means "put it inside"; dohq sends no leading slash.
    inside = session.post(f"{api}/copy/{repo.name}/src?to={repo.name}%2Ftarget")
    message = inside.json()["messages"][0]["message"]
    assert message == (
        f"copying {repo.name}:src to {repo.name}:target/src completed successfully, "
        "2 artifacts and 1 folders were copied"
    )
    assert session.get(f"{repo.repo_url}/target/src/sub/b.txt").content == b"b"
    info = session.get(f"{api}/storage/{repo.name}/target/src/a.txt").json()
    assert info["originalChecksums"]["sha1"] == sha1

    dry = session.post(f"{api}/move/{repo.name}/src?to=/{repo.name}/moved&dry=1")
    assert dry.status_code == 200
    assert session.get(f"{api}/storage/{repo.name}/moved").status_code == 404
    assert session.post(f"{api}/move/{repo.name}/src?to=/{repo.name}/moved").status_code == 200
    assert session.get(f"{api}/storage/{repo.name}/src").status_code == 404
    assert session.get(f"{repo.repo_url}/moved/sub/b.txt").content == b"b"

    itself = session.post(f"{api}/copy/{repo.name}/moved?to=/{repo.name}/moved/sub")
    assert itself.status_code == 400
    missing = session.post(f"{api}/copy/{repo.name}/nothing?to=/{repo.name}/x")
    assert missing.status_code == 404


def test_copy_between_repositories(
    artifactory_server: ArtifactoryServer, session: requests.Session
) -> None:
    url = artifactory_server.url
    artifactory_server.add_repo("copy-target-local")
    assert session.put(f"{url}/generic-local/cross/f.txt", data=b"x").status_code == 201
    response = session.post(f"{url}/api/copy/generic-local/cross/f.txt?to=copy-target-local/g.txt")
    assert response.status_code == 200
    assert session.get(f"{url}/copy-target-local/g.txt").content == b"x"
    unknown = session.post(f"{url}/api/copy/generic-local/cross/f.txt?to=/no-such-repo/g.txt")
    assert unknown.status_code == 404
