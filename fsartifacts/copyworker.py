"""Small local files copied by a worker process: each read whole, hashed, written new.

A folder of 20,000 files of 1 KiB costs its copy a few system calls a file, and the
Python around them runs under one interpreter lock: threads cannot share it out. A
worker process can: it is handed a share of the files, copies them beside the process
that started it and hands back, for each, its digests and its identity (the fstat
taken after its one read), so the digests are those of the very bytes written.

The worker is this file run by the same interpreter in isolated mode without ``site``
(``-I -S``: tens of milliseconds, no import of fsartifacts), so everything here uses
the standard library only. Its work arrives whole in an unnamed temporary file (no
pipe that either side could block on) and its answers go to another, read once it
has ended: a file it could not copy as asked (not the size listed, unreadable, a
write that failed) is answered as not done, and so is every file it never reached
(killed, or crashed), for the caller to copy by its usual means, which report the
failure. It ignores Ctrl-C: the caller ends it (and waits for it) before it removes
what the copies were written into, so nothing is written there after that.

The loop a worker runs is :func:`copy_files`, which a caller may run itself for its own
share of the files, and read the answers of as it reads a worker's (:class:`Answers`):
:mod:`fsartifacts.copyshares` shares a list of files out so between this process and
its workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO, NamedTuple, Protocol

# A worker is started for at least this many files: its start (tens of milliseconds)
# costs what copying a few hundred small files does.
SHARE_MIN = 2000

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Where a file can be opened only if its last name is not a link (0: nowhere here).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Each answer: done or not, then the file's size, mtime, inode, device and ctime after
# its read, then its digests' bytes in the order asked.
_ANSWER = struct.Struct("<?QqQQq")


class Copy(NamedTuple):
    """One file for the worker: its ``size`` as listed, read from ``src`` (never through a
    link at its last name; with ``within``, a relative path below that folder, read
    through no link at all) into the new file ``dst``."""

    src: str
    dst: str
    size: int


class Copied(NamedTuple):
    """A file the worker copied: its hex digests by hashlib name, and its identity
    (size, mtime_ns, inode, device, ctime_ns) as its fstat after the read gave it."""

    digests: dict[str, str]
    identity: tuple[int, int, int, int, int]


class Worker:
    """A worker process copying ``copies``; :meth:`result` of each once it has ended.

    ``keep_mode``: each copy takes its source's permission bits (else the default of a
    new file). ``exclusive``: a copy's ``dst`` must not exist yet (else it is
    replaced). ``make_folders``: a ``dst`` whose folder is missing has it made (else
    that copy is not done). ``within``: the folder the sources are below, each opened
    through its folders from there without following a link, as a folder store's
    entries are read. ``until_taken``: stop at the first ``dst`` that exists already
    (with ``exclusive``: another copier took that file, see :func:`copy_files`). Use it
    as a context manager: leaving the block ends the worker if it still runs, and waits
    for it.
    """

    def __init__(
        self,
        copies: Iterable[Copy],
        algorithms: Sequence[str],
        *,
        keep_mode: bool,
        exclusive: bool,
        make_folders: bool = True,
        within: str | None = None,
        until_taken: bool = False,
    ) -> None:
        self.algorithms = tuple(dict.fromkeys(algorithms))
        self.count = 0  # of copies handed to it
        self._sizes = [hashlib.new(name).digest_size for name in self.algorithms]
        self._answers: bytes | None = None
        header = {"algorithms": self.algorithms, "keep_mode": keep_mode, "exclusive": exclusive,
                  "make_folders": make_folders, "within": within,
                  "until_taken": until_taken}  # fmt: skip
        work = tempfile.TemporaryFile()  # noqa: SIM115 - the worker's stdin, closed below
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        try:
            work.write(json.dumps(header).encode() + b"\n")
            # Written as they come, a thousand at a time: the work of 100,000 files is
            # never all in memory at once.
            batch: list[bytes] = []
            for copy in copies:
                batch.append(b"%d\0%s\0%s\0" % (copy.size, os.fsencode(copy.src),
                                                os.fsencode(copy.dst)))  # fmt: skip
                if len(batch) == 1000:
                    work.write(b"".join(batch))
                    self.count += len(batch)
                    batch.clear()
            work.write(b"".join(batch))
            self.count += len(batch)
            work.seek(0)
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__)],
                stdin=work,
                stdout=self._out,
                stderr=subprocess.DEVNULL,
            )
        except BaseException:
            self._out.close()
            raise
        finally:
            work.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def result(self, index: int) -> Copied | None:
        """What the worker made of ``copies[index]``: None when it did not copy it (the
        caller copies it, in place of whatever the worker left at its ``dst``). Waits
        for the worker to end on the first call; never called after :meth:`close`."""
        answers = self._answers if self._answers is not None else self._wait()
        size = _ANSWER.size + sum(self._sizes)
        at = index * size
        if at + size > len(answers):
            return None
        done, *identity = _ANSWER.unpack_from(answers, at)
        if not done:
            return None
        digests, at = {}, at + _ANSWER.size
        for name, length in zip(self.algorithms, self._sizes, strict=True):
            digests[name] = answers[at : at + length].hex()
            at += length
        return Copied(digests, (identity[0], identity[1], identity[2], identity[3], identity[4]))

    def answers(self) -> Answers:
        """What the worker made of each of ``copies``; waits for it to end. Never called
        after :meth:`close`."""
        answers = self._answers if self._answers is not None else self._wait()
        return Answers(answers, self.count, self.algorithms)

    def _wait(self) -> bytes:
        if self._process is not None:
            self._process.wait()  # (interrupted, it is still there for close() to end)
            self._process = None
        self._out.seek(0)
        self._answers = self._out.read()
        self._out.close()
        return self._answers

    def close(self) -> None:
        """End the worker if it still runs, and wait for it: nothing of it writes after."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
        self._out.close()


