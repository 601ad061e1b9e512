"""One large-file remote per store kind: where fsartifacts pushes, and its baseline tool.

Each remote knows how to delete a remote copy (untimed, between runs) and
the command line of its baseline: ``cp`` for the folder store, ``curl`` for
Artifactory, boto3's managed transfer for moto.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from pathlib import Path

from bench import Bench
from projects import ARTIFACTORY, FOLDER, StoreSpec, artifactory_store, folder_store, s3_store
from servers import curl_path

HERE = Path(__file__).resolve().parent


class LargeRemote(ABC):
    """A store for the large-file cases, with its baseline commands."""

    def __init__(self, spec: StoreSpec, push_label: str, pull_label: str, missing: str | None):
        self.spec = spec
        self.baseline_push_label = push_label
        self.baseline_pull_label = pull_label
        self.missing = missing  # why the baseline cannot run here (curl not installed), or None

    durable_push = False  # True where the pushed copy is a local file a baseline can sync

    def stored(self, name: str) -> Path:
        """The local file holding the remote copy ``name`` (folder store only)."""
        raise TypeError(f"{type(self).__name__} keeps no local file per copy")

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete the remote copy ``name`` (and what goes with it); fine when absent."""

    @abstractmethod
    def baseline_push(self, local: Path, name: str) -> list[str]:
        """The baseline's command that uploads ``local`` as ``name``."""

    @abstractmethod
    def baseline_pull(self, name: str, dest: Path) -> list[str]:
        """The baseline's command that downloads ``name`` to ``dest``."""


class FolderRemote(LargeRemote):
    durable_push = True

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        super().__init__(folder_store(folder), "cp", "cp", None)

    def stored(self, name: str) -> Path:
        return self.folder / name

    def remove(self, name: str) -> None:
        for path in (self.folder / name, self.folder / f"{name}.sha256"):
            path.unlink(missing_ok=True)

    def baseline_push(self, local: Path, name: str) -> list[str]:
        return ["cp", str(local), str(self.folder / name)]

    def baseline_pull(self, name: str, dest: Path) -> list[str]:
        return ["cp", str(self.folder / name), str(dest)]


class ArtifactoryRemote(LargeRemote):
    def __init__(self, bench: Bench, path: str) -> None:
        self.server = bench.artifactory()
        self.path = path
        self.curl = curl_path()
        spec = artifactory_store(self.server.url, self.server.repo, path)
        missing = None if self.curl else "curl is not installed; apt-get install curl"
        super().__init__(spec, "curl -T", "curl -o", missing)

    def url(self, name: str) -> str:
        return self.server.file_url(f"{self.path}/{name}")

    def remove(self, name: str) -> None:
        import requests

        response = requests.delete(self.url(name), timeout=120)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def baseline_push(self, local: Path, name: str) -> list[str]:
        assert self.curl
        # -H "Expect:": no 100-continue round trip, so curl gets no handicap.
        return [self.curl, "-sS", "-f", "-H", "Expect:", "-T", str(local), self.url(name)]

    def baseline_pull(self, name: str, dest: Path) -> list[str]:
        assert self.curl
        return [self.curl, "-sS", "-f", "-o", str(dest), self.url(name)]


class S3Remote(LargeRemote):
    def __init__(self, bench: Bench, bucket: str, prefix: str) -> None:
        self.moto = bench.moto()
        self.client = self.moto.client()
        self.client.create_bucket(Bucket=bucket)
        self.bucket, self.prefix = bucket, prefix
        spec = s3_store(self.moto.url, bucket, prefix, self.moto.env)
        super().__init__(spec, "boto3 upload_file", "boto3 download_file", None)

    def remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}")

    def _boto3(self, action: str, name: str, path: Path) -> list[str]:
        script = str(HERE / "baseline_boto3.py")
        key = f"{self.prefix}/{name}"
        return [sys.executable, script, action, self.moto.url, self.bucket, key, str(path)]

    def baseline_push(self, local: Path, name: str) -> list[str]:
        return self._boto3("upload", name, local)

    def baseline_pull(self, name: str, dest: Path) -> list[str]:
        return self._boto3("download", name, dest)


def large_remote(bench: Bench, kind: str, tag: str) -> LargeRemote:
    """A fresh, empty remote of ``kind``; ``tag`` keeps cases apart."""
    if kind == FOLDER:
        return FolderRemote(bench.scratch(f"{tag}-store"))
    if kind == ARTIFACTORY:
        return ArtifactoryRemote(bench, tag)
    return S3Remote(bench, f"{tag}-bucket", "team")
