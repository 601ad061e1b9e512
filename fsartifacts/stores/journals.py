"""Journals of uploads that a later run can continue: one small JSON file per upload, kept
in the project (``.fsartifacts/uploads/``), that names the store's unfinished upload and the
local file it is of.

A journal is hostile input (anyone can edit the project): one that cannot be read, is not
JSON of the expected shape, or names another target, is discarded. What it claims is
checked against the local file and against the store before anything is reused, so a
journal only ever saves bytes, never decides what is published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from fsartifacts import locks
from fsartifacts.atomic import write_atomic
from fsartifacts.config.values import outside_root_problem
from fsartifacts.localfiles import read_small_file

log = logging.getLogger("fsartifacts")

JOURNAL_FOLDER = Path(".fsartifacts") / "uploads"
JOURNAL_LIMIT = 64 * 1024  # bytes: a journal is a few hundred
# The sweep after a push leaves an upload a journal points at alone for this long after
# its last part, so that the next push can continue it.
KEPT_FOR = timedelta(days=1)
_FORMAT = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UPLOAD_ID = re.compile(r"[!-~]{1,1024}")  # printable ASCII, no space


@dataclass(frozen=True)
class UploadJournal:
    """One unfinished upload: where to (``target``, the store's path), its ``upload_id``,
    the local file's size, mtime and sha256 when it started, its part size, and a digest
    of what the upload was created with (``request``: content type, metadata)."""

    target: str
    upload_id: str
    size: int
    mtime_ns: int
    sha256: str
    part_size: int
    request: str

    def matches(self, other: UploadJournal) -> bool:
        """Whether ``other`` is an upload of the same bytes, in the same parts, the same way."""
        return replace(other, upload_id=self.upload_id) == self


@dataclass(frozen=True)
class UploadJournals:
    """The folder of one project's upload journals; ``resume`` False: an unfinished upload
    found there is aborted and started over, and a new one leaves no journal behind."""

    folder: Path
    resume: bool = True
    root: Path | None = None  # the project's: the folder must resolve inside it

    @classmethod
    def of_project(cls, root: Path) -> UploadJournals:
        return cls(root / JOURNAL_FOLDER, root=root)

    def resuming(self, resume: bool) -> UploadJournals:
        return self if resume == self.resume else replace(self, resume=resume)

    def path(self, target: str) -> Path:
        return self.folder / f"{hashlib.sha256(target.encode()).hexdigest()[:32]}.json"

    @contextlib.contextmanager
    def owned(self, target: str) -> Iterator[UploadJournals | None]:
        """These journals, for the upload to ``target`` by this process alone (it holds
        the lock of that target's journal for the block); None while another process
        holds it, its upload under way: its journal is then neither followed (both would
        complete that upload) nor replaced, nor its upload aborted. None too where the
        project cannot hold the lock, or the folder resolves outside the project: the
        upload only loses its resumption."""
        lock = self.folder / f"{self.path(target).stem}.lock"
        outside = outside_root_problem(self.root, self.folder) if self.root else None
        if outside is not None:
            # A link in the project (a checkout can hold one) would have the journals,
            # their lock and their removal happen outside it.
            log.info("not keeping upload journals in %s: %s", self.folder, outside)
            yield None
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = locks.take(lock)
        except OSError as exc:
            log.info("cannot lock the upload journal of %s in %s (%s): the upload will "
                     "not be continued by a later push", target, self.folder, exc)  # fmt: skip
            fd = None
        else:
            if fd is None:
                log.info("another push of this project is uploading to %s; this one "
                         "uploads on its own, without a journal", target)  # fmt: skip
        try:
            yield self if fd is not None else None
        finally:
            if fd is not None:
                locks.release(lock, fd)

    def read(self, target: str) -> UploadJournal | None:
        """The journal of the upload to ``target``; None when there is none to trust (an
        unreadable or tampered one is removed)."""
        path = self.path(target)
        if not path.exists():
            return None
        journal = _parse(path)
        if journal is None or journal.target != target:
            log.info("discarding the upload journal %s: it is not one this version wrote", path)
            self.discard(target)
            return None
        return journal

    def write(self, journal: UploadJournal) -> None:
        """Record ``journal``; a project that cannot hold it only loses the resumption."""
        body = {"format": _FORMAT, **journal.__dict__}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path(journal.target), json.dumps(body).encode(), durable=False)
        except OSError as exc:
            log.info("cannot keep the upload journal in %s (%s): an interrupted upload of "
                     "%s will start over", self.folder, exc, journal.target)  # fmt: skip

    def discard(self, target: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path(target))

    def uploads(self) -> set[tuple[str, str]]:
        """(target, upload id) of every journal to trust in the folder."""
        found: set[tuple[str, str]] = set()
        with contextlib.suppress(OSError):
            for path in self.folder.glob("*.json"):
                journal = _parse(path)
                if journal is not None and path == self.path(journal.target):
                    found.add((journal.target, journal.upload_id))
        return found


def _parse(path: Path) -> UploadJournal | None:
    try:
        body: Any = json.loads(read_small_file(path, JOURNAL_LIMIT))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("format") != _FORMAT:
        return None
    text = [body.get(k) for k in ("target", "upload_id", "sha256", "request")]
    numbers = [body.get(k) for k in ("size", "mtime_ns", "part_size")]
    if not all(isinstance(v, str) for v in text) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers
    ):
        return None
    target, upload_id, sha256, request = (str(v) for v in text)
    size, mtime_ns, part_size = (int(v) for v in numbers)  # type: ignore[arg-type]
    if not (
        _UPLOAD_ID.fullmatch(upload_id)
        and _HEX64.fullmatch(sha256)
        and _HEX64.fullmatch(request)
        and part_size > 0
    ):
        return None
    return UploadJournal(target, upload_id, size, mtime_ns, sha256, part_size, request)
