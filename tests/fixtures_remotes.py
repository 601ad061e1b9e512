"""One store of each kind for end-to-end tests: a folder, the local Artifactory server, moto.

``remote`` is parametrized over the three; a test that takes it runs once per
store, with the same assertions. Each gets a fresh, empty place to write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STORE_KINDS = ("folder", "artifactory", "s3")


@dataclass
class Remote:
    """A store as a test sees it: the config block, and a filesystem to inspect it with."""

    kind: str
    config: str  # the repository settings, YAML at two spaces under `repository:`
    fs: Any
    root: str
    env: dict[str, str] = field(default_factory=dict)
    server: Any = None  # the ArtifactoryServer, for its request log and fault switches

    def names(self) -> set[str]:
        """Basenames at the root, without sidecars."""
        self.fs.invalidate_cache()
        try:
            entries = self.fs.ls(self.root, detail=False, refresh=True)
        except FileNotFoundError:
            return set()
        return {e.rstrip("/").rpartition("/")[2] for e in entries if not e.endswith(".sha256")}

    def read(self, name: str) -> bytes:
        self.fs.invalidate_cache()
        return bytes(self.fs.cat_file(f"{self.root}/{name}"))

    def digest(self) -> dict[str, int]:
        """{path: size} of everything below the root, to see that nothing changed."""
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        return {k: int(v.get("size") or 0) for k, v in found.items()}


def yaml_config(remote: Remote, artifacts: str) -> str:
    return f"repository:\n{remote.config}  artifacts:\n{artifacts}"


@pytest.fixture(params=STORE_KINDS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    kind = request.param
    if kind == "folder":
        from fsspec.implementations.local import LocalFileSystem

        root = tmp_path / "store"
        root.mkdir()
        yield Remote(kind, f"  url: {root.as_uri()}\n", LocalFileSystem(), str(root))
    elif kind == "artifactory":
        from fsartifacts.artifactory import ArtifactoryFileSystem

        repo = request.getfixturevalue("artifactory_repo")
        path = f"team/models_{uuid.uuid4().hex[:6]}"
        fs = ArtifactoryFileSystem(url=repo.url, skip_instance_cache=True)
        config = (
            f"  artifactory:\n    url: {repo.url}\n    repo: {repo.name}\n    path: {path}\n"
            "    auth: {authType: none}\n"
        )
        yield Remote(kind, config, fs, f"{repo.name}/{path}", server=repo.server)
    else:
        import botocore.session
        import s3fs

        endpoint = request.getfixturevalue("moto_server")
        bucket = f"bkt-{uuid.uuid4().hex[:12]}"
        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name="us-east-1"
        )
        client.create_bucket(Bucket=bucket)
        fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
        config = (
            f"  s3:\n    bucket: {bucket}/team/models\n    region: us-east-1\n"
            f"    endpoint_url: {endpoint}\n"
        )
        yield Remote(kind, config, fs, f"{bucket}/team/models")