class Outcome(NamedTuple):
    """A copy done, as the loop over many files reads it (no dict made a file): the
    file's identity after its read (size, mtime_ns, inode, device, ctime_ns), and its hex
    digests in the order the algorithms were asked."""

    identity: tuple[int, int, int, int, int]
    digests: tuple[str, ...]


class Answers:
    """The answers to ``count`` copies as :func:`copy_files` makes them (the bytes only,
    however many files: an :class:`Outcome` is made when one is asked for)."""

    def __init__(self, answers: bytes | bytearray, count: int, algorithms: Sequence[str]) -> None:
        self._answers = answers
        self._sizes = [hashlib.new(name).digest_size for name in dict.fromkeys(algorithms)]
        self._step = _ANSWER.size + sum(self._sizes)
        self.count = count

    def at(self, index: int) -> Outcome | None:
        """The outcome of copy ``index``: None for one not done, and for each the answers
        do not reach (a worker that was killed or crashed, a loop that stopped)."""
        at = index * self._step
        if at + self._step > len(self._answers):
            return None
        done, size, mtime, inode, device, ctime = _ANSWER.unpack_from(self._answers, at)
        if not done:
            return None
        digests, at = [], at + _ANSWER.size
        for length in self._sizes:
            digests.append(self._answers[at : at + length].hex())
            at += length
        return Outcome((size, mtime, inode, device, ctime), tuple(digests))


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Slots(Protocol):
    """Where a worker gets its place among the caller's transfers in flight."""

    def take(self, wanted: int) -> int:
        """Up to ``wanted`` places, those free now: how many were taken (held by the
        caller until its workers have ended)."""
        ...


class _Job(NamedTuple):
    algorithms: list[str]
    keep_mode: bool
    make_folders: bool
    flags: int  # the new files' open flags
    until_taken: bool


class _Taken(Exception):
    """A copy's ``dst`` exists already, and the job stops there (``until_taken``)."""


