"""The staged file of a download in ranges, and the journal that lets a later run resume it.

The staged file lives beside the destination under one fixed hidden name
(:func:`~fsartifacts.engine.pulllock.partial_paths`), at its full size from the start.
Beside it, a small JSON journal says which copy it is of (remote path, size, the
store's revision of it, its recorded sha256) and which byte intervals hold their
bytes. The journal is written atomically, after the staged file's data is on the disk,
so it never claims bytes a crash could lose.

The journal is hostile input: anything in it that is not exactly the copy being
pulled, or not a plain list of intervals within its size, discards it and the staged
file both. It decides only what is not asked for again: every byte is still hashed
from the staged file and checked against the recorded sha256, and it never names
where to write (the staged file's name comes from the destination's).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import shutil
import stat
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fsartifacts.atomic import flush_to_disk, write_atomic
from fsartifacts.engine.install import contained_parts, local_writes, put_in_place
from fsartifacts.engine.intervals import Interval, Received, merged
from fsartifacts.engine.pulllock import kept_members_leftover, kept_members_path, partial_paths
from fsartifacts.errors import FsArtifactsError, TransferError
from fsartifacts.localfiles import read_small_file
from fsartifacts.retry import is_transient

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FOLDERS = 16  # kept folders held open at once by one jobs thread of a pull
# The kept folders every pull of this process holds open (their descriptors), under one
# lock: together they take at most a share of the descriptors the process may open.
_ALL_HELD: set[int] = set()
_HOLDING = threading.Lock()
JOURNAL_LIMIT = 1024 * 1024  # bytes: a journal of a few thousand intervals at most
_JOURNAL_FORMAT = 1


@dataclass(frozen=True)
class CopyIdentity:
    """What a partial download is of: the remote path, its size and revision, its sha256."""

    remote: str
    size: int
    revision: str | None
    sha256: str | None

    @property
    def resumable(self) -> bool:
        """Whether a later run can tell this copy from a replacement of it."""
        return bool(self.revision or self.sha256)


class Partial:
    """The staged file of one download in ranges (see the module docstring).

    ``journal``: whether progress is journalled for a later run; without it the staged
    file is discarded whenever the pull does not finish.
    """

    def __init__(self, dest: Path, identity: CopyIdentity, received: Received, journal: bool):
        self.dest = dest
        self.identity = identity
        self.path, self.journal_path = partial_paths(dest)
        self.received = received
        self.journal = journal
        self._lock = threading.Lock()
        self._closed = False
        self.discarded = False

    @classmethod
    def open(cls, dest: Path, identity: CopyIdentity, *, resume: bool) -> Partial:
        """The partial download of ``identity`` beside ``dest``: the one an earlier run left
        when ``resume`` and its journal describes this very copy, else a new one."""
        path, journal_path = partial_paths(dest)
        journal = resume and identity.resumable
        done = _load(journal_path, path, identity) if journal else None
        if done is not None:
            return cls(dest, identity, Received(done), journal)
        with local_writes(dest):
            _remove(path, journal_path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(path, flags, 0o644)
            try:
                _reserve(fd, identity.size)
            except BaseException:
                os.close(fd)
                os.unlink(path)
                raise
            os.close(fd)
        partial = cls(dest, identity, Received(), journal)
        partial.record()
        return partial

    def record(self) -> None:
        """Journal what has arrived: first onto the disk, then claimed in the journal."""
        with self._lock:
            if self.journal and not self._closed:
                self._write_journal()

    def _write_journal(self) -> None:
        done = self.received.snapshot()  # before the fsync: only bytes it makes durable
        with local_writes(self.dest):
            fd = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            body = {"format": _JOURNAL_FORMAT, **asdict(self.identity), "done": done}
            write_atomic(self.journal_path, json.dumps(body).encode(), durable=False)

    def install(self) -> None:
        """Put the complete, verified staged file in the place of the destination."""
        with self._lock:
            self._closed = True
            with local_writes(self.dest):
                with open(self.path, "rb+") as f:
                    flush_to_disk(f)
                put_in_place(self.path, self.dest)
                _remove(self.journal_path)

    def give_up(self) -> None:
        """The pull did not finish: keep what arrived for a later run where journalled,
        else remove it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.journal:
                with contextlib.suppress(OSError, FsArtifactsError):
                    self._write_journal()
                return
            _remove(self.path, self.journal_path)

    def discard(self) -> None:
        """Remove the staged file and its journal: what arrived failed verification. The
        next attempt starts over (:meth:`reopen`)."""
        with self._lock:
            self._closed = True
            self.discarded = True
            _remove(self.path, self.journal_path)

    def reopen(self) -> None:
        """A fresh staged file in place of the one :meth:`discard` removed."""
        fresh = Partial.open(self.dest, self.identity, resume=False)
        with self._lock:
            self.received, self._closed, self.discarded = fresh.received, False, False
        self.record()


