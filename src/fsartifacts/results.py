"""The result of one operation on one artifact: what the CLI prints and ``--json`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

import semver

if TYPE_CHECKING:
    from .lockfile import LockEntry

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
    exit_code: int = field(default=0, metadata={"internal": True})
    lock: LockEntry | None = field(default=None, metadata={"internal": True}, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("internal")
        }


def version_text(version: semver.Version | None) -> str | None:
    return None if version is None else str(version)


def entry_size(entry: dict[str, Any]) -> int | None:
    """The size of a listing entry (Artifactory sends it as a string), or None."""
    try:
        return int(entry["size"]) if entry.get("size") is not None else None
    except (TypeError, ValueError):
        return None


def up_to_date(result: Result) -> Result:
    result.action, result.detail = "skipped", "up to date"
    return result


def planned(result: Result, detail: str) -> Result:
    result.action, result.detail = "planned", detail
    return result