class _Sources:
    """Opens the sources: plain paths, or relative paths below ``within`` opened through
    each folder on the way without following a link (the folder of the last file kept
    open: a folder's files come one after another)."""

    def __init__(self, within: str | None) -> None:
        self.within = within
        self.folder: tuple[bytes, int] | None = None  # relative folder, its descriptor

    def open(self, src: bytes) -> int:
        leaf = os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | _CLOEXEC
        if self.within is None:
            return os.open(src, leaf)
        folder, _, name = src.rpartition(b"/")
        return os.open(name, leaf, dir_fd=self._folder(folder))

    def _folder(self, folder: bytes) -> int:
        if self.folder is not None and self.folder[0] == folder:
            return self.folder[1]
        self.close()
        flags = os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | _CLOEXEC
        fd = os.open(self.within or ".", flags)
        for name in folder.split(b"/") if folder else []:
            try:
                if name in (b"", b".", b".."):
                    raise OSError(f"{folder!r} is not a folder's path below {self.within}")
                below = os.open(name, flags, dir_fd=fd)
            finally:
                os.close(fd)
            fd = below
        self.folder = (folder, fd)
        return fd

    def close(self) -> None:
        if self.folder is not None:
            os.close(self.folder[1])
            self.folder = None


def _copy_one(sources: _Sources, src: bytes, dst: bytes, size: int, job: _Job) -> bytes | None:
    """Copy one file; its answer's identity and digests, or None when it was not done."""
    try:
        fd = sources.open(src)
    except OSError:
        return None
    try:
        data = os.read(fd, size + 1)
        st = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode) or len(data) != size or st.st_size != size:
        return None
    try:
        out = os.open(dst, job.flags, 0o666)
    except FileExistsError:
        if job.until_taken:
            raise _Taken from None
        return None
    except FileNotFoundError:
        if not job.make_folders:
            return None
        try:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            out = os.open(dst, job.flags, 0o666)
        except OSError:
            return None
    except OSError:
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        if job.keep_mode:
            os.fchmod(out, stat.S_IMODE(st.st_mode))
    except OSError:
        return None
    finally:
        os.close(out)
    digests = b"".join(hashlib.new(name, data).digest() for name in job.algorithms)
    identity = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_ctime_ns)
    return _ANSWER.pack(True, *identity) + digests


def copy_files(
    copies: Iterable[tuple[int, bytes, bytes]],
    algorithms: Sequence[str],
    *,
    keep_mode: bool,
    exclusive: bool,
    make_folders: bool = True,
    within: str | None = None,
    until_taken: bool = False,
) -> bytearray:
    """Copy each (size, src, dst) as a :class:`Worker` does (the options are its), in this
    process: the answers, in the layout :meth:`Worker.outcomes` reads. The loop a worker
    runs, and the one a caller runs for its own share of the files beside its workers.

    With ``exclusive`` and ``until_taken`` two copiers share one list of new files
    without a word between them: one goes through it from its start, the other from its
    end, and each stops at the first file whose ``dst`` the other created already (the
    exclusive create is the claim of a file), so whichever is faster copies more; none
    is answered for after that stop."""
    flags = os.O_WRONLY | os.O_CREAT | _CLOEXEC
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    job = _Job(list(dict.fromkeys(algorithms)), keep_mode, make_folders, flags, until_taken)
    sources = _Sources(within)
    skipped = _ANSWER.pack(False, 0, 0, 0, 0, 0) + bytes(
        sum(hashlib.new(name).digest_size for name in job.algorithms)
    )
    answers = bytearray()
    try:
        for size, src, dst in copies:
            answer = _copy_one(sources, src, dst, size, job)
            answers += skipped if answer is None else answer
    except _Taken:
        pass  # the rest are the other copier's
    finally:
        sources.close()
    return answers


def _main() -> None:
    # The caller ends this process when it must stop (Ctrl-C reaches both).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    work = sys.stdin.buffer
    header = json.loads(work.readline())
    fields = work.read().split(b"\0")
    copies = ((int(fields[at]), fields[at + 1], fields[at + 2])
              for at in range(0, len(fields) - 2, 3))  # fmt: skip
    answers = copy_files(
        copies,
        header["algorithms"],
        keep_mode=bool(header["keep_mode"]),
        exclusive=bool(header["exclusive"]),
        make_folders=bool(header["make_folders"]),
        within=header["within"],
        until_taken=bool(header["until_taken"]),
    )

    sys.stdout.buffer.write(answers)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _main()
