"""The sync engine: versioned push and pull of artifacts on any store.

It speaks only to a :class:`~fsartifacts.stores.Store` (an fsspec filesystem,
a root, and the StoreOps capability hook). For each artifact it plans first
(what moves, what is already there), then transfers, hashing on the way,
verifies against the strongest checksum the store offers, and installs
atomically. Every artifact ends in a :class:`Result`, never in an exception
that stops the others.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import semver

from . import naming
from .config import Artifact
from .errors import (
    AuthError,
    ConflictError,
    FsArtifactsError,
    IntegrityError,
    NotFoundError,
    TransferError,
)
from .hashing import HashCache, HashingWriter, hash_file
from .install import contained, staged_file, staging_dir, swap_dir, sweep_stale
from .manifest import Manifest, ManifestEntry
from .naming import RemoteCopy
from .stores import Store
from .version import is_latest_keyword, latest_compatible, parse_version

log = logging.getLogger("fsartifacts")

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
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("exit_code")
        return data


def _version_text(version: semver.Version | None) -> str | None:
    return None if version is None else str(version)


class Engine:
    """Push and pull artifacts between a project root and one store."""

    def __init__(
        self,
        store: Store,
        root: Path,
        *,
        jobs: int = 4,
        hash_cache: HashCache | None = None,
        auth_error: Callable[[PermissionError], AuthError] | None = None,
    ) -> None:
        self.store = store
        self.ops = store.ops
        self.root = root
        self.jobs = max(1, jobs)
        self.hashes = hash_cache or HashCache()
        self._auth_error = auth_error
        self._listing: list[dict[str, Any]] | None = None
        self._listing_lock = threading.Lock()

    # -- running many -----------------------------------------------------------

    def run(
        self, work: Callable[[Artifact], Result], artifacts: Iterable[Artifact]
    ) -> list[Result]:
        """``work`` for every artifact, ``jobs`` at a time; failures become results."""
        items = list(artifacts)

        def attempt(artifact: Artifact) -> Result:
            try:
                return work(artifact)
            except Exception as exc:
                error = self.translate(exc, artifact.name)
                log.debug("%s failed", artifact.name, exc_info=True)
                return Result(artifact.name, "failed", error=str(error), exit_code=error.exit_code)

        if len(items) <= 1 or self.jobs == 1:
            return [attempt(a) for a in items]
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(items))) as pool:
            return list(pool.map(attempt, items))

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

    # -- reading the store ------------------------------------------------------

    def listing(self) -> list[dict[str, Any]]:
        """The entries of the store's root: listed once per run, again after a write."""
        with self._listing_lock:
            if self._listing is None:
                self._listing = self.ops.listing(self.store.root)
            return self._listing

    def _changed(self) -> None:
        with self._listing_lock:
            self._listing = None

    def copies(self, artifact: Artifact, prefix: str = "") -> list[RemoteCopy]:
        """Every copy of ``artifact`` on the store, newest version first."""
        return naming.scan(self.listing(), artifact, prefix)

    def _entry(self, name: str) -> dict[str, Any] | None:
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
        hint = "" if pre else " Pre-releases count only with --pre."
        where = self.store.url(f"{prefix}{artifact.name}_v*")
        raise NotFoundError(
            f"{artifact.name}: no {wanted} at {where}. Versions there: {existing}.{hint}"
        )

    # -- push -------------------------------------------------------------------

    def push(
        self,
        artifact: Artifact,
        version: semver.Version,
        *,
        prefix: str = "",
        force: bool = False,
        dry_run: bool = False,
    ) -> Result:
        """Upload the artifact's local file or folder as ``version``."""
        local = self.root / artifact.file
        if not local.exists():
            raise NotFoundError(
                f"{artifact.name}: {artifact.file} does not exist in {self.root}; "
                "build it first, or fix its `file:` in the config."
            )
        pinned = None if artifact.singular else version
        if local.is_dir():
            return self._push_folder(artifact, pinned, local, prefix, force, dry_run)
        return self._push_file(artifact, pinned, local, prefix, force, dry_run)

    def _push_file(
        self,
        artifact: Artifact,
        version: semver.Version | None,
        local: Path,
        prefix: str,
        force: bool,
        dry_run: bool,
    ) -> Result:
        name = naming.file_name(artifact, version, prefix)
        rpath, url = self.store.path(name), self.store.url(name)
        size = local.stat().st_size
        sha256 = self.hashes.sha256(local)
        result = Result(
            artifact.name, "pushed", _version_text(version), url, str(local), size, sha256
        )
        entry = self._entry(name)
        if entry is not None:
            if entry.get("type") == "directory":
                raise ConflictError(
                    f"{artifact.name}: {url} is a folder on the store and {artifact.file} "
                    "is a file; push it as another version, or remove that folder first."
                )
            same = self._remote_file_matches(rpath, entry, size, sha256, local)
            if same:
                return _up_to_date(result)
            if not force:
                raise self._conflict(artifact, version, url, same)
        if dry_run:
            return _planned(result, "would replace" if entry else "would upload")
        if not force and not self.ops.atomic_create:
            log.info(
                "%s: this store cannot create atomically; checked that it is absent first", url
            )
        try:
            self.ops.upload(str(local), rpath, sha256=sha256, exclusive=not force)
        except FileExistsError:
            # Another push won the race between our listing and our write.
            self._changed()
            entry = self._entry(name) or {}
            same = self._remote_file_matches(rpath, entry, size, sha256, local)
            if same:
                return _up_to_date(result)
            raise self._conflict(artifact, version, url, same) from None
        finally:
            self._changed()
        return result

    def _remote_file_matches(
        self, rpath: str, entry: dict[str, Any], size: int, sha256: str, local: Path
    ) -> bool | None:
        """Whether the remote file holds the same bytes; None when the store cannot tell."""
        remote_size = _entry_size(entry)
        if remote_size is not None and remote_size != size:
            return False
        recorded = self.ops.recorded_sha256(rpath, entry)
        if recorded:
            return recorded == sha256
        native = self.ops.native_checksum(entry)
        if native:
            algorithm, value = native
            return hash_file(local, [algorithm])[algorithm] == value.lower()
        return None

    def _conflict(
        self, artifact: Artifact, version: semver.Version | None, url: str, same: bool | None
    ) -> ConflictError:
        what = "different content" if same is False else "content fsartifacts cannot compare"
        way = (
            f"bump the project version (now {version})"
            if version is not None
            else "remove it first"
        )
        return ConflictError(
            f"{artifact.name}: {url} already exists with {what}; not overwritten. "
            f"To publish this build, {way} or push with --force to replace it."
        )

    def _push_folder(
        self,
        artifact: Artifact,
        version: semver.Version | None,
        local: Path,
        prefix: str,
        force: bool,
        dry_run: bool,
    ) -> Result:
        name = naming.folder_name(artifact, version, prefix)
        rpath, url = self.store.path(name), self.store.url(name) + "/"
        manifest_path = self.store.path(naming.manifest_name(name))
        files = sorted(_walk_files(local))
        if not files:
            raise NotFoundError(
                f"{artifact.name}: the folder {artifact.file} holds no files; nothing to push."
            )
        manifest = Manifest(
            artifact.name,
            _version_text(version),
            tuple(
                ManifestEntry(rel, (local / rel).stat().st_size, self.hashes.sha256(local / rel))
                for rel in files
            ),
        )
        result = Result(
            artifact.name,
            "pushed",
            _version_text(version),
            url,
            str(local),
            manifest.size,
            manifest.digest,
        )
        entry = self._entry(naming.manifest_name(name))
        folder_entry = self._entry(name)
        if entry is not None:
            remote = Manifest.from_bytes(self.ops.read_bytes(manifest_path), url)
            if remote.same_content(manifest):
                return _up_to_date(result)
            if not force:
                raise self._conflict(artifact, version, url, False)
        if folder_entry is not None and folder_entry.get("type") != "directory":
            raise ConflictError(
                f"{artifact.name}: {url} is a file on the store and {artifact.file} is a folder; "
                "push it as another version, or remove that file first."
            )
        if dry_run:
            return _planned(result, "would replace" if entry else "would upload")
        try:
            if entry is not None:
                # Manifest first: the old version stops being visible before it is torn down.
                self.ops.remove(manifest_path)
            if folder_entry is not None:
                self.ops.remove(rpath, recursive=True)  # an unfinished earlier push, or replaced
            self.ops.upload_folder(
                [(str(local / f.path), f.path, f.sha256) for f in manifest.files], rpath
            )
            self.ops.write_bytes(manifest_path, manifest.to_bytes(), exclusive=not force)
        except FileExistsError:
            # Another push of this version got there first.
            self._changed()
            try:
                remote = Manifest.from_bytes(self.ops.read_bytes(manifest_path), url)
            except FileNotFoundError:
                raise ConflictError(
                    f"{artifact.name}: another push of {url} is under way (or was interrupted); "
                    "run this push again once it is done, or push with --force."
                ) from None
            if remote.same_content(manifest):
                return _up_to_date(result)
            raise self._conflict(artifact, version, url, False) from None
        finally:
            self._changed()
        return result

    # -- pull -------------------------------------------------------------------

    def destination(self, artifact: Artifact, copy: RemoteCopy, override: bool) -> Path:
        """Where a pulled copy lands: its remote name in the root, or the artifact's file."""
        if override:
            return self.root / artifact.file
        return contained(self.root, copy.name)

    def pull(
        self,
        artifact: Artifact,
        requested: str,
        base: semver.Version,
        *,
        prefix: str = "",
        override: bool = False,
        pre: bool = False,
        dry_run: bool = False,
    ) -> Result:
        """Download the copy ``requested`` names and install it atomically."""
        copy = self.find(artifact, requested, base, prefix=prefix, pre=pre)
        dest = self.destination(artifact, copy, override)
        url = self.store.url(copy.name) + ("/" if copy.kind == "folder" else "")
        result = Result(
            artifact.name, "pulled", _version_text(copy.version), url, str(dest), copy.size or 0
        )
        if dry_run:
            return _planned(result, "would download")
        sweep_stale(dest)
        if copy.kind == "folder":
            return self._pull_folder(copy, dest, result)
        return self._pull_file(copy, dest, result)

    def _pull_file(self, copy: RemoteCopy, dest: Path, result: Result) -> Result:
        recorded = self.ops.recorded_sha256(copy.path, copy.entry)
        native = None if recorded else self.ops.native_checksum(copy.entry)
        algorithms = {"sha256"} | ({native[0]} if native else set())
        with staged_file(dest) as out:
            writer = HashingWriter(out, algorithms)
            self.ops.download(copy.path, writer)
            digests = writer.digests()
            self._verify(
                result.remote or copy.path, dest, writer.bytes, digests, copy.size, recorded, native
            )
        result.bytes, result.sha256 = writer.bytes, digests["sha256"]
        return result

    def _verify(
        self,
        url: str,
        dest: Path,
        received: int,
        digests: dict[str, str],
        size: int | None,
        recorded: str | None,
        native: tuple[str, str] | None,
    ) -> None:
        kept = f"{dest} was left as it was; try again"
        if size is not None and received != size:
            raise IntegrityError(
                f"{url}: received {received} bytes but the store lists {size}: the transfer "
                f"was cut short or the copy changed during it. {kept}."
            )
        if recorded and digests["sha256"] != recorded:
            raise IntegrityError(
                f"{url}: the sha256 of the received bytes ({digests['sha256'][:16]}...) is not "
                f"the one recorded at push ({recorded[:16]}...): corrupted in transit or on the "
                f"store. {kept}."
            )
        if native and digests[native[0]] != native[1].lower():
            raise IntegrityError(
                f"{url}: the {native[0]} of the received bytes is not the store's ({native[1]}): "
                f"corrupted in transit or on the store. {kept}."
            )
        if not recorded and not native:
            log.info("%s: the store offers no checksum for it; verified by size only", url)

    def _pull_folder(self, copy: RemoteCopy, dest: Path, result: Result) -> Result:
        url = result.remote or copy.path
        manifest = Manifest.from_bytes(self.ops.read_bytes(copy.manifest_path), url)
        staging = staging_dir(dest)
        try:
            for entry in manifest.files:
                target = contained(staging, entry.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    writer = HashingWriter(out)
                    self.ops.download(f"{copy.path}/{entry.path}", writer)
                self._verify(
                    f"{url}{entry.path}",
                    dest,
                    writer.bytes,
                    writer.digests(),
                    entry.size,
                    entry.sha256,
                    None,
                )
            swap_dir(staging, dest)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        result.bytes, result.sha256 = manifest.size, manifest.digest
        return result


def _entry_size(entry: dict[str, Any]) -> int | None:
    try:
        return int(entry["size"]) if entry.get("size") is not None else None
    except (TypeError, ValueError):
        return None


def _up_to_date(result: Result) -> Result:
    result.action, result.detail = "skipped", "up to date"
    return result


def _planned(result: Result, detail: str) -> Result:
    result.action, result.detail = "planned", detail
    return result


def _walk_files(folder: Path) -> Iterable[str]:
    """Relative POSIX paths of the regular files below ``folder``."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in filenames:
            full = Path(dirpath) / filename
            if full.is_file():
                yield full.relative_to(folder).as_posix()
