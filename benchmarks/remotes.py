"""One large-file remote per store kind: where fsartifacts pushes, and its baselines.

Each remote knows how to delete a remote copy (untimed, between runs) and the
command lines of its baselines, each with the target fsartifacts must meet against
it: ``cp`` (bare, with ``sync``, with ``sha256sum`` and ``sync``) on the folder
store, ``curl`` on Artifactory, boto3's managed transfer, ``aws s3 cp`` and
``rclone copyto`` on moto. A baseline whose tool is missing here keeps its row,
with why it did not run.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from bench import Bench
from peers import AWS, RCLONE, RCLONE_S3, Peer, rclone_s3_env
from projects import ARTIFACTORY, FOLDER, StoreSpec, artifactory_store, folder_store, s3_store
from servers import curl_path

HERE = Path(__file__).resolve().parent
PUSH, PULL = "push", "pull"


@dataclass(frozen=True)
class Baseline:
    """One baseline command of a direction, or why it cannot run here.

    ``target``: the ratio fsartifacts must reach against it alone. ``fastest``: it is
    one of a group of peers, and the target (the remote's ``fastest_target``) is met
    against the fastest of them.
    """

    label: str
    argv: list[str] | None
    why_not: str | None = None
    target: float | None = None
    fastest: bool = False
    env: dict[str, str] = field(default_factory=dict)


def peer_baseline(
    peer: Peer,
    label: str,
    argv: list[str],
    *,
    target: float | None = None,
    fastest: bool = False,
    env: dict[str, str] | None = None,
) -> Baseline:
    """``argv`` with the peer's executable first, or a baseline that says why not."""
    command = [peer.path, *argv] if peer.path is not None else None
    return Baseline(label, command, peer.why_not, target, fastest, env or {})


def synced(argv: list[str], path: Path) -> list[str]:
    """``argv`` then ``sync PATH``: the baseline made as durable as fsartifacts, which
    fsyncs what it writes before renaming it into place."""
    return ["sh", "-c", 'target=$1; shift; "$@" && exec sync "$target"', "sh", str(path), *argv]


def verified(argv: list[str], path: Path) -> list[str]:
    """``argv && sha256sum PATH && sync PATH``: a tool that also verifies what it wrote
    (one more read of it) and makes it durable, as fsartifacts does."""
    script = 'target=$1; shift; "$@" && sha256sum "$target" >/dev/null && exec sync "$target"'
    return ["sh", "-c", script, "sh", str(path), *argv]


class LargeRemote(ABC):
    """A store for the large-file cases, with its baseline commands."""

    fastest_target: float | None = None  # against the fastest of the ``fastest`` baselines

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec

    def stored(self, name: str) -> Path:
        """The local file holding the remote copy ``name`` (folder store only)."""
        raise TypeError(f"{type(self).__name__} keeps no local file per copy")

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete the remote copy ``name`` (and what goes with it); fine when absent."""

    @abstractmethod
    def baselines(self, direction: str, local: Path, name: str) -> list[Baseline]:
        """The baselines that upload ``local`` as ``name`` (PUSH) or download ``name`` to
        ``local`` (PULL)."""


class FolderRemote(LargeRemote):
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        super().__init__(folder_store(folder))

    def stored(self, name: str) -> Path:
        return self.folder / name

    def remove(self, name: str) -> None:
        for path in (self.folder / name, self.folder / f"{name}.sha256"):
            path.unlink(missing_ok=True)

    def baselines(self, direction: str, local: Path, name: str) -> list[Baseline]:
        src, dst = (local, self.folder / name) if direction == PUSH else (self.folder / name, local)
        cp = ["cp", str(src), str(dst)]
        return [
            Baseline("cp", cp),
            Baseline("cp && sync", synced(cp, dst)),
            Baseline("cp && sha256sum && sync", verified(cp, dst), target=1.0),
        ]


class ArtifactoryRemote(LargeRemote):
    def __init__(self, bench: Bench, path: str) -> None:
        self.server = bench.artifactory()
        self.path = path
        self.curl = curl_path()
        super().__init__(artifactory_store(self.server.url, self.server.repo, path))

    def url(self, name: str) -> str:
        return self.server.file_url(f"{self.path}/{name}")

    def remove(self, name: str) -> None:
        import requests

        response = requests.delete(self.url(name), timeout=120)
        if response.status_code not in (204, 404):
            response.raise_for_status()

    def baselines(self, direction: str, local: Path, name: str) -> list[Baseline]:
        curl = Peer("curl", self.curl, None if self.curl else "curl is not installed; "
                    "apt-get install curl")  # fmt: skip
        if direction == PUSH:
            # -H "Expect:": no 100-continue round trip, so curl gets no handicap.
            argv = ["-sS", "-f", "-H", "Expect:", "-T", str(local), self.url(name)]
            return [peer_baseline(curl, "curl -T", argv, target=0.9)]
        argv = ["-sS", "-f", "-o", str(local), self.url(name)]
        bare = peer_baseline(curl, "curl -o", argv, target=0.8)
        durable = bare.argv and synced(bare.argv, local)
        return [bare, Baseline("curl -o && sync", durable or None, bare.why_not, target=1.0)]


class S3Remote(LargeRemote):
    fastest_target = 1.0  # the faster of aws s3 cp and rclone copyto

    def __init__(self, bench: Bench, bucket: str, prefix: str) -> None:
        self.bench = bench
        self.moto = bench.moto()
        self.client = self.moto.client()
        self.client.create_bucket(Bucket=bucket)
        self.bucket, self.prefix = bucket, prefix
        super().__init__(s3_store(self.moto.url, bucket, prefix, self.moto.env))

    def remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}")

    def baselines(self, direction: str, local: Path, name: str) -> list[Baseline]:
        key = f"{self.prefix}/{name}"
        action = "upload" if direction == PUSH else "download"
        boto3 = [sys.executable, str(HERE / "baseline_boto3.py"), action, self.moto.url,
                 self.bucket, key, str(local)]  # fmt: skip
        s3_url, rclone_url = f"s3://{self.bucket}/{key}", f"{RCLONE_S3}:{self.bucket}/{key}"
        ends = (str(local), s3_url) if direction == PUSH else (s3_url, str(local))
        rclone_ends = (str(local), rclone_url) if direction == PUSH else (rclone_url, str(local))
        rclone_env = rclone_s3_env(self.moto.url, self.bench.work / "rclone.conf")
        peers = self.bench.peers
        return [
            Baseline(f"boto3 {action}_file", boto3),
            peer_baseline(peers.get(AWS), "aws s3 cp",
                          ["s3", "cp", "--only-show-errors", *ends, "--endpoint-url",
                           self.moto.url], fastest=True),
            peer_baseline(peers.get(RCLONE), "rclone copyto", ["copyto", *rclone_ends],
                          fastest=True, env=rclone_env),
        ]  # fmt: skip


def large_remote(bench: Bench, kind: str, tag: str) -> LargeRemote:
    """A fresh, empty remote of ``kind``; ``tag`` keeps cases apart."""
    if kind == FOLDER:
        return FolderRemote(bench.scratch(f"{tag}-store"))
    if kind == ARTIFACTORY:
        return ArtifactoryRemote(bench, tag)
    return S3Remote(bench, f"{tag}-bucket", "team")
