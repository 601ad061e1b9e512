"""Listing notes: what ``list`` shows of a version, carried by the name of an empty object.

A listing of the store gives each file's size and date, but neither the size of a
folder version (the sum of its files, in its manifest) nor the commit a version was
pushed from (in its manifest, or in a file's provenance object). Reading those per
version would make ``list`` of a store with 10,000 versions 10,000 requests more
than its one listing. So a push also writes an empty object beside the version
whose name holds them:

    .{basename}.fsartifacts-listed.s{size}[.g{commit}[.dirty]]

(``.data_v1.4.0.fsartifacts-listed.s3145733.g1a2b...``), and the listing that finds
the version finds its note. A folder version always gets one (its size); a file
version only when it has a commit to show, its size being in the listing already.

The note is only ever shown, never trusted for content: pulls check the manifest
and the recorded sha256 as always. A version without a note (pushed by an earlier
fsartifacts, or when writing the note failed) lists without its size and commit,
which ``list --files`` and ``info`` read from its manifest. Two notes of one
version that disagree (a replacement interrupted half way) say nothing, and neither
does a note older than its version: it is written once the version is published,
so an older one was left by the copy before it (removed and pushed again by a tool
that writes no notes). A note
name longer than a file name may be (255 bytes) drops the commit, then is not
written at all.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fsartifacts.escaping import has_control_characters
from fsartifacts.stores.entries import entry_modified

if TYPE_CHECKING:
    from fsartifacts.stores.base import StoreOps

log = logging.getLogger("fsartifacts")

MARKER = ".fsartifacts-listed."
NAME_MAX = 255  # bytes of one file name on common local filesystems
_NOTE = re.compile(
    rf"\.(?P<base>.+){re.escape(MARKER)}s(?P<size>0|[1-9][0-9]{{0,19}})"
    r"(?:\.g(?P<commit>[0-9a-f]{7,64})(?P<dirty>\.dirty)?)?",
    re.ASCII,
)
_COMMIT = re.compile(r"[0-9a-f]{7,64}", re.ASCII)


@dataclass(frozen=True)
class Note:
    """What a version's note says: the size pushed, and the commit it was pushed from."""

    size: int
    commit: str | None = None
    dirty: bool = False


def note_name(basename: str, size: int, record: Mapping[str, Any]) -> str | None:
    """The note's basename for the version ``basename`` of ``size`` bytes pushed with the
    provenance ``record``; None when even the shortest would be too long a name."""
    head = f".{basename}{MARKER}s{size}"
    commit = record.get("commit")
    if isinstance(commit, str) and _COMMIT.fullmatch(commit):
        full = f"{head}.g{commit}" + (".dirty" if record.get("dirty") is True else "")
        if len(full.encode()) <= NAME_MAX:
            return full
    return head if len(head.encode()) <= NAME_MAX else None


def parse(basename: str) -> tuple[str, Note] | None:
    """(the version's basename, its note) when ``basename`` names a note, else None."""
    if has_control_characters(basename):
        return None
    match = _NOTE.fullmatch(basename)
    if match is None:
        return None
    note = Note(int(match["size"]), match["commit"], match["dirty"] is not None)
    return match["base"], note


@dataclass(frozen=True)
class Listed:
    """The notes one listing holds: per version's basename, its note, their paths and
    when the newest of them was written."""

    notes: dict[str, Note | None]  # None: notes that disagree
    paths: dict[str, tuple[str, ...]]
    written: dict[str, datetime]

    @classmethod
    def of(cls, entries: Iterable[Mapping[str, Any]]) -> Listed:
        notes: dict[str, Note | None] = {}
        paths: dict[str, tuple[str, ...]] = {}
        written: dict[str, datetime] = {}
        for entry in entries:
            name = entry["name"].rstrip("/")
            if MARKER not in name or entry.get("type") == "directory":
                continue
            found = parse(name.rpartition("/")[2])
            if found is None:
                continue
            base, note = found
            if base in notes and notes[base] != note:
                notes[base] = None
            else:
                notes.setdefault(base, note)
            paths[base] = (*paths.get(base, ()), name)
            when = entry_modified(dict(entry))
            if when is not None and (base not in written or when > written[base]):
                written[base] = when
        return cls(notes, paths, written)

    def note(self, basename: str, published: datetime | None = None) -> Note | None:
        """The note of the version ``basename``, published at ``published`` (when the
        listing says): none if it is older than that, being the note of an earlier copy."""
        note = self.notes.get(basename)
        when = self.written.get(basename)
        if note is not None and published is not None and when is not None and when < published:
            return None
        return note

    def paths_of(self, basename: str) -> tuple[str, ...]:
        return self.paths.get(basename, ())


def write(ops: StoreOps, rpath: str, size: int, record: Mapping[str, Any]) -> None:
    """The note of the version at ``rpath``; a push stands without it (it is only shown)."""
    parent, _, basename = rpath.rstrip("/").rpartition("/")
    name = note_name(basename, size, record)
    if name is None:
        log.info("%s: its name is too long for a listing note; list shows no size", rpath)
        return
    try:
        ops.write_bytes(f"{parent}/{name}" if parent else name, b"", exclusive=False)
    except Exception as exc:  # the version is published: list shows less of it, that is all
        log.warning("%s: pushed, but its listing note could not be written: %s", rpath, exc)


def remove(ops: StoreOps, paths: Iterable[str]) -> None:
    """Delete notes (those of a version being replaced or removed)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            ops.remove(path)
