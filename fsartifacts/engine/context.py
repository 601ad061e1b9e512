"""What one push or pull works with: the store, the project root, the remote index,
its aliases, the claims this run holds, the hash cache, the transfer settings, the progress
hook and the journals of uploads a later run can continue.

Push and pull receive this, never the engine that runs them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsartifacts.config.model import TransferSettings
from fsartifacts.engine.aliases import Aliases
from fsartifacts.engine.heldclaims import HeldClaims
from fsartifacts.engine.index import RemoteIndex
from fsartifacts.engine.transfers import Transfers
from fsartifacts.hashcache import HashCache
from fsartifacts.progress import ProgressFactory
from fsartifacts.progressbars import Tally
from fsartifacts.stores.base import StoreOps
from fsartifacts.stores.filerunner import FileRunner
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.store import Store


@dataclass(frozen=True)
class Context:
    """The parts of a run that one operation on one artifact uses."""

    store: Store
    root: Path
    index: RemoteIndex
    aliases: Aliases
    claims: HeldClaims
    hashes: HashCache
    transfer: TransferSettings
    progress: ProgressFactory
    # Every file transfer of the run, whatever artifact it is of, holds one of its slots.
    transfers: Transfers = field(default_factory=lambda: Transfers(1))
    # Where uploads a later run can continue keep their journals (in the project).
    journals: UploadJournals | None = None
    # Set once the store answered a ranged read with something else (the whole file):
    # its large files download in one stream for the rest of the run.
    ranges_refused: threading.Event = field(default_factory=threading.Event)

    @property
    def ops(self) -> StoreOps:
        return self.store.ops

    def tally(
        self, artifact: str, version: str | None, size: int | None, files: int | None = None
    ) -> Tally:
        """The progress of one artifact's transfer: one bar, fed by each of its files."""
        label = f"{artifact} {version}" if version else artifact
        if files is None:
            return Tally(self.progress(label, size))
        return Tally(self.progress(label, size, files))

    def files(
        self, tally: Tally, size_of: Callable[[Any], int], *, leave: bool = False
    ) -> FileRunner:
        """The runner of one folder's files, reporting to ``tally``: on a store on this
        machine the small ones (by ``size_of``) on the calling thread (see
        :mod:`fsartifacts.engine.transfers`). ``leave``: once stopped, the files of a
        remote store's still in flight may be left after a short grace."""
        local = self.ops.on_this_machine
        return self.transfers.files(tally, size_of if local else None, leave=leave and not local)
