"""The ways of moving a folder's versions that the ``folders`` case measures: fsartifacts
and each peer, on one store, with the same parallelism.

Each tool runs four steps, each one command (a process of its own): push 1.0.0 of
the folder, pull it into an empty place, push 1.1.0 (1% of its files changed), and
move the pulled copy to 1.1.0. A step the tool cannot do on this store is a string:
why not, shown as such in the table.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from measure import Sample, expect_actions, run_measured
from peers import AWS, DVC, RCLONE, RCLONE_S3, Peer, Peers, aws_config, rclone_s3_env
from projects import StoreSpec, fsartifacts_command, write_project
from servers import child_env

PUSH, PULL, PUSH_NEXT, PULL_NEXT = "push", "pull", "push next", "sync pull next"
STEPS = (PUSH, PULL, PUSH_NEXT, PULL_NEXT)
V1, V2 = "1.0.0", "1.1.0"
Step = Callable[[], Sample] | str  # the step's command, or why it does not run here


@dataclass
class Place:
    """What every tool of one store works with: the producer's folder (``root/data``), a
    scratch folder for the tool's own state, the store, and the parallelism.

    Each tool keeps its copies under a prefix of its own (its first word) in ``base``
    (an S3 bucket, or an Artifactory repository and folder); ``clear(prefix)`` deletes
    them, ``spec(prefix)`` is fsartifacts' store there.
    """

    root: Path  # holds data/, the folder every tool pushes
    scratch: Path
    endpoint: str  # the server's URL
    base: str  # BUCKET on moto, REPO/FOLDER on Artifactory
    spec: Callable[[str], StoreSpec]
    clear: Callable[[str], None]
    env_base: dict[str, str]  # what a child needs to reach the store (AWS settings)
    jobs: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def files(self) -> list[str]:
        """The folder's files, as paths relative to it."""
        return sorted(p.relative_to(self.data).as_posix() for p in self.data.rglob("*")
                      if p.is_file())  # fmt: skip

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return child_env({**self.env_base, **(extra or {})})


