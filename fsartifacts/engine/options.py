"""What a caller asks of one push or one pull, as typed values.

Kept apart from the operations (and free of fsspec) so that the public API and the
CLI build them without importing a store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fsartifacts.engine.lockfile import InstallLog, LockEntry
from fsartifacts.engine.selection import EVERY_FILE, Selection


@dataclass(frozen=True)
class PushOptions:
    """How a push treats the store.

    ``force`` replaces a copy of the version that is already there; ``sync`` (the
    safe-to-repeat push) takes an identical copy as up to date and refuses only a
    different one; ``dry_run`` says what would move and moves nothing; ``resume``
    continues an upload an earlier run left unfinished (False starts it over).
    """

    prefix: str = ""
    force: bool = False
    sync: bool = False
    dry_run: bool = False
    resume: bool = True
    # Where the version comes from (engine.provenance), stored with what the push uploads.
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class PullOptions:
    """What a pull installs and where.

    ``override`` installs at the artifact's own path instead of its remote name;
    ``pre`` lets LATEST pick a pre-release; ``locked`` installs exactly that lock
    entry instead of resolving; ``skip_current`` (sync pull) leaves a destination
    that already holds the same content alone; ``selection`` takes part of a folder
    (a lock entry brings its own); ``resume`` continues a download an earlier run left
    unfinished (False starts it over); ``installs`` records each install in the step
    that makes it, for the lock file.
    """

    prefix: str = ""
    override: bool = False
    pre: bool = False
    dry_run: bool = False
    locked: LockEntry | None = None
    skip_current: bool = False
    selection: Selection = EVERY_FILE
    resume: bool = True
    installs: InstallLog = field(default_factory=InstallLog, compare=False, hash=False)
