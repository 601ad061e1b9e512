"""Leftovers: what interrupted pushes leave on a store, found and swept once abandoned.

- claims (``.name_vX.fsartifacts-claim``, and election candidates ``...-TOKEN``)
  of pushes that died holding them;
- temporaries (``.NAME.fsartifacts-*.part``): files uploaded under a temporary
  name, and folders being built, on stores without atomic writes;
- unfinished folder versions: ``name_vX/`` without its manifest (a push or an
  ``rm`` that was killed);
- incomplete multipart uploads (S3); the automatic sweep leaves one that a journal of
  the project points at (a push that can continue it) for a day, ``gc`` does not;
- listing notes (``.name_vX.fsartifacts-listed...``) of versions that are gone (an
  ``rm`` that was killed, or one by a fsartifacts that wrote no notes), which would
  otherwise describe a version pushed again under that name.

Something is abandoned once nothing has written to it for longer than the age
(:data:`~fsartifacts.stores.claims.ABANDONED_AFTER` unless told), by the store's own
times: a temporary or a folder by its newest file, an upload by its newest
part. Nothing that belongs to a folder version under a live claim is touched,
and an unfinished folder is removed only by a sweeper that holds its claim,
so a push writing there is never undone.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fsartifacts.atomic import TEMP_MARKER
from fsartifacts.config.model import Artifact
from fsartifacts.engine import listnotes, naming
from fsartifacts.engine.results import Result, Results, failure, planned
from fsartifacts.errors import FsArtifactsError
from fsartifacts.stores.base import PendingUpload
from fsartifacts.stores.claims import (
    ABANDONED_AFTER,
    CLAIM_LIMIT,
    Claim,
    Holder,
    claim_path,
    claimed_folder,
)
from fsartifacts.stores.entries import entry_modified, entry_size, strip_slash
from fsartifacts.stores.journals import KEPT_FOR, UploadJournals
from fsartifacts.stores.store import Store

log = logging.getLogger("fsartifacts")

Kind = Literal["claim", "temporary", "unfinished folder", "upload", "listing note"]
# temp_name's names: the hex, then an optional tag (".old"), then ".part".
_TEMPORARY = re.compile(rf"\.(?P<base>.+){re.escape(TEMP_MARKER)}[0-9a-f]{{12}}(?:\.[a-z]+)?\.part")


@dataclass(frozen=True)
class Leftover:
    """One abandoned thing on the store."""

    kind: Kind
    path: str
    modified: datetime | None
    size: int | None = None
    directory: bool = False
    holder: Holder | None = None  # claims: what the claim said when it was found
    upload: PendingUpload | None = None  # multipart uploads

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]


def find(
    store: Store,
    artifacts: list[Artifact],
    *,
    prefix: str = "",
    older_than: timedelta = ABANDONED_AFTER,
    journals: UploadJournals | None = None,
) -> list[Leftover]:
    """Every leftover under the store's root that nothing has written to for ``older_than``.

    An unfinished upload that one of ``journals`` points at is left for the next push
    to continue until nothing has written to it for :data:`KEPT_FOR` as well.
    """
    ops = store.ops
    now = datetime.now(UTC)
    cutoff = now - older_than
    continued = journals.uploads() if journals is not None else set()
    entries = ops.listing(store.root)
    names = {_base(e["name"]) for e in entries}
    found: list[Leftover] = []
    live: set[str] = set()  # folder versions whose claim is not abandoned
    for entry in entries:
        folder = claimed_folder(_base(entry["name"]))
        if folder is None:
            continue
        modified = entry_modified(entry)
        if modified is None or modified > cutoff:
            live.add(folder)
            continue
        try:
            claim = Claim.from_bytes(ops.read_bytes(strip_slash(entry["name"]), limit=CLAIM_LIMIT))
        except FileNotFoundError:
            continue  # released since the listing
        holder = Holder(strip_slash(entry["name"]), claim, modified)
        found.append(Leftover("claim", holder.path, modified, entry_size(entry), holder=holder))
    for entry in entries:
        base, path = _base(entry["name"]), strip_slash(entry["name"])
        is_dir = entry.get("type") == "directory"
        temporary = _TEMPORARY.fullmatch(base)
        if temporary is not None:
            if temporary.group("base") in live:
                continue
            modified = _newest(store, entry) if is_dir else entry_modified(entry)
            if modified is not None and modified <= cutoff:
                size = None if is_dir else entry_size(entry)
                found.append(Leftover("temporary", path, modified, size, directory=is_dir))
        elif (
            is_dir
            and naming.manifest_name(base) not in names
            and base not in live
            and any(naming.is_folder_name(base, a, prefix) for a in artifacts)
        ):
            modified = _newest(store, entry)
            if modified is not None and modified <= cutoff:
                found.append(Leftover("unfinished folder", path, modified, directory=True))
    files = {_base(e["name"]) for e in entries if e.get("type") != "directory"}
    for entry in entries:
        note = listnotes.parse(_base(entry["name"])) if entry.get("type") != "directory" else None
        if note is None or note[0] in files or naming.manifest_name(note[0]) in files:
            continue  # not a note, or the note of a version that is there
        modified = entry_modified(entry)
        if note[0] not in live and modified is not None and modified <= cutoff:
            found.append(Leftover("listing note", strip_slash(entry["name"]), modified, 0))
    for upload in ops.pending_uploads(store.root, older_than):
        if (upload.path, upload.upload_id) in continued and (
            upload.modified is None or upload.modified > now - KEPT_FOR
        ):
            continue
        inside = upload.path[len(store.root) :].lstrip("/") if store.root else upload.path
        if inside.partition("/")[0] not in live:
            found.append(Leftover("upload", upload.path, upload.modified, upload=upload))
    return found


def remove(store: Store, leftover: Leftover) -> bool:
    """Delete one leftover; False when it was taken up again since it was found."""
    ops = store.ops
    if leftover.kind == "claim":
        assert leftover.holder is not None
        return ops.remove_holder(leftover.holder)
    if leftover.kind == "upload":
        assert leftover.upload is not None
        ops.abort_upload(leftover.upload)
        return True
    if leftover.kind in ("temporary", "listing note"):
        with contextlib.suppress(FileNotFoundError):
            ops.remove(leftover.path, recursive=leftover.directory)
        return True
    # An unfinished folder: only as the holder of its claim, so that no push is writing there.
    claim, where = Claim.new(), claim_path(leftover.path)
    if ops.claim(where, claim) is not None:
        return False
    try:
        names = {_base(e["name"]) for e in ops.listing(store.root)}
        if naming.manifest_name(leftover.name) in names:
            return False  # completed since it was found
        with contextlib.suppress(FileNotFoundError):
            ops.remove(leftover.path, recursive=True)
        return True
    finally:
        ops.release(where, claim)


def collect(
    store: Store,
    artifacts: list[Artifact],
    *,
    translate: Callable[[BaseException, str], FsArtifactsError],
    prefix: str = "",
    older_than: timedelta = ABANDONED_AFTER,
    dry_run: bool = False,
) -> Results:
    """``gc``: a result per leftover older than ``older_than``, removed unless ``dry_run``."""
    results = Results()
    try:
        found = find(store, artifacts, prefix=prefix, older_than=older_than)
    except OSError as exc:
        raise translate(exc, f"listing the leftovers on {store.display}") from exc
    for leftover in found:
        inside = leftover.path[len(store.root) :].lstrip("/") if store.root else leftover.path
        url = store.url(inside) + ("/" if leftover.directory else "")
        result = Result(leftover.kind, "deleted", remote=url, bytes=leftover.size or 0)
        if leftover.modified is not None:
            result.detail = f"last written {leftover.modified.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if dry_run:
            results.append(planned(result, "would delete"))
            continue
        try:
            if not remove(store, leftover):
                result.action, result.detail = "skipped", "in use again"
        except Exception as exc:
            results.append(failure(leftover.kind, translate(exc, url)))
            continue
        results.append(result)
    return results


def may_hold_leftovers(
    entries: list[dict[str, Any]], artifacts: list[Artifact], prefix: str, older_than: timedelta
) -> bool:
    """Whether the listing ``entries`` of the store's root shows anything :func:`find` could
    take for a leftover older than ``older_than``, by names and times alone (no request):
    a claim that old or without a time, a temporary, a folder version without its
    manifest, a note that old (or without a time) of a version not there."""
    cutoff = datetime.now(UTC) - older_than
    names = {_base(e["name"]) for e in entries}
    files = {_base(e["name"]) for e in entries if e.get("type") != "directory"}
    for entry in entries:
        base, is_dir = _base(entry["name"]), entry.get("type") == "directory"
        modified = entry_modified(entry)
        old = modified is None or modified <= cutoff
        if claimed_folder(base) is not None:
            if old:
                return True
        elif _TEMPORARY.fullmatch(base) is not None:
            return True
        elif is_dir:
            if naming.manifest_name(base) not in names and any(
                naming.is_folder_name(base, a, prefix) for a in artifacts
            ):
                return True
        elif (note := listnotes.parse(base)) is not None:
            noted_there = note[0] in files or naming.manifest_name(note[0]) in files
            if old and not noted_there:
                return True
    return False


def sweep(
    store: Store,
    artifacts: list[Artifact],
    *,
    prefix: str = "",
    older_than: timedelta = ABANDONED_AFTER,
    journals: UploadJournals | None = None,
    seen: list[dict[str, Any]] | None = None,
) -> list[Leftover]:
    """Remove every leftover older than ``older_than``, but the uploads ``journals`` says
    a later push can continue (see :func:`find`); a failure is logged, never raised.

    For push, prune and rm, after their own work: a sweep that fails must not
    fail them. ``seen``: the listing of the store's root the command took moments
    before its writes. What has not been written to for ``older_than`` now was there
    then, so where it shows nothing that may be a leftover (nor are there unfinished
    uploads) the root is not listed again; else what to remove is found, as always,
    in a listing taken now.
    """
    removed: list[Leftover] = []
    try:
        if (
            seen is not None
            and not may_hold_leftovers(seen, artifacts, prefix, older_than)
            and not store.ops.pending_uploads(store.root, older_than)
        ):
            return removed
        found = find(store, artifacts, prefix=prefix, older_than=older_than, journals=journals)
        for leftover in found:
            if remove(store, leftover):
                log.info("removed an abandoned %s: %s", leftover.kind, store.url(leftover.name))
                removed.append(leftover)
    except Exception as exc:  # the sweep is a courtesy, never the job
        log.info("could not sweep the leftovers on %s: %s", store.display, exc)
        log.debug("the sweep failed", exc_info=True)
    return removed


def _newest(store: Store, entry: dict[str, Any]) -> datetime | None:
    """When anything below the folder ``entry`` was last written."""
    times = [entry_modified(entry)]
    try:
        found = store.fs.find(strip_slash(entry["name"]), detail=True, withdirs=True)
    except FileNotFoundError:
        found = {}
    times += [entry_modified(e) for e in found.values()]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _base(name: str) -> str:
    return name.rstrip("/").rpartition("/")[2]
