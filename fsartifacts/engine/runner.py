"""The sync engine: versioned push and pull of artifacts on any store.

It speaks only to a :class:`~fsartifacts.stores.Store` (an fsspec filesystem,
a root, and the StoreOps capability hook). For each artifact it plans first
(what moves, what is already there), then transfers, hashing on the way,
verifies against the strongest checksum the store offers, and installs
atomically. Every artifact ends in a :class:`Result`, never in an exception
that stops the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import semver

from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine import listnotes, provenance
from fsartifacts.engine.aliases import Aliases
from fsartifacts.engine.context import Context
from fsartifacts.engine.heldclaims import HeldClaims
from fsartifacts.engine.index import RemoteIndex
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.options import PullOptions, PushOptions
from fsartifacts.engine.results import Result, Results, failure, planned, version_text
from fsartifacts.engine.transfers import Transfers
from fsartifacts.errors import (
    AuthError,
    ConflictError,
    FsArtifactsError,
    InternalError,
    NotFoundError,
    typed_error,
)
from fsartifacts.hashcache import HashCache
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.stores.journals import UploadJournals
from fsartifacts.stores.store import Store
from fsartifacts.versionspec import VersionSpec

log = logging.getLogger("fsartifacts")

Item = TypeVar("Item", Artifact, RemoteCopy)
T = TypeVar("T")
R = TypeVar("R")


class Engine:
    """Push and pull artifacts between a project root and one store."""

    def __init__(
        self,
        store: Store,
        root: Path,
        *,
        jobs: int | None = None,
        transfer: TransferSettings | None = None,
        hash_cache: HashCache | None = None,
        auth_error: Callable[[PermissionError], AuthError] | None = None,
        progress: ProgressFactory = no_progress,
    ) -> None:
        self.store = store
        self.ops = store.ops
        self.root = root
        self.transfer = transfer or TransferSettings()
        self.jobs = max(1, jobs or self.transfer.jobs)
        self.progress = progress
        self.hashes = hash_cache or HashCache()
        self._auth_error = auth_error
        self.index = RemoteIndex(store, self.translate)
        self.aliases = Aliases(store, self.index)
        self.claims = HeldClaims(store.ops)
        self.context = Context(
            store, root, self.index, self.aliases, self.claims, self.hashes, self.transfer,
            progress, Transfers(self.jobs), UploadJournals.of_project(root),
        )  # fmt: skip

    # -- running many -----------------------------------------------------------

    def run(
        self,
        work: Callable[[Item], Result],
        items: Iterable[Item],
        done: Callable[[Result], None] | None = None,
        *,
        version_of: Callable[[Item], str | None] | None = None,
    ) -> Results:
        """``work`` for every item (artifacts, or remote copies), ``jobs`` at a time.

        A failure becomes a "failed" result for that item, with the version it was
        about when known (``version_of``; a remote copy's own); the others go on.
        ``done`` is called with each result as soon as it is there (from the
        worker's thread), so a caller interrupted half way knows what finished.
        """
        items = list(items)

        def attempt(item: Item) -> Result:
            name = item.name if isinstance(item, Artifact) else item.artifact
            try:
                result = work(item)
            except Exception as exc:
                error = self.translate(exc, name)
                if not isinstance(error, InternalError):  # whose traceback translate logged
                    log.debug("%s failed", name, exc_info=exc)
                result = failure(name, error)
                if version_of is not None:
                    result.version = version_of(item)
                elif isinstance(item, RemoteCopy):
                    result.version = version_text(item.version)
            if done is not None:
                done(result)
            return result

        if len(items) <= 1 or self.jobs == 1:
            return Results(attempt(a) for a in items)
        try:
            return Results(in_threads(min(self.jobs, len(items)), attempt, items))
        except KeyboardInterrupt:
            self.claims.release_all()
            raise

    def translate(self, exc: BaseException, what: str) -> FsArtifactsError:
        """The typed error a failure of ``what`` means to the user."""
        if isinstance(exc, FsArtifactsError):
            return exc
        if isinstance(exc, PermissionError):
            if self._auth_error is not None:
                return self._auth_error(exc)
            return AuthError(f"{what}: the store refused access: {exc}")
        if isinstance(exc, FileNotFoundError):
            return NotFoundError(f"{what}: not found on {self.store.display}: {exc}")
        if isinstance(exc, FileExistsError):
            return ConflictError(f"{what}: already exists on {self.store.display}: {exc}")
        error = typed_error(exc, what)
        if isinstance(error, InternalError):
            # Its traceback is what the report of the bug needs: -v shows it.
            log.info("%s: internal error", what, exc_info=exc)
        return error

    # -- operations -------------------------------------------------------------

    def find(
        self,
        artifact: Artifact,
        requested: VersionSpec | str,
        base: semver.Version,
        *,
        prefix: str = "",
        pre: bool = False,
    ) -> RemoteCopy:
        """The copy ``requested`` (exact, LATEST, a range, @alias: see
        ``fsartifacts.versionspec``) means now; ``base`` is what LATEST is judged against."""
        return self.aliases.find(artifact, requested, base, prefix=prefix, pre=pre)

    def push(
        self, artifact: Artifact, version: semver.Version, options: PushOptions | None = None
    ) -> Result:
        """See :func:`fsartifacts.engine.push.push_artifact`."""
        # Imported by the commands that transfer: a listing loads none of their modules.
        from fsartifacts.engine.push import push_artifact

        return push_artifact(self.context, artifact, version, options or PushOptions())

    def pull(
        self,
        artifact: Artifact,
        requested: VersionSpec | str,
        base: semver.Version,
        options: PullOptions | None = None,
    ) -> Result:
        """See :func:`fsartifacts.engine.pull.pull_artifact`."""
        from fsartifacts.engine.pull import pull_artifact

        return pull_artifact(self.context, artifact, requested, base, options or PullOptions())

    def remove(self, copy: RemoteCopy, *, dry_run: bool = False) -> Result:
        """Delete one remote copy; a folder loses its manifest first, so it is never
        visible half deleted."""
        url = self.store.url(copy.display_name)
        result = Result(copy.artifact, "deleted", version_text(copy.version), url, None,
                        copy.size or 0)  # fmt: skip
        if dry_run:
            return planned(result, "would delete")
        try:
            if copy.kind == "folder":
                # Not under a push of the same version (say with --force) writing there.
                with self.claims.claimed(copy.artifact, copy.path, url):
                    self.ops.remove(copy.manifest_path)
                    listnotes.remove(self.ops, copy.notes)
                    self.ops.remove(copy.path, recursive=True)
            else:
                self.ops.remove(copy.path)
                with contextlib.suppress(FileNotFoundError):
                    self.ops.remove(self.store.path(provenance.object_name(copy.name)))
                listnotes.remove(self.ops, copy.notes)
        finally:
            self.index.invalidate()
        return result

    def with_folder_sizes(self, copies: list[RemoteCopy]) -> list[RemoteCopy]:
        """``copies`` with the size of each folder whose listing note gave none (one pushed
        before fsartifacts noted it there), read from its manifest."""

        def sized(copy: RemoteCopy) -> RemoteCopy:
            if copy.kind != "folder" or copy.size is not None:
                return copy
            try:
                manifest = Manifest.from_bytes(self.ops.read_bytes(copy.manifest_path), copy.path)
            except Exception:  # a size is only shown: an unreadable manifest leaves it unknown
                log.debug("%s: no size from its manifest", copy.path, exc_info=True)
                return copy
            return dataclasses.replace(copy, size=manifest.size)

        folders = sum(1 for c in copies if c.kind == "folder")
        if folders <= 1 or self.jobs == 1:
            return [sized(c) for c in copies]
        return in_threads(min(self.jobs, folders), sized, copies)

    def prune_plan(self, artifact: Artifact, keep: int, prefix: str = "") -> list[RemoteCopy]:
        """The copies ``prune --keep`` deletes: all but the newest ``keep`` of each major,
        and never one an alias points at (kept beyond the ``keep``)."""
        doomed: list[RemoteCopy] = []
        kept: dict[int, int] = {}
        copies = self.index.copies(artifact, prefix)  # newest first
        aliased = {a.version for a in self.aliases.list(artifact, prefix)} if copies else set()
        for copy in copies:
            if copy.version is None or copy.version in aliased:
                continue
            kept[copy.version.major] = kept.get(copy.version.major, 0) + 1
            if kept[copy.version.major] > keep:
                doomed.append(copy)
        return doomed


def in_threads(threads: int, work: Callable[[T], R], items: list[T]) -> list[R]:
    """``work(item)`` for each of ``items``, ``threads`` at a time; the results in order.

    Interrupted (Ctrl-C, SIGTERM), it starts nothing more and returns at once, without
    waiting for the items still running: one waiting on a stalled server would hold the
    interrupt until its reads time out. The CLI exits without them.
    """
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        results = list(pool.map(work, items))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results
