"""Pull: resolve the copy asked for (or the one the lock file or an alias names),
download it, verify it, and install it atomically.

Bytes stream into a hidden temporary beside the destination while they are
hashed; only when size and checksum agree with what the store (or the lock
file) says is the temporary renamed over the destination. A folder version's
files are :mod:`fsartifacts.engine.pullfolder`'s.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import semver
from fsspec.callbacks import Callback

from fsartifacts.config.model import Artifact
from fsartifacts.engine import naming, reuse
from fsartifacts.engine.compare import remote_file_matches
from fsartifacts.engine.context import Context
from fsartifacts.engine.install import (
    Installing,
    contained,
    staged_file,
)
from fsartifacts.engine.largefile import (
    in_ranges,
    pull_in_ranges,
)
from fsartifacts.engine.lockfile import LockEntry
from fsartifacts.engine.manifest import Manifest
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.options import PullOptions
from fsartifacts.engine.pullfolder import folder_is_current, pull_folder
from fsartifacts.engine.pulllock import check_inside_project, checking, pull_lock, sweep_stale
from fsartifacts.engine.results import Result, planned, up_to_date, version_text
from fsartifacts.engine.selection import Selection
from fsartifacts.engine.verify import Pin, check_pin, checked
from fsartifacts.errors import ConfigError, NotFoundError, option
from fsartifacts.hashing import HashingWriter
from fsartifacts.retry import with_retries
from fsartifacts.stores.entries import entry_size
from fsartifacts.versionspec import VersionSpec


def pull_artifact(
    ctx: Context,
    artifact: Artifact,
    requested: VersionSpec | str,
    base: semver.Version,
    options: PullOptions,
) -> Result:
    """Download the copy ``requested`` (or the lock entry) names and install it.

    ``skip_current`` (sync pull) leaves a destination that already holds the
    same content alone.
    """
    locked, skip_current, dry_run = options.locked, options.skip_current, options.dry_run
    prefix, selection = options.prefix, options.selection
    if isinstance(requested, str):
        requested = VersionSpec.parse(requested)
    pin: Pin | None = None
    if locked is not None:
        copy = locked_copy(ctx, artifact, locked)
        asked = locked.requested
        selection = Selection(locked.include, locked.exclude)
        pin = Pin(
            locked.sha256,
            "fsartifacts.lock",
            f"Pull without {option('locked')} to take the new copy, or restore the locked one.",
        )
    elif requested.kind == "alias" and not artifact.singular:
        alias = ctx.aliases.require(artifact, requested.alias or "", prefix)
        copy = ctx.aliases.copy_of(artifact, alias, base, prefix)
        asked = str(requested)
        pin = Pin(
            alias.sha256,
            f"alias @{alias.name}",
            f"Set the alias again if the new copy is meant (`fsartifacts alias set "
            f"{artifact.name} {alias.version} {alias.name}`), or push the one it recorded.",
        )
    else:
        copy = ctx.index.find(artifact, requested, base, prefix=prefix, pre=options.pre)
        asked = None if artifact.singular else str(requested)
    recorded_as = partial(_recorded, copy=copy, requested=asked, selection=selection)
    dest = override_or_named(ctx.root, artifact, copy, options.override)
    url = ctx.store.url(copy.display_name)
    result = Result(artifact.name, "pulled", version_text(copy.version), url, str(dest))
    # The install is recorded for the lock file in the step of its rename (result's sha256
    # and size are set by then), so an interrupt after it cannot leave it unrecorded.
    installing = partial(options.installs.installing, artifact.name,
                         lambda: recorded_as(result).lock)  # fmt: skip
    result.bytes = copy.size or 0
    expected = pin.sha256 if pin else None

    def current(found: Result) -> Result:
        """``found`` up to date, its entry written as an install's is."""
        if found.lock is not None and not dry_run:
            options.installs.found_current(artifact.name, found.lock)
        return found

    if copy.kind == "folder":
        full = Manifest.from_bytes(ctx.ops.read_bytes(copy.manifest_path), url)
        check_pin(url, full.digest, pin)
        manifest = selection.select(full, url)
        result.bytes, result.sha256 = manifest.size, full.digest
        if skip_current:
            with checking(ctx.root, dest, dry_run):
                if folder_is_current(ctx, artifact, dest, manifest, selection):
                    return current(recorded_as(up_to_date(result)))
        # The install mirrors the manifest (within the selection): say which local files
        # it takes away.
        result.removed = [p for p in manifest.unlisted_files(dest) if selection.wants(p)]
        if dry_run:
            return planned(result, "would download")
        check_inside_project(ctx.root, dest)
        with pull_lock(dest):
            sweep_stale(dest)
            pull_folder(ctx, copy, manifest, dest, url, installing, selection, options.resume)
        return recorded_as(result)
    if selection.partial:
        raise ConfigError(
            f"{artifact.name}: {selection.describe()} takes files of a folder artifact, and "
            f"{url} is a file: pull it without them."
        )
    recorded = ctx.ops.recorded_sha256(copy.path, copy.entry)
    if recorded:
        check_pin(url, recorded, pin)
    if skip_current:
        with checking(ctx.root, dest, dry_run):
            sha256 = _current_file(ctx, copy, dest, recorded, expected)
            if sha256 is not None:
                result.sha256 = sha256
                return current(recorded_as(up_to_date(result)))
    if dry_run:
        return planned(result, "would download")
    check_inside_project(ctx.root, dest)
    with pull_lock(dest):
        sweep_stale(dest)
        _pull_file(ctx, copy, dest, result, recorded, pin, installing, options.resume)
    return recorded_as(result)


