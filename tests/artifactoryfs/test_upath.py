"""``ArtifactoryPath`` on a par with ``S3Path``: a repository is the anchor, as a bucket is,
and a string rename target is ``repo/path``."""

from __future__ import annotations

import pytest
from upath import UPath

import fsartifacts.artifactoryfs.upath  # noqa: F401 - registers artifactory:// with upath
from tests.fixtures.artifactory import ArtifactoryRepo


def test_parts_anchor_drive_and_root_are_those_of_a_bucket() -> None:
    path = UPath("artifactory://repo/a/b.txt", base_url="https://h/artifactory")
    bucket = UPath("s3://repo/a/b.txt", anon=True)
    shape = ("parts", "anchor", "drive", "root", "name", "path")
    assert type(path).__name__ == "ArtifactoryPath"
    assert {k: getattr(path, k) for k in shape} == {k: getattr(bucket, k) for k in shape}
    assert path.parts == ("repo/", "a", "b.txt")
    assert str(path.parent.parent) == "artifactory://repo/"
    top = UPath("artifactory://repo", base_url="https://h/artifactory")
    assert (top.parts, top.anchor) == (("repo/",), "repo/")
    assert (top / "x").path == "repo/x"


def test_rename_to_a_string_is_a_move_to_repo_path(artifactory_repo: ArtifactoryRepo) -> None:
    repo = artifactory_repo.name
    source = UPath(f"artifactory://{repo}/from/a.txt", base_url=artifactory_repo.url)
    source.write_bytes(b"moved")
    moved = source.rename(f"{repo}/to/b.txt")
    assert str(moved) == f"artifactory://{repo}/to/b.txt"
    assert moved.read_bytes() == b"moved"
    assert not source.exists()
    back = moved.rename(f"{repo}/from/a.txt")
    assert back.read_bytes() == b"moved" and not moved.exists()
    with pytest.raises(ValueError, match=r"repo/path.*with_name\('c.txt'\)"):
        back.rename("c.txt")
    assert back.exists()
