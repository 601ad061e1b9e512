"""The small files of a folder pushed to a folder store, copied in batches.

A folder of 20,000 files of 1 KiB costs each file's copy a few system calls, and the
Python around them: a transfer of its own for each (a callback, the hash cache's lookup,
the runner's bookkeeping) cost more than the system calls did. Here each small file
whose digests are still to be computed is read once, hashed from those bytes and
written new, by this thread and worker processes beside it
(:func:`fsartifacts.copyshares.copy_together`). Their answers are then taken in one
loop: the digests and the identity of what each copy read, and one progress update for
all of them.

A file a copy did not make (unreadable, not the size the walk found, replaced since the
walk, a worker that was killed or crashed) is left, with whatever its copy left removed,
to the store's usual upload, which reports what is wrong with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

from fsartifacts.copyshares import copy_together
from fsartifacts.copyworker import Copy, Outcome
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
    with run.beside() as slots:
        found = copy_together([_copy(file, staging) for file in small], slots, names,
                              keep_mode=True)  # fmt: skip
    return rest + _taken(small, found, staging, names, run)


def _target(staging: str, relative: str) -> str:
    return os.path.join(staging, *relative.split("/"))


def _copy(file: FolderFile, staging: str) -> Copy:
    """``file`` (a small one, not hashed yet) as a copy into ``staging``."""
    lpath, relative, digests = file
    assert isinstance(digests, DigestsOnUse)  # as copy_small_files chose them
    return Copy(lpath, _target(staging, relative), digests.size_found)


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
