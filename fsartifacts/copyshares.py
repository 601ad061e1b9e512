"""Many small local files copied at once: by this thread and by worker processes beside it.

A folder of 20,000 files of 1 KiB costs its copy a few system calls a file; any Python
run for each file on top of them (a transfer of its own, a callback, a lookup) costs
more than they do, and under one interpreter lock. Here the files are copied by one
loop (:func:`fsartifacts.copyworker.copy_files`) run by this thread and by worker
processes, one per core beyond the first, each in a place among the run's transfers
in flight that was free. The list is cut into a share for each worker, which copies it
from its start while this thread copies it from its end, until the two meet: each
stops at the first file the other created (the exclusive create is the claim), so
neither waits on the other however the machine's load shares the cores out.

What comes back is the outcome of each copy, in the order of the list: its identity
after the read and its digests, or None for a copy not made (unreadable, not the size
listed, a worker killed or crashed), whose destination the caller removes before it
copies that file by its usual means, which report what is wrong with it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from fsartifacts import copyworker
from fsartifacts.copyworker import NOFOLLOW, Answers, Copy, Outcome, Slots, Worker, copy_files


def copy_together(
    copies: Sequence[Copy],
    slots: Slots,
    algorithms: Sequence[str],
    *,
    keep_mode: bool,
    make_folders: bool = True,
    within: str | None = None,
) -> Iterator[Outcome | None]:
    """Copy each of ``copies`` into its new ``dst`` (none may exist yet) as the module says,
    the workers each in a place taken from ``slots`` (none where none is free: this thread
    then copies every file). The options are those of :class:`~fsartifacts.copyworker.Worker`;
    with ``within``, on a system that cannot open a file without following a link, no
    file is copied. Every worker has ended when this returns, however it returns; the
    outcomes are then read from the answers in memory, one at a time."""
    names = tuple(dict.fromkeys(algorithms))
    if within is not None and not NOFOLLOW:
        return iter([None] * len(copies))
    # One worker per core beyond the first, each for at least SHARE_MIN files (its start
    # costs what copying a few hundred does).
    wanted = min(copyworker.cores() - 1, len(copies) // copyworker.SHARE_MIN)
    started = slots.take(wanted) if wanted > 0 else 0
    if not started:
        here = _copied_here(copies, names, keep_mode, make_folders, within, until_taken=False)
        return map(here.at, range(len(copies)))
    per = -(-len(copies) // started)
    shares = [copies[start : start + per] for start in range(0, len(copies), per)]
    parts: list[tuple[int, Answers | None, Answers]] = []
    with contextlib.ExitStack() as workers:
        theirs: list[Worker | None] = []
        for share in shares:
            try:
                worker = Worker(
                    share,
                    names,
                    keep_mode=keep_mode,
                    exclusive=True,
                    make_folders=make_folders,
                    within=within,
                    until_taken=True,
                )
            except OSError:  # no process to be had (a limit on them, on open files)
                worker = None
            theirs.append(workers.enter_context(worker) if worker is not None else None)
        mine = [_copied_here(share[::-1], names, keep_mode, make_folders, within,
                             until_taken=worker is not None)
                for share, worker in zip(shares, theirs, strict=True)]  # fmt: skip
        for share, worker, here in zip(shares, theirs, mine, strict=True):
            parts.append((len(share), worker.answers() if worker is not None else None, here))
    return _outcomes(parts)


def _outcomes(parts: list[tuple[int, Answers | None, Answers]]) -> Iterator[Outcome | None]:
    """The outcome of each copy, share after share: the worker's answer where it made the
    copy, else this thread's (which went through the share from its end)."""
    for count, there, here in parts:
        last = count - 1
        for n in range(count):
            yield (there.at(n) if there is not None else None) or here.at(last - n)


def _copied_here(
    copies: Sequence[Copy],
    names: tuple[str, ...],
    keep_mode: bool,
    make_folders: bool,
    within: str | None,
    *,
    until_taken: bool,
) -> Answers:
    """Copy ``copies`` in this thread, in their order (``until_taken``: as copy_files)."""
    answers = copy_files(
        ((c.size, os.fsencode(c.src), os.fsencode(c.dst)) for c in copies), names,
        keep_mode=keep_mode, exclusive=True, make_folders=make_folders, within=within,
        until_taken=until_taken,
    )  # fmt: skip
    return Answers(answers, len(copies), names)
