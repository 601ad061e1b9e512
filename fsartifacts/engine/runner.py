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
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import semver

from fsartifacts.config.model import Artifact, TransferSettings
from fsartifacts.engine import claims, naming
from fsartifacts.engine.aliases import ALIAS_MARK, Aliases
from fsartifacts.engine.claims import ABANDONED_AFTER_TEXT, Claim, Holder, claim_path
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.pull import pull_artifact
from fsartifacts.engine.push import push_artifact
from fsartifacts.engine.results import Result, Results, failure, planned, version_text
from fsartifacts.errors import (
    AuthError,
    ConflictError,
    FsArtifactsError,
    NotFoundError,
    StoreNotFoundError,
    TransferError,
    option,
)
from fsartifacts.hashing import HashCache
from fsartifacts.progress import ProgressFactory, no_progress
from fsartifacts.stores.base import Store
from fsartifacts.versioning import is_latest_keyword, latest_compatible, parse_version

log = logging.getLogger("fsartifacts")

Item = TypeVar("Item", Artifact, RemoteCopy)


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
        self._listing: list[dict[str, Any]] | None = None
        self._listing_error: FsArtifactsError | None = None
        self._store_missing: StoreNotFoundError | None = None  # one a push would create
        self._listing_lock = threading.Lock()
        # claim object path -> the claim this run holds there, and its renewal's stop switch
        self._claims: dict[str, tuple[Claim, threading.Event]] = {}
        self._claims_lock = threading.Lock()
        self._interrupted = False

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
                log.debug("%s failed", name, exc_info=True)
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
        pool = ThreadPoolExecutor(max_workers=min(self.jobs, len(items)))
        try:
            results = Results(pool.map(attempt, items))
        except KeyboardInterrupt:
            # Do not start what is queued; the CLI exits without waiting for the rest.
            pool.shutdown(wait=False, cancel_futures=True)
            self.release_claims()
            raise
        pool.shutdown()
        return results

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
        detail = str(exc) or type(exc).__name__
        return TransferError(f"{what}: {detail}")

    # -- claims held by this run ------------------------------------------------

    @contextlib.contextmanager
    def claimed(self, what: str, rpath: str, url: str) -> Iterator[Claim]:
        """Hold the folder version at ``rpath`` for the block, or fail at once when another
        push holds it: whatever writes or deletes under ``rpath`` does it inside."""
        ops, path, claim = self.ops, claim_path(rpath), Claim.new()
        if not ops.atomic_create:
            log.info(
                "%s: this store has no create-if-absent write, so the version is taken by an "
                "election among claim objects (the earliest wins), not atomically",
                url,
            )
        holder = self.take_claim(path, claim)
        if holder is not None and holder.abandoned():
            log.info("%s: removing the claim of an abandoned push (%s)", url, holder.describe())
            if ops.remove_holder(holder):
                holder = self.take_claim(path, claim)
        if holder is not None:
            raise ConflictError(
                f"{what}: another push of {url} is under way ({holder.describe()}); "
                "run this again once it is done. A claim left by a killed push is swept "
                f"after {ABANDONED_AFTER_TEXT}, or at once by `fsartifacts gc --older-than 0s`."
            )
        try:
            yield claim
        finally:
            self.drop_claim(path, claim)

    def take_claim(self, path: str, claim: Claim) -> Holder | None:
        """Take ``claim`` on ``path`` for this run (see StoreOps.claim): None once taken.

        While it is held, a daemon thread renews it every ``claims.RENEW_EVERY``, so
        that a push slower than the abandonment age keeps its claim.
        """
        # Under the lock, so that an interrupt's release_claims cannot miss a claim
        # being taken: the lock is held for one small write.
        with self._claims_lock:
            if self._interrupted:
                raise KeyboardInterrupt
            holder = self.ops.claim(path, claim)
            if holder is None:
                stop = threading.Event()
                self._claims[path] = (claim, stop)
                threading.Thread(
                    target=self._keep_alive, args=(path, claim, stop), daemon=True
                ).start()
            return holder

    def drop_claim(self, path: str, claim: Claim) -> None:
        with self._claims_lock:
            _, stop = self._claims.pop(path, (claim, threading.Event()))
        stop.set()
        self.ops.release(path, claim)

    def _keep_alive(self, path: str, claim: Claim, stop: threading.Event) -> None:
        while not stop.wait(claims.RENEW_EVERY.total_seconds()):
            try:
                if not self.ops.renew(path, claim):
                    log.info("the claim %s is no longer this push's", path)
                    return
            except Exception as exc:  # the push itself will meet the store's trouble
                log.debug("could not renew the claim %s: %s", path, exc)

    def release_claims(self) -> None:
        """Drop every claim this run holds and take no more: on an interrupt, whose workers
        are not waited for, so that the next push of those versions need not wait."""
        with self._claims_lock:
            self._interrupted = True
            held, self._claims = self._claims, {}
        for path, (claim, stop) in held.items():
            stop.set()
            try:
                self.ops.release(path, claim)
            except Exception as exc:  # the interrupt matters more
                log.debug("could not release the claim %s: %s", path, exc)

    @functools.cached_property
    def aliases(self) -> Aliases:
        """The aliases on this store (prod, staging...), read and moved through this engine."""
        return Aliases(self)

    # -- reading the store ------------------------------------------------------

    def listing(self) -> list[dict[str, Any]]:
        """The entries of the store's root: listed once per run, again after a write.

        A store that a push creates (a local folder) and that does not exist yet lists
        as empty here, for writers; :meth:`copies`, what readers use, refuses it.
        """
        with self._listing_lock:
            if self._listing_error is not None:
                # One refused or failed listing is enough: ALL does not ask again per artifact.
                raise self._listing_error
            if self._listing is None:
                try:
                    self._listing = self.ops.listing(self.store.root)
                except StoreNotFoundError as exc:
                    if not exc.creatable:
                        self._listing_error = exc
                        raise
                    self._store_missing = exc
                    self._listing = []
                except (OSError, FsArtifactsError) as exc:
                    # Callers outside run() (list, rm, prune, find) get a typed error too.
                    self._listing_error = self.translate(exc, f"listing {self.store.display}")
                    raise self._listing_error from exc
            return self._listing

    def changed(self) -> None:
        with self._listing_lock:
            self._listing = None
            self._listing_error = None
            self._store_missing = None

    def copies(self, artifact: Artifact, prefix: str = "") -> list[RemoteCopy]:
        """Every copy of ``artifact`` on the store, newest version first."""
        entries = self.listing()
        if self._store_missing is not None:
            raise self._store_missing  # reading a store that is not there is no empty answer
        return naming.scan(entries, artifact, prefix)

    def entry(self, name: str) -> dict[str, Any] | None:
        wanted = self.store.path(name)
        return next((e for e in self.listing() if e["name"].rstrip("/") == wanted), None)

    def find(
        self,
        artifact: Artifact,
        requested: str,
        base: semver.Version,
        *,
        prefix: str = "",
        pre: bool = False,
    ) -> RemoteCopy:
        """The copy that ``requested`` (an exact version or LATEST) means now."""
        copies = self.copies(artifact, prefix)
        if artifact.singular:
            if copies:
                return copies[0]
            raise NotFoundError(
                f"{artifact.name}: {self.store.url(naming.file_name(artifact, None, prefix))} "
                "does not exist; push it first."
            )
        if requested.startswith(ALIAS_MARK):
            alias = self.aliases.require(artifact, requested[len(ALIAS_MARK) :], prefix)
            return self.find(artifact, str(alias.version), base, prefix=prefix, pre=True)
        if is_latest_keyword(requested):
            chosen = latest_compatible([c.version for c in copies if c.version], base, pre=pre)
            wanted = f"LATEST (same major {base.major}, not above {base})"
        else:
            chosen = parse_version(requested, source="the VERSION argument")
            wanted = f"version {chosen}"
        for copy in copies:
            if chosen is not None and copy.version == chosen:
                return copy
        existing = ", ".join(str(c.version) for c in copies) or "none"
        hint = "" if pre else f" Pre-releases count only with {option('pre')}."
        where = self.store.url(f"{prefix}{artifact.name}_v*")
        raise NotFoundError(
            f"{artifact.name}: no {wanted} at {where}. Versions there: {existing}.{hint}"
        )

    # -- operations -------------------------------------------------------------

    def push(self, artifact: Artifact, version: semver.Version, **options: Any) -> Result:
        """See :func:`fsartifacts.engine.push.push_artifact`."""
        return push_artifact(self, artifact, version, **options)

    def pull(
        self, artifact: Artifact, requested: str, base: semver.Version, **options: Any
    ) -> Result:
        """See :func:`fsartifacts.engine.pull.pull_artifact`."""
        return pull_artifact(self, artifact, requested, base, **options)

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
                with self.claimed(copy.artifact, copy.path, url):
                    self.ops.remove(copy.manifest_path)
                    self.ops.remove(copy.path, recursive=True)
            else:
                self.ops.remove(copy.path)
        finally:
            self.changed()
        return result

    def with_folder_sizes(self, copies: list[RemoteCopy]) -> list[RemoteCopy]:
        """``copies`` with each folder's size, read from its manifest (a listing gives none)."""

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
        with ThreadPoolExecutor(max_workers=min(self.jobs, folders)) as pool:
            return list(pool.map(sized, copies))

    def prune_plan(self, artifact: Artifact, keep: int, prefix: str = "") -> list[RemoteCopy]:
        """The copies ``prune --keep`` deletes: all but the newest ``keep`` of each major."""
        doomed: list[RemoteCopy] = []
        kept: dict[int, int] = {}
        for copy in self.copies(artifact, prefix):  # newest first
            if copy.version is None:
                continue
            kept[copy.version.major] = kept.get(copy.version.major, 0) + 1
            if kept[copy.version.major] > keep:
                doomed.append(copy)
        return doomed
