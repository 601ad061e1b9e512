"""The result of one operation on one artifact: what the CLI prints and ``--json`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

import semver

from fsartifacts.errors import FsArtifactsError

if TYPE_CHECKING:
    from fsartifacts.engine.lockfile import LockEntry

Action = Literal["pushed", "pulled", "skipped", "failed", "planned", "deleted"]


@dataclass
class Result:
    """What happened to one artifact."""

    artifact: str
    action: Action
    version: str | None = None
    remote: str | None = None
    local: str | None = None
    bytes: int = 0
    sha256: str | None = None
    error: str | None = None
    detail: str | None = None
    removed: list[str] = field(default_factory=list)  # local files a folder install takes away
    exit_code: int = field(default=0, metadata={"internal": True})
    lock: LockEntry | None = field(default=None, metadata={"internal": True}, repr=False)
    # The typed error of a failure, for Results.raise_for_status(); ``error`` is its text.
    exception: FsArtifactsError | None = field(
        default=None, metadata={"internal": True}, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("internal")
        }


class Results(list[Result]):
    """The results of one operation, one per artifact (or remote version), in order.

    A plain list, plus what ``requests`` users reach for: ``ok``, ``failed`` and
    ``raise_for_status()``.
    """

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    @property
    def failed(self) -> list[Result]:
        return [r for r in self if r.action == "failed"]

    def raise_for_status(self) -> Results:
        """Raise the typed error of the first failure, if any; else return these results."""
        for result in self.failed:
            if result.exception is not None:
                raise result.exception
            raise FsArtifactsError(result.error or f"{result.artifact}: failed")
        return self


def failure(artifact: str, error: FsArtifactsError) -> Result:
    """The result of an operation on ``artifact`` that ended in ``error``."""
    return Result(artifact, "failed", error=str(error), exit_code=error.exit_code, exception=error)


def version_text(version: semver.Version | None) -> str | None:
    return None if version is None else str(version)


def up_to_date(result: Result) -> Result:
    result.action, result.detail = "skipped", "up to date"
    return result


def not_installed(result: Result) -> Result:
    """A result held back because another artifact of the same all-or-nothing pull failed."""
    result.action, result.detail, result.lock = "skipped", "not installed", None
    return result


def planned(result: Result, detail: str) -> Result:
    result.action, result.detail = "planned", detail
    return result