# The smallest member kept for a later run when the store's files are on this machine.
KEEP_LOCAL_MIN = 1024 * 1024


class KeptMembers:
    """The members of a folder pull already downloaded and verified, kept for a later run
    in a hidden folder beside the destination
    (:func:`~fsartifacts.engine.pulllock.kept_members_path`) until the pull completes: hard
    links to the staged files, so nothing is copied and nothing unverified is ever in it.
    They are kept when the pull is interrupted, killed or its transfers fail; a copy
    refused (damaged, unsafe) leaves none.

    The next pull of the same folder copies from it
    (:func:`~fsartifacts.engine.reuse.local_sources`) what its manifest still wants, each
    file's sha256 checked again as it is copied; what it does not want is never read.
    Without ``resume`` nothing is kept, and what an earlier run kept is removed. One
    older than a day is swept with the other leftovers.
    """

    def __init__(self, dest: Path, *, resume: bool, local: bool = False) -> None:
        self.dest = dest
        self.path = kept_members_path(dest)
        self.resume = resume
        # Members read from this machine's own disk (the folder store) are copied again
        # as cheaply as they are kept (a hard link now, its unlink once the pull is
        # done): there only those of ``KEEP_LOCAL_MIN`` bytes or more are kept.
        self.smallest = KEEP_LOCAL_MIN if local else 0
        # The kept folders each jobs thread has opened, by their parts: a member is then
        # one link made relative to its folder, not a walk down from the top for each. A
        # thread holds at most _OPEN_FOLDERS and closes its oldest first (the members come
        # folder by folder); its own, so no thread waits on another's links. Every one
        # held is also listed under the lock, for close(), and counted against the
        # budget of the whole process (a pull of 64 jobs, or ``ulimit -n 64``).
        self._threads = threading.local()
        self._held: set[int] = set()
        self._budget = held_folders_budget()
        # close() and keep() exclude each other: close waits for the keeps under way on
        # other threads (a link or two each) before it closes the folders they use, and
        # refuses every keep after it, so no descriptor is used once closed and none is
        # opened that nothing would close. By thread, since close() may run on a thread
        # an interrupt took out of its own keep().
        self._state = threading.Condition()
        self._keeping: set[int] = set()
        self._closed = False
        if not resume or (os.path.lexists(self.path) and not kept_members_leftover(self.path)):
            self._remove()  # not asked for, or not a folder of ours (a file, a link)

    def folders(self) -> list[Path]:
        """Where the members an earlier run kept are (none, or this one folder)."""
        return [self.path] if self.resume and kept_members_leftover(self.path) else []

    def wants(self, size: int) -> bool:
        """Whether a verified member of ``size`` bytes is kept (:meth:`keep`)."""
        return self.resume and size >= self.smallest

    def keep(self, staged: Path, relative: str, size: int) -> None:
        """Keep the verified member ``staged`` (in the folder being built, ``size`` bytes)
        for a later run, where a hard link can be made (elsewhere the member is simply
        not kept)."""
        if not self.wants(size):
            return
        *folder, name = contained_parts(self.path, relative)
        me = threading.get_ident()
        with self._state:
            if self._closed:
                return  # the pull is over: what it kept is final
            self._keeping.add(me)
        try:
            opened: dict[tuple[str, ...], int] | None = getattr(self._threads, "opened", None)
            if opened is None:
                opened = self._threads.opened = {}
            with contextlib.suppress(OSError):
                fd = self._folder(opened, tuple(folder))
                try:
                    os.link(staged, name, dst_dir_fd=fd)
                except FileExistsError:  # an earlier run's, which this replaces
                    os.unlink(name, dir_fd=fd)
                    os.link(staged, name, dst_dir_fd=fd)
        finally:
            with self._state:
                self._keeping.discard(me)
                self._state.notify_all()

    def _folder(self, opened: dict[tuple[str, ...], int], parts: tuple[str, ...]) -> int:
        """The open kept folder ``parts``, made where missing.

        Each folder is opened without following a link, relative to the one above it: a
        link planted in the kept folder (or in place of it) fails here instead of
        unlinking and linking a file elsewhere; one opened stays the folder it was.
        """
        fd = opened.get(parts)
        if fd is not None:
            return fd
        if parts:
            above = self._folder(opened, parts[:-1])
            with contextlib.suppress(FileExistsError):
                os.mkdir(parts[-1], dir_fd=above)
            fd = os.open(parts[-1], _FOLDER_FLAGS, dir_fd=above)
        else:
            with contextlib.suppress(FileExistsError):
                self.path.mkdir()
            fd = os.open(self.path, _FOLDER_FLAGS)
        with _HOLDING:
            # Listed first, so that close() finds it even when what follows is interrupted.
            self._held.add(fd)
            _ALL_HELD.add(fd)
            # The ones above were used already. Past the budget a thread holds only the
            # folder it links in now: the held ones must never take the descriptors the
            # downloads' files and connections need.
            while opened and (len(opened) >= _OPEN_FOLDERS or len(_ALL_HELD) > self._budget):
                oldest = opened.pop(next(iter(opened)))
                self._held.discard(oldest)
                _ALL_HELD.discard(oldest)
                os.close(oldest)
        opened[parts] = fd
        return fd

    def close(self) -> None:
        """Close the kept folders held open, once no other thread is keeping a member, and
        keep none after; idempotent."""
        me = threading.get_ident()
        with self._state:
            self._closed = True
            while self._keeping - {me}:
                self._state.wait()
        with _HOLDING:
            held, self._held = self._held, set()
            _ALL_HELD.difference_update(held)
            self._threads = threading.local()  # what each thread held is closed
        for fd in held:
            os.close(fd)

    def give_up(self, exc: BaseException) -> None:
        """The pull failed with ``exc``: keep the members for a later run when it was
        interrupted or a transfer failed, else (the copy refused) remove them."""
        self.close()
        interrupted = isinstance(exc, (KeyboardInterrupt, TransferError))
        if not (interrupted or (isinstance(exc, OSError) and is_transient(exc))):
            self.discard()

    def discard(self) -> None:
        """Remove what was kept: the pull completed (or resuming is off)."""
        self.close()
        self._remove()

    def _remove(self) -> None:
        if os.path.isdir(self.path) and not os.path.islink(self.path):
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            _remove(self.path)


