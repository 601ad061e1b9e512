"""Artifactory item properties as extended attributes, and sign(), on the local server."""

from __future__ import annotations

import pytest
import requests

from fsartifacts.artifactoryfs.filesystem import ArtifactoryFileSystem
from tests.fixtures.artifactory import ArtifactoryRepo


@pytest.fixture
def fs(artifactory_repo: ArtifactoryRepo) -> ArtifactoryFileSystem:
    return ArtifactoryFileSystem(url=artifactory_repo.url, anon=True, skip_instance_cache=True)


def test_properties_round_trip_on_a_file(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    path = f"{artifactory_repo.name}/d/model.bin"
    fs.pipe_file(path, b"weights")
    assert fs.listxattrs(path) == {}
    assert fs.getxattr(path, "build") is None
    # Characters that the Set Item Properties query would need escaped are plain values here.
    fs.setxattrs(path, build="42", tags=["a,b", "c;d=e\\f"], **{"build.name": "nightly run"})
    assert fs.getxattr(path, "build") == "42"
    assert fs.getxattr(path, "tags") == ["a,b", "c;d=e\\f"]
    assert fs.listxattrs(f"artifactory://{path}") == {
        "build": "42",
        "build.name": "nightly run",
        "tags": ["a,b", "c;d=e\\f"],
    }
    # What the server holds, read with its own API: one list of values per key.
    api = f"{artifactory_repo.url}/api/storage/{path}?properties"
    assert requests.get(api, timeout=10).json()["properties"]["tags"] == ["a,b", "c;d=e\\f"]
    fs.setxattrs(path, build=None, stage="prod")  # None removes, in the same request
    assert fs.listxattrs(path) == {"build.name": "nightly run", "stage": "prod", "tags": [
        "a,b", "c;d=e\\f"]}  # fmt: skip
    assert fs.cat_file(path) == b"weights"  # the content is untouched


def test_properties_set_at_deploy_are_read_back(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    url = f"{artifactory_repo.repo_url}/f.txt;build=7;tag=x;tag=y"
    assert requests.put(url, data=b"x", timeout=10).status_code == 201
    assert fs.listxattrs(f"{artifactory_repo.name}/f.txt") == {"build": "7", "tag": ["x", "y"]}


def test_folder_properties_stay_on_the_folder_unless_recursive(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    folder = f"{artifactory_repo.name}/run"
    fs.pipe_file(f"{folder}/a.txt", b"a")
    fs.setxattrs(folder, owner="ml")
    assert fs.getxattr(folder, "owner") == "ml"
    assert fs.listxattrs(f"{folder}/a.txt") == {}
    fs.setxattrs(folder, recursive=True, release="1.0")
    assert fs.getxattr(f"{folder}/a.txt", "release") == "1.0"
    assert fs.listxattrs(folder) == {"owner": "ml", "release": "1.0"}
    assert fs.listxattrs(artifactory_repo.name) == {}  # the repository root has its own


def test_properties_of_a_missing_path_and_bad_keys(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    missing = f"{artifactory_repo.name}/nope.bin"
    with pytest.raises(FileNotFoundError):
        fs.listxattrs(missing)
    with pytest.raises(FileNotFoundError):
        fs.setxattrs(missing, k="v")
    artifactory_repo.server.clear_requests()
    with pytest.raises(ValueError, match=r"invalid Artifactory property key 'a b'"):
        fs.setxattrs(missing, **{"a b": "v"})
    with pytest.raises(ValueError, match="a string or a non-empty list of strings"):
        fs.setxattrs(missing, k=[])
    assert artifactory_repo.server.requests == []  # refused before anything was sent


def test_sign_says_why_it_cannot(
    fs: ArtifactoryFileSystem, artifactory_repo: ArtifactoryRepo
) -> None:
    with pytest.raises(NotImplementedError, match="read-only access token"):
        fs.sign(f"{artifactory_repo.name}/f.txt", expiration=60)