def override_or_named(root: Path, artifact: Artifact, copy: RemoteCopy, override: bool) -> Path:
    """Where a pulled copy lands: the artifact's own path, or its remote name in the root."""
    return root / artifact.file if override else contained(root, copy.name)


def locked_copy(ctx: Context, artifact: Artifact, locked: LockEntry) -> RemoteCopy:
    """The remote copy a lock entry names, read from the store's listing."""
    version = semver.Version.parse(locked.version) if locked.version else None
    named = naming.folder_name(artifact, version)
    if locked.kind == "file":
        named += naming.remote_ext(artifact)
    if not locked.remote.endswith(named) or locked.remote.startswith("."):
        # Whatever the prefix it was pulled with, a copy's name ends with its own.
        raise ConfigError(
            f"fsartifacts.lock: not a lock file fsartifacts can read ({locked.remote!r} is "
            f"not the name of {artifact.name} {version or ''}); restore it from version "
            f"control, or delete it and pull without {option('locked')} to write a new one."
        )
    entry = ctx.index.entry(locked.remote)
    want_dir = locked.kind == "folder"
    manifest = ctx.index.entry(locked.remote + ".manifest.json") if want_dir else True
    if entry is None or (entry.get("type") == "directory") != want_dir or manifest is None:
        raise NotFoundError(
            f"{artifact.name}: the locked copy {ctx.store.url(locked.remote)} is gone from the "
            f"store. Pull without {option('locked')} to resolve again (and update "
            "fsartifacts.lock)."
        )
    return RemoteCopy(
        artifact=artifact.name,
        version=version,
        name=locked.remote,
        path=ctx.store.path(locked.remote),
        kind=locked.kind,  # type: ignore[arg-type]
        size=None if want_dir else entry_size(entry),
        entry=entry,
    )


def _recorded(
    result: Result, *, copy: RemoteCopy, requested: str | None, selection: Selection
) -> Result:
    """``result`` with the lock entry it leaves: what was asked for and what it resolved to."""
    if result.sha256:
        result.lock = LockEntry(
            version=result.version, remote=copy.name, kind=copy.kind,
            sha256=result.sha256, size=result.bytes, requested=requested,
            include=selection.include, exclude=selection.exclude,
        )  # fmt: skip
    return result


def _pull_file(
    ctx: Context,
    copy: RemoteCopy,
    dest: Path,
    result: Result,
    recorded: str | None,
    pin: Pin | None,
    installing: Installing,
    resume: bool = True,
) -> None:
    native = None if recorded else ctx.ops.native_checksum(copy.entry)
    algorithms = {"sha256"} | ({native[0]} if native else set())
    url = result.remote or copy.path

    def accept(received: int, digests: dict[str, str]) -> None:
        """The checks of the downloaded file; what it holds, once they pass."""
        checked(url, dest, recorded, native, pin, copy.size, received, digests)
        result.bytes, result.sha256 = received, digests["sha256"]

    def attempt(callback: Callback) -> None:
        callback.absolute_update(0)  # a retried download starts over
        with staged_file(dest, installing) as out:
            writer = HashingWriter(out, algorithms, limit=copy.size, what=url)
            ctx.ops.download(copy.path, writer, callback=callback)
            digests = writer.digests()
            accept(writer.bytes, digests)

    def download(callback: Callback) -> None:
        with_retries(f"download of {url}", ctx.transfer.attempts, partial(attempt, callback))

    # A file of the project the hash cache knows to hold the recorded content (the pin
    # was checked against it already) is copied instead.
    local = ctx.hashes.holders({recorded}, ctx.root).get(recorded) if recorded else None
    tally = ctx.tally(copy.artifact, result.version, copy.size)
    try:
        if recorded and local:
            result.sha256 = recorded  # what the copy holds if it is made
            if ctx.transfers.copied(
                tally,
                lambda: reuse.copy_file(Path(local), dest, copy.size, recorded, installing),
                copy.size or 0,  # the size the store lists: the bar's total
            ):
                result.bytes = dest.stat().st_size
                ctx.hashes.remember(dest, recorded)
                return
        if not (in_ranges(ctx, copy) and pull_in_ranges(
            ctx, copy, dest, url=url, recorded=recorded, algorithms=tuple(sorted(algorithms)),
            check=accept, resume=resume, verified=bool(recorded or native), tally=tally,
            installing=installing,
        )):  # fmt: skip
            ctx.transfers.one(tally, download)
    finally:
        tally.close()
    assert result.sha256 is not None  # set by the attempt that installed the copy
    ctx.hashes.remember(dest, result.sha256)


def _current_file(
    ctx: Context, copy: RemoteCopy, dest: Path, recorded: str | None, expected: str | None
) -> str | None:
    """The sha256 of the local file ``dest`` when it already holds the copy's content."""
    if not dest.is_file():
        return None
    try:
        sha256 = ctx.hashes.sha256(dest)
        same: bool | None
        if expected and not recorded:
            same = sha256 == expected
        else:
            size = dest.stat().st_size
            same = remote_file_matches(ctx.ops, copy.path, copy.entry, size, sha256, dest)
    except FileNotFoundError:
        # Removed since it was looked at (or the store's copy since it was listed): not
        # current, and the download says what is missing.
        return None
    return sha256 if same else None
