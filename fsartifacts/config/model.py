"""The configuration as the rest of fsartifacts sees it, its names and limits.

A leaf of the config modules: loading (:mod:`fsartifacts.config.load`) builds these
objects, and ``fsartifacts validate`` shows them back as :func:`config_as_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fsartifacts.redaction import redacted
from fsartifacts.sizes import MiB

if TYPE_CHECKING:
    # Built by the configuration (:mod:`fsartifacts.config.build`), which imports them.
    from fsartifacts.stores.artifactory.settings import ArtifactorySettings
    from fsartifacts.stores.s3.settings import S3Settings

StoreKind = Literal["s3", "artifactory", "url"]
ConfigFlavour = Literal["fsartifacts", "skelebot"]


@dataclass(frozen=True)
class Artifact:
    """One artifact of the project, as configured."""

    name: str
    file: str  # relative to the project root, POSIX separators, as written in the config
    singular: bool = False
    ext: str | None = None  # explicit remote extension, dot included (".pkl"), or None
    version: str | None = None  # a pinned version of its own, or None for the project's


@dataclass(frozen=True)
class Repository:
    """Where artifacts go: exactly one of the three store kinds, with its typed settings
    (``url`` and the fsspec storage ``options`` for any other fsspec URL)."""

    kind: StoreKind
    s3: S3Settings | None = None
    artifactory: ArtifactorySettings | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    artifacts: tuple[Artifact, ...] = ()

    def settings_as_dict(self) -> dict[str, Any]:
        """The store's settings by their configuration keys."""
        typed = self.s3 or self.artifactory
        if typed is not None:
            return typed.as_dict()
        return {"url": self.url, "options": dict(self.options)}

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)


@dataclass(frozen=True)
class TransferSettings:
    jobs: int = 4
    attempts: int = 5
    timeout: float = 30.0
    part_size: int = 8 * MiB
    # A file larger than ``ranged_from`` bytes, on a store that serves ranges, is
    # downloaded ``ranges`` ranges of ``range_size`` at a time (1: one stream).
    # Artifactory too: it serves each range from its filestore at disk or network speed
    # (JFrog's own CLI splits a download of 5 MiB or more into 3 ranges). Two at once:
    # with writers that never wait for the in-order hash, two connections already bring
    # the bytes faster than the sha256 takes them (about 0.6 s of CPU per GiB, on one
    # thread), and each further one only adds CPU: its writer thread, its bytes written
    # ahead and read back for the hash, four writers' page-cache writes into one file
    # contending for it. A 1 GiB pull from the local server, 4 alternated runs each, 2 cores:
    # 2 ranges 1.49 s (1.74 s of CPU) against 4 ranges 1.55 s (1.76 s) at load 2.3, and
    # 2.95 s (1.87 s) against 6.41 s (3.56 s) at load 5-8. Where one connection is much
    # slower than the link (a remote server far away), more ranges pay: raise it there.
    ranges: int = 2
    # Large ranges: each GET has its cost on the server (moto reads the whole object for
    # every ranged GET: a 256 MiB pull in 16 MiB ranges took 1.6-2.2x as long as in 64 MiB
    # ones, measured alternately). Memory is bounded by the blocks in flight, not by the
    # range; the journal is written as each range completes, so a killed pull loses at
    # most the bytes received since the last one did.
    range_size: int = 64 * MiB
    # Several streams only above 256 MiB, rclone's multi-thread cutoff: up to there one
    # stream wins here. A ranged pull costs the client more CPU (the staged file hashed
    # back from the disk, a writer thread per range) and the store one GET per range; on
    # moto 256 MiB in one stream took 4.95 s against 6.07 s in 4 x 64 MiB (medians of 4
    # alternated runs; rclone 2.5 s, one stream too), partly because moto reads the whole
    # object for each ranged GET. Real S3 serves each connection at a bounded rate, so
    # a file of 64-256 MiB over a fast link would arrive sooner in ranges: set
    # ``ranged_from`` lower there (each range's GET is billed, and the gain is a few
    # seconds at most at that size).
    ranged_from: int = 256 * MiB


@dataclass(frozen=True)
class Config:
    """A loaded, validated configuration."""

    path: Path  # the config file that was read
    root: Path  # the project root: the folder holding it
    flavour: ConfigFlavour
    repository: Repository
    transfer: TransferSettings = field(default_factory=TransferSettings)
    version: str | None = None  # `version:` of fsartifacts.yaml (never read from skelebot.yaml)
    warnings: tuple[str, ...] = ()
    env: str | None = None  # the environment overlay applied (-e/--env), if any


# --------------------------------------------------------------------------- names and limits

CONFIG_FILE = "fsartifacts.yaml"
SKELEBOT_FILE = "skelebot.yaml"
ENV_CONFIG = "FSARTIFACTS_CONFIG"
ENV_ENV = "FSARTIFACTS_ENV"
ENV_JOBS = "FSARTIFACTS_JOBS"
ENV_ATTEMPTS = "FSARTIFACTS_ATTEMPTS"
ENV_TIMEOUT = "FSARTIFACTS_TIMEOUT"
ENV_PART_SIZE = "FSARTIFACTS_PART_SIZE"
ENV_RANGES = "FSARTIFACTS_RANGES"
ENV_RANGE_SIZE = "FSARTIFACTS_RANGE_SIZE"
ENV_RANGED_FROM = "FSARTIFACTS_RANGED_FROM"

STORE_KINDS: tuple[StoreKind, ...] = ("s3", "artifactory", "url")
RESERVED_NAMES = frozenset({"ALL", "LATEST"})  # command keywords, compared in any case


# --------------------------------------------------------------------------- showing the config


def store_notes(url: str | None) -> list[str]:
    """What a user should know about a store URL that is valid but may surprise."""
    if url and url.strip().lower().startswith("memory://"):
        return [
            "repository.url: a memory:// store lives only as long as the process: what a "
            "command pushes there is gone when it ends (use it from Python, or for tests)"
        ]
    return []


def config_as_dict(config: Config) -> dict[str, Any]:
    """The resolved configuration as plain data for ``fsartifacts validate``, redacted."""
    repo = config.repository
    return redacted(
        {
            "config": str(config.path),
            "flavour": config.flavour,
            "environment": config.env,
            "root": str(config.root),
            "version": config.version,
            "repository": {"kind": repo.kind, repo.kind: repo.settings_as_dict()},
            "artifacts": [
                {
                    "name": a.name,
                    "file": a.file,
                    "singular": a.singular,
                    "ext": a.ext,
                    "version": a.version,
                }
                for a in repo.artifacts
            ],
            "transfer": {
                "jobs": config.transfer.jobs,
                "attempts": config.transfer.attempts,
                "timeout": config.transfer.timeout,
                "part_size": config.transfer.part_size,
                "ranges": config.transfer.ranges,
                "range_size": config.transfer.range_size,
                "ranged_from": config.transfer.ranged_from,
            },
            "warnings": list(config.warnings),
            "notes": store_notes(repo.url),
        }
    )