def held_folders_budget() -> int:
    """How many kept folders the pulls of this process hold open at once, all together: an
    eighth of the descriptors it may open (``ulimit -n``), at least one."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _OPEN_FOLDERS * 64
    return max(1, soft // 8)


def _reserve(fd: int, size: int) -> None:
    """Give the new staged file its full size, taking the disk space now where the
    filesystem can (a full disk fails before anything is downloaded)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        os.ftruncate(fd, size)  # a filesystem without fallocate: a sparse file
    except AttributeError:  # pragma: no cover - platforms without posix_fallocate
        os.ftruncate(fd, size)


def _load(journal_path: Path, path: Path, identity: CopyIdentity) -> list[Interval] | None:
    """The intervals a journal claims for ``identity``, or None when it is not one to trust."""
    try:
        st = os.lstat(path)
        body: Any = json.loads(read_small_file(journal_path, JOURNAL_LIMIT))
    except (OSError, ValueError, RecursionError):
        return None
    if not (stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_size == identity.size):
        return None  # a link from elsewhere would be written through
    if not isinstance(body, dict):
        return None
    expected = {"format": _JOURNAL_FORMAT, **asdict(identity)}
    if any(body.get(key) != value or type(body.get(key)) is not type(value)
           for key, value in expected.items()):  # fmt: skip
        return None
    done = body.get("done")
    if not isinstance(done, list):
        return None
    intervals: list[Interval] = []
    for item in done:
        if not (isinstance(item, list) and len(item) == 2
                and all(type(n) is int for n in item)):  # fmt: skip
            return None
        start, end = item
        if not 0 <= start < end <= identity.size:
            return None
        intervals.append((start, end))
    return merged(intervals)


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
