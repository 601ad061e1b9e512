"""The small files of a folder pushed to a folder store, copied in batches.

A folder of 20,000 files of 1 KiB costs each file's copy a few system calls, and the
Python around them: a transfer of its own for each (a callback, the hash cache's lookup,
the runner's bookkeeping) cost more than the system calls did. Here each small file
whose digests are still to be computed is read once, hashed from those bytes and
written new by one loop (:func:`fsartifacts.copyworker.copy_files`): the caller's share
in its own thread, the rest by worker processes beside it, one per core beyond the
first, each in a place among the run's transfers in flight that was free. Their answers
are then taken in one loop each: the digests and the identity of what each copy read,
and one progress update for all of them.

A file a copy did not make (unreadable, not the size the walk found, replaced since the
walk, a worker that was killed or crashed) is left, with whatever its copy left removed,
to the store's usual upload, which reports what is wrong with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

from fsartifacts import copyworker
from fsartifacts.copyworker import Answers, Copy, Outcome, Worker, copy_files
from fsartifacts.hashing import CHUNK, DigestsOnUse
from fsartifacts.stores.base import FolderFile, StoredCopy
from fsartifacts.stores.filerunner import FileRunner

# The files taken at a time: what is kept of each while its batch is copied (its
# paths, the answers about it) is then bounded for a folder of any size, at the cost
# of a worker's start (tens of milliseconds, beside this process's copies) a batch.
BATCH = 20_000


def batches(files: Iterable[FolderFile]) -> Iterator[list[FolderFile]]:
    """``files`` in lists of :data:`BATCH`, in their order."""
    it = iter(files)
    while batch := list(itertools.islice(it, BATCH)):
        yield batch


def copy_small_files(
    files: Iterable[FolderFile],
    staging: str,
    run: FileRunner,
    sources: Mapping[str, StoredCopy],
    algorithms: Sequence[str],
) -> list[FolderFile]:
    """Copy the small files of ``files`` not hashed yet into the staged folder ``staging``
    (see the module); the files left for the caller's upload: the others (large ones,
    those of a size an earlier version in ``sources`` holds, which may be linked to it
    instead) and those not copied here."""
    sizes = {source.size for source in sources.values()}
    small: list[FolderFile] = []
    rest: list[FolderFile] = []
    for file in files:
        digests = file[2]
        if (
            isinstance(digests, DigestsOnUse)
            and digests.pending
            and digests.size_found < CHUNK
            and digests.size_found not in sizes
        ):
            small.append(file)
        else:
            rest.append(file)
    if not small:
        return rest
    names = tuple(dict.fromkeys(("sha256", *algorithms)))
    with run.beside() as slots, contextlib.ExitStack() as workers:
        # One worker per core beyond the first, each for at least SHARE_MIN files (its start
        # costs what copying a few hundred does).
        wanted = min(copyworker.cores() - 1, len(small) // copyworker.SHARE_MIN)
        started = slots.take(wanted) if wanted > 0 else 0
        if not started:
            here = _copied_here(small, staging, names, until_taken=False)
            return rest + _taken(small, map(here.at, range(len(small))), staging, names, run)
        # A share for each worker, which copies it from its start while this thread takes
        # each share from its end, until they meet (see copy_files): however the machine's
        # load shares the cores out, neither waits long for the other.
        per = -(-len(small) // started)
        shares = [small[start : start + per] for start in range(0, len(small), per)]
        theirs: list[Worker | None] = []
        for share in shares:
            try:
                worker = Worker(_copies(share, staging), names, keep_mode=True,
                                exclusive=True, until_taken=True)  # fmt: skip
            except OSError:  # no process to be had (a limit on them, on open files)
                worker = None
            theirs.append(workers.enter_context(worker) if worker is not None else None)
        mine = [_copied_here(share[::-1], staging, names, until_taken=worker is not None)
                for share, worker in zip(shares, theirs, strict=True)]  # fmt: skip
        left: list[FolderFile] = []
        for share, worker, here in zip(shares, theirs, mine, strict=True):
            there = worker.answers() if worker is not None else None
            last = len(share) - 1
            found = (
                (there.at(n) if there is not None else None) or here.at(last - n)
                for n in range(len(share))
            )
            left += _taken(share, found, staging, names, run)
    return rest + left


def _target(staging: str, relative: str) -> str:
    return os.path.join(staging, *relative.split("/"))


def _copies(files: Sequence[FolderFile], staging: str) -> Iterator[Copy]:
    """Each of ``files`` (small ones, not hashed yet) as a copy into ``staging``."""
    for lpath, relative, digests in files:
        assert isinstance(digests, DigestsOnUse)  # as copy_small_files chose them
        yield Copy(lpath, _target(staging, relative), digests.size_found)


def _copied_here(
    files: Sequence[FolderFile], staging: str, names: tuple[str, ...], *, until_taken: bool
) -> Answers:
    """Copy ``files`` in this thread, in their order (``until_taken``: as copy_files)."""
    answers = copy_files(
        ((c.size, os.fsencode(c.src), os.fsencode(c.dst)) for c in _copies(files, staging)),
        names, keep_mode=True, exclusive=True, until_taken=until_taken,
    )  # fmt: skip
    return Answers(answers, len(files), names)


def _taken(
    files: Sequence[FolderFile],
    found: Iterable[Outcome | None],
    staging: str,
    names: tuple[str, ...],
    run: FileRunner,
) -> list[FolderFile]:
    """Take the outcome of each copy of ``files`` (in order): its digests to the file's,
    all of them counted as moved at once. The files whose copy was not done, or read
    another file than the one found, are returned, what their copy left removed."""
    left: list[FolderFile] = []
    count = size = 0
    for file, outcome in zip(files, found, strict=True):
        digests = file[2]
        assert isinstance(digests, DigestsOnUse)
        if outcome is not None and digests.copied_as(names, outcome.digests, outcome.identity):
            count += 1
            size += outcome.identity[0]
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_target(staging, file[1]))
        left.append(file)
    run.moved(count, size)
    return left