class FolderTool(ABC):
    """One tool: ``reset`` (untimed) clears what it left on the store and locally; ``steps``
    gives its four steps."""

    label: str

    def __init__(self, place: Place) -> None:
        self.place = place
        self.prefix = self.label.split()[0]  # its folder on the store and in the scratch
        self.home = place.scratch / self.prefix

    def reset(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        self.place.clear(self.prefix)

    @abstractmethod
    def steps(self) -> dict[str, Step]:
        """Each of STEPS: its command, or why it cannot run here."""

    def run(self, argv: list[str], cwd: Path | None = None, **extra: str) -> Sample:
        # Every step starts with the producer's folder cached (see into_page_cache): rclone
        # drops what it has pushed from the cache, and the tool after it would read it
        # from the disk.
        return run_measured(argv, cwd=cwd or self.home, env=self.place.env(extra),
                            reads=[self.place.data])  # fmt: skip


class Fsartifacts(FolderTool):
    """``push data -j N``; the consumer's ``sync pull data -o -j N`` (into an empty place,
    then from 1.0.0 to 1.1.0). Producer and consumer each keep their hash cache for the
    run, as a developer's machine does."""

    label = "fsartifacts"

    def _command(self, project: Path, version: str, cache: str, *args: str) -> Sample:
        write_project(project, self.place.spec(self.prefix), [("data", "data")], version)
        argv = [*fsartifacts_command(), *args, "-j", str(self.place.jobs), "--json"]
        sample = self.run(argv, project, FSARTIFACTS_CACHE_DIR=str(self.home / cache))
        expect_actions(sample, "pushed" if args[0] == "push" else "pulled")
        return sample

    def steps(self) -> dict[str, Step]:
        consumer = self.home / "consumer"

        def push(version: str) -> Callable[[], Sample]:
            return lambda: self._command(self.place.root, version, "producer-cache", "push", "data")

        def pull(version: str) -> Callable[[], Sample]:
            return lambda: self._command(consumer, version, "consumer-cache",
                                         "sync", "pull", "data", "-o")  # fmt: skip

        return {PUSH: push(V1), PULL: pull(V1), PUSH_NEXT: push(V2), PULL_NEXT: pull(V2)}


class PeerTool(FolderTool):
    """A peer: its executable, or why it is not here (then every step says so)."""

    def __init__(self, place: Place, peer: Peer) -> None:
        super().__init__(place)
        self.peer = peer

    def steps(self) -> dict[str, Step]:
        if not self.peer.ok:
            return dict.fromkeys(STEPS, f"not run ({self.peer.why_not})")
        return self.peer_steps()

    @abstractmethod
    def peer_steps(self) -> dict[str, Step]: ...

    @property
    def exe(self) -> str:
        assert self.peer.path is not None
        return self.peer.path


class Rclone(PeerTool):
    """``rclone copy --transfers N``; 1.1.0 with ``--copy-dest`` 1.0.0 (unchanged files are
    copied on the server), the consumer moved with ``rclone sync`` (size and mtime)."""

    label = "rclone copy/sync"

    def peer_steps(self) -> dict[str, Step]:
        env = rclone_s3_env(self.place.endpoint, self.home / "rclone.conf")
        base = f"{RCLONE_S3}:{self.place.base}/{self.prefix}"
        dest = str(self.home / "consumer")
        n = ["--transfers", str(self.place.jobs), "--checkers", str(self.place.jobs)]

        def run(*argv: str) -> Callable[[], Sample]:
            return lambda: self.run([self.exe, *argv, *n], **env)

        return {
            PUSH: run("copy", str(self.place.data), f"{base}/data_v{V1}"),
            PULL: run("copy", f"{base}/data_v{V1}", dest),
            PUSH_NEXT: run("copy", "--copy-dest", f"{base}/data_v{V1}", str(self.place.data),
                           f"{base}/data_v{V2}"),
            PULL_NEXT: run("sync", f"{base}/data_v{V2}", dest),
        }  # fmt: skip


class AwsSync(PeerTool):
    """``aws s3 sync`` with ``max_concurrent_requests`` N; 1.1.0 to a prefix of its own
    (it reuses nothing across prefixes), the consumer moved with ``aws s3 sync``."""

    label = "aws s3 sync"

    def peer_steps(self) -> dict[str, Step]:
        env = aws_config(self.home / "aws-config", self.place.jobs)
        endpoint = ["--endpoint-url", self.place.endpoint, "--only-show-errors"]
        base = f"s3://{self.place.base}/{self.prefix}"
        dest = str(self.home / "consumer")

        def run(src: str, dst: str) -> Callable[[], Sample]:
            return lambda: self.run([self.exe, "s3", "sync", src, dst, *endpoint], **env)

        return {
            PUSH: run(str(self.place.data), f"{base}/data_v{V1}"),
            PULL: run(f"{base}/data_v{V1}", dest),
            PUSH_NEXT: run(str(self.place.data), f"{base}/data_v{V2}"),
            PULL_NEXT: run(f"{base}/data_v{V2}", dest),
        }


class Dvc(PeerTool):
    """``dvc add data && dvc push -j N`` in the producer's repository (``dvc init
    --no-scm``, an S3 remote on moto); ``dvc pull -j N`` in a consumer's repository
    given the producer's ``data.dvc`` of each version."""

    label = "dvc push/pull"

    @property
    def env(self) -> dict[str, str]:
        """No analytics; dvc's global and site config in the scratch, not the user's."""
        own = str(self.home / "dvc-global")
        return {"DVC_NO_ANALYTICS": "1", "DVC_GLOBAL_CONFIG_DIR": own, "DVC_SITE_CACHE_DIR": own}

    def reset(self) -> None:
        super().reset()
        shutil.rmtree(self.place.root / ".dvc", ignore_errors=True)
        (self.place.root / "data.dvc").unlink(missing_ok=True)
        if not self.peer.ok:
            return
        url, endpoint = f"s3://{self.place.base}/{self.prefix}", self.place.endpoint
        consumer = self.home / "consumer"
        consumer.mkdir()
        for repo in (self.place.root, consumer):  # untimed: the repositories and their remote
            self.run([self.exe, "init", "--no-scm", "-q"], repo, **self.env)
            self.run([self.exe, "remote", "add", "-d", "bench", url], repo, **self.env)
            self.run([self.exe, "remote", "modify", "bench", "endpointurl", endpoint], repo,
                     **self.env)  # fmt: skip

    def peer_steps(self) -> dict[str, Step]:
        consumer = self.home / "consumer"
        jobs = str(self.place.jobs)

        def push(version: str) -> Callable[[], Sample]:
            def run() -> Sample:
                script = f'"$1" add -q data && "$1" push -q -j {jobs}'
                sample = self.run(["sh", "-c", script, "sh", self.exe], self.place.root, **self.env)
                shutil.copy(self.place.root / "data.dvc", self.home / f"data.dvc.{version}")
                return sample

            return run

        def pull(version: str) -> Callable[[], Sample]:
            def run() -> Sample:
                shutil.copy(self.home / f"data.dvc.{version}", consumer / "data.dvc")
                return self.run([self.exe, "pull", "-q", "-j", jobs], consumer, **self.env)

            return run

        return {PUSH: push(V1), PULL: pull(V1), PUSH_NEXT: push(V2), PULL_NEXT: pull(V2)}


def s3_tools(place: Place, peers: Peers) -> list[FolderTool]:
    """fsartifacts and its peers on moto."""
    return [Fsartifacts(place), Rclone(place, peers.get(RCLONE)),
            AwsSync(place, peers.get(AWS)), Dvc(place, peers.get(DVC))]  # fmt: skip


# -- on the local Artifactory server -------------------------------------------------


class CurlParallel(PeerTool):
    """One ``curl --parallel --parallel-max N`` per step, its transfers listed in a config
    file (``-K``): every file ``-T`` to its URL, or every URL ``-o`` to its file. curl
    cannot list a folder, so it is given the file list (a head start over the others);
    it reuses nothing: 1.1.0 is sent and fetched whole."""

    label = "curl --parallel"

    def peer_steps(self) -> dict[str, Step]:
        dest = self.home / "consumer"

        def url(version: str, name: str) -> str:
            return f"{self.place.endpoint}/{self.place.base}/{self.prefix}/data_v{version}/{name}"

        def run(version: str, push: bool) -> Callable[[], Sample]:
            config = self.home / f"curl-{'push' if push else 'pull'}-{version}.conf"
            lines = []
            for name in self.place.files():
                local = (self.place.data if push else dest) / name
                lines += [f'{"upload-file" if push else "output"} = "{local}"',
                          f'url = "{url(version, name)}"']  # fmt: skip
            config.write_text("\n".join(lines) + "\n")
            argv = [self.exe, "-sS", "-f", "-Z", "--parallel-max", str(self.place.jobs),
                    "-K", str(config)]  # fmt: skip
            argv += ["-H", "Expect:"] if push else ["--create-dirs"]
            return lambda: self.run(argv)

        return {PUSH: run(V1, True), PULL: run(V1, False),
                PUSH_NEXT: run(V2, True), PULL_NEXT: run(V2, False)}  # fmt: skip


class RcloneHttp(PeerTool):
    """rclone has no Artifactory backend. Its WebDAV backend stops at its first request
    here (the local server answers ``PROPFIND`` with 501), so it pushes nothing; its HTTP
    backend reads the server's folder listings (HTML), so it pulls, with ``copy
    --transfers N`` and then ``sync``, the copies fsartifacts pushed in the same run."""

    label = "rclone http"
    NO_PUSH = ("not run (rclone has no Artifactory backend, and its WebDAV one fails here: "
               "PROPFIND is answered 501)")  # fmt: skip

    def reset(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)  # it reads fsartifacts' copies: nothing to clear

    def peer_steps(self) -> dict[str, Step]:
        dest = str(self.home / "consumer")
        n = ["--transfers", str(self.place.jobs), "--checkers", str(self.place.jobs)]
        env = {"RCLONE_CONFIG": str(self.home / "rclone.conf")}

        def source(version: str) -> str:
            url = f"{self.place.endpoint}/{self.place.base}/{Fsartifacts.label}/data_v{version}/"
            return f":http,url='{url}':"

        def run(*argv: str) -> Callable[[], Sample]:
            return lambda: self.run([self.exe, *argv, *n], **env)

        return {PUSH: self.NO_PUSH, PULL: run("copy", source(V1), dest),
                PUSH_NEXT: self.NO_PUSH, PULL_NEXT: run("sync", source(V2), dest)}  # fmt: skip


def artifactory_tools(place: Place, peers: Peers, curl: str | None) -> list[FolderTool]:
    """fsartifacts and its peers on the local Artifactory server (fsartifacts first: rclone
    reads what it pushed)."""
    why = None if curl else "curl is not installed; apt-get install curl"
    return [Fsartifacts(place), CurlParallel(place, Peer("curl", curl, why)),
            RcloneHttp(place, peers.get(RCLONE))]  # fmt: skip
