"""The pull of one large file in ranges: its partial, its tries, its verification.

A file larger than ``transfer.ranged_from`` bytes on a store that serves ranges
(``StoreOps.serves_ranges``) downloads through :mod:`fsartifacts.engine.ranged` into the
partial of :mod:`fsartifacts.engine.partial`. A try that fails keeps what arrived, so
the next try asks only for the rest; bytes that fail verification are discarded and
the next try starts over. A pull that does not finish (its tries spent, an interrupt)
leaves the partial and its journal for the next run, unless resuming is off.

A store that answers a ranged read with anything but the range asked (the whole file,
as some proxies and CDNs do: :class:`~fsartifacts.errors.RangesNotServed`) gets no more
ranged reads in this run: the partial is removed (a resumed one too: the download
starts over) and the caller downloads the file in one stream, verified the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from fsspec.callbacks import Callback

from fsartifacts.engine.context import Context
from fsartifacts.engine.folderstop import in_flight_of
from fsartifacts.engine.install import Installing
from fsartifacts.engine.naming import RemoteCopy
from fsartifacts.engine.partial import CopyIdentity, Partial
from fsartifacts.engine.ranged import RangedJob, download_ranges
from fsartifacts.errors import IntegrityError, RangesNotServed
from fsartifacts.inflight import Stopped
from fsartifacts.progressbars import Tally
from fsartifacts.retry import with_retries

log = logging.getLogger("fsartifacts")

# Checks the whole file's (size, digests by hashlib name); raises IntegrityError.
Check = Callable[[int, dict[str, str]], None]


def in_ranges(ctx: Context, copy: RemoteCopy) -> bool:
    """Whether ``copy`` is downloaded in ranges."""
    return is_large(ctx, copy.size)


def is_large(ctx: Context, size: int | None) -> bool:
    """Whether a file of ``size`` bytes is downloaded in ranges."""
    return (
        ctx.ops.serves_ranges
        and not ctx.ranges_refused.is_set()
        and bool(size)
        and (size or 0) > ctx.transfer.ranged_from
    )


def _not_served(ctx: Context, url: str, exc: RangesNotServed, kept: int) -> None:
    """Note that the store does not serve ranges: no more ranged reads in this run."""
    if not ctx.ranges_refused.is_set():
        ctx.ranges_refused.set()
        log.info("%s; the store does not serve ranges, so large files download in one "
                 "stream for the rest of this run", exc)  # fmt: skip
    if kept:
        log.debug("%s: the %d bytes an earlier pull kept are discarded, since the store "
                  "no longer serves ranges: the download starts over", url, kept)  # fmt: skip


def fetch_member_in_ranges(
    ctx: Context,
    rpath: str,
    target: Path,
    size: int,
    sha256: str,
    *,
    url: str,
    check: Check,
    callback: Callback,
) -> bool:
    """One try of a large file of a folder version into ``target`` (in the folder being
    built), in ranges, within the slot its caller holds; verified by ``check``. False
    (nothing left of it) when the store does not serve ranges: the caller downloads
    it in one stream.

    Its staged file lives in that folder, which a failed pull removes: nothing resumes
    across runs, and a try that fails leaves nothing of its own.
    """
    # Its staged file made, and installed, within the folder's gate: a try once the folder
    # failed makes nothing (see the pull of a folder).
    gate = in_flight_of(callback)
    with gate.writing():
        partial = Partial.open(target, CopyIdentity(rpath, size, None, sha256), resume=False)
    try:
        job = RangedJob(ctx.ops, rpath, str(partial.path), size, None, ctx.transfer.ranges,
                        ctx.transfer.range_size, ("sha256",), url)  # fmt: skip
        check(size, download_ranges(job, partial.received, ctx.transfers, callback, partial.record))
    except RangesNotServed as exc:
        partial.discard()
        _not_served(ctx, url, exc, 0)
        return False
    except BaseException:
        partial.discard()
        raise
    try:
        with gate.writing():
            partial.install()
    except Stopped:
        partial.discard()
        raise
    return True


def pull_in_ranges(
    ctx: Context,
    copy: RemoteCopy,
    dest: Path,
    *,
    url: str,
    recorded: str | None,
    algorithms: tuple[str, ...],
    check: Check,
    resume: bool,
    verified: bool,
    tally: Tally,
    installing: Installing = contextlib.nullcontext,
) -> bool:
    """Download ``copy`` into ``dest`` in ranges, verified by ``check``, and install it (the
    rename inside ``installing()``); False (nothing left of it, nor of an earlier run's
    partial) when the store does not serve ranges: the caller downloads it in one stream.

    ``verified``: whether ``check`` holds the whole file to a digest the store keeps. A
    file checked by its size alone is never resumed: nothing would catch the bytes a
    journal claims wrongly.
    """
    size = copy.size or 0
    identity = CopyIdentity(copy.path, size, ctx.ops.revision(copy.entry), recorded)
    partial = Partial.open(dest, identity, resume=resume and verified)
    kept = partial.received.total()  # by an earlier run
    resumed = kept > 0  # whether the staged file still holds an earlier run's bytes

    def attempt(callback: Callback) -> None:
        nonlocal resumed
        callback.absolute_update(0)  # what arrived before is counted again below
        if partial.discarded:
            partial.reopen()
        job = RangedJob(ctx.ops, copy.path, str(partial.path), size, identity.revision,
                        ctx.transfer.ranges, ctx.transfer.range_size, algorithms, url)  # fmt: skip
        got = download_ranges(job, partial.received, ctx.transfers, callback, partial.record)
        try:
            check(size, got)
        except IntegrityError:
            partial.discard()
            if not resumed:
                raise
            # The bytes that failed may be the ones the journal vouched for (a journal
            # edited, a disk that lost them): not the store's fault, nor a try spent.
            resumed = False
            log.warning("%s: the file, with the %d bytes an earlier pull kept, is not the "
                        "copy on the store; downloading all of it again", url, kept)  # fmt: skip
            attempt(callback)

    def transfer(callback: Callback) -> None:
        with_retries(f"download of {url}", ctx.transfer.attempts, lambda: attempt(callback))

    try:
        ctx.transfers.one(tally, transfer)
    except RangesNotServed as exc:
        partial.discard()
        _not_served(ctx, url, exc, kept)
        return False
    except BaseException:
        partial.give_up()
        if partial.journal and not partial.discarded and (kept := partial.received.total()):
            log.warning("%s: %d of its %d bytes are kept in %s; the next pull resumes from "
                        "there", url, kept, size, partial.path)  # fmt: skip
        raise
    with installing():
        partial.install()
    return True
