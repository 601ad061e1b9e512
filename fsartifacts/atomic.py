"""Writing a local file so that no reader ever sees it half written.

The one way fsartifacts does it: write to a hidden temporary name beside the
target (same folder, so the same filesystem), flush it to disk, then rename it
over the target (or link it, to create the target only if absent), and fsync
the folder so the rename itself survives a crash. A failure at any step
leaves the target as it was and removes the temporary.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import IO

TEMP_MARKER = ".fsartifacts-"  # in the names of temporary files, local and remote
DIR_SYNCS = 8  # folders fsynced at once (fsync_dirs)


def random_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as hex: a name or a token no other process picks.

    From ``os.urandom``, as ``uuid.uuid4`` is: importing ``uuid`` (and ``platform``
    with it) would cost every command more than the names it makes.
    """
    return os.urandom(nbytes).hex()


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` at ``fd``'s position: ``os.write`` may write fewer
    than it is given (a signal, a pipe), and the rest must follow."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def temp_name(basename: str, tag: str = "") -> str:
    """A hidden temporary name beside ``basename`` that no artifact name matches.

    ``tag`` (such as ``.old``) tells one kind of temporary from the others.
    """
    return f".{basename}{TEMP_MARKER}{random_hex(6)}{tag}.part"


def temp_beside(target: str | os.PathLike[str], tag: str = "") -> Path:
    """A new temporary path in ``target``'s folder (see :func:`temp_name`)."""
    path = Path(target)
    return path.parent / temp_name(path.name, tag)


def flush_to_disk(f: IO[bytes]) -> None:
    """Push what was written to ``f`` through the OS cache onto the disk."""
    f.flush()
    os.fsync(f.fileno())


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make the names just created or renamed in ``folder`` durable.

    Where a folder cannot be opened for this (Windows), the rename is as
    durable as the platform makes it.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on a folder
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dirs(folders: list[str]) -> None:
    """:func:`fsync_dir` of each of ``folders``, up to :data:`DIR_SYNCS` at once: the
    filesystem's journal then commits them together, where one after another each waits
    for a commit of its own (21 folders of 100 new files: 7.5 ms against 32 ms)."""
    if len(folders) < 2:
        for folder in folders:
            fsync_dir(folder)
        return
    pending, taking = iter(folders), threading.Lock()

    def run() -> None:
        while True:
            with taking:
                folder = next(pending, None)
            if folder is None:
                return
            fsync_dir(folder)

    threads = [threading.Thread(target=run, name="fsartifacts-sync")
               for _ in range(min(DIR_SYNCS, len(folders)))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def sync_tree(folder: str | os.PathLike[str], durable: Collection[str] = frozenset()) -> None:
    """Make every file and name below ``folder`` durable, at once where the system can.

    One ``syncfs`` of the filesystem ``folder`` is on (Linux) costs about what a few
    fsyncs cost, where an fsync per file makes a folder of 20,000 small files take
    minutes; elsewhere each file and folder below it is fsynced. ``durable``: the paths
    (as ``os.walk`` of ``folder`` joins them) of files below it fsynced since they were
    written (:class:`~fsartifacts.syncer.FileSyncer`): when they are all of its files,
    only its folders are synced, and the filesystem's other writes are not waited for.
    """
    if durable:
        tree = list(os.walk(folder))
        if all(os.path.join(top, name) in durable for top, _, names in tree for name in names):
            fsync_dirs([top for top, _, _ in tree])
            return
    if _syncfs(folder):
        return
    for top, _, names in os.walk(folder):
        for name in names:
            fd = os.open(os.path.join(top, name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(top)


# The pause between two syncfs of :func:`written_behind`: short beside the seconds a large
# folder takes to copy, long beside a syncfs that has little to write.
WRITE_BEHIND_PAUSE = 0.05


@contextlib.contextmanager
def written_behind(folder: str | os.PathLike[str]) -> Iterator[None]:
    """The block writes many new files below ``folder``, which :func:`sync_tree` makes
    durable once it is done: meanwhile a thread has the filesystem write what is dirty
    on it to the disk, one ``syncfs`` after another (a short pause between), so that the
    disk works while the block is busy with the copies, and the sync after it finds
    little left to write. Only the timing of what the system writes anyway changes:
    nothing is durable until that sync returns. Where there is no syncfs, nothing."""
    syncfs = _syncfs_call()
    if syncfs is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(WRITE_BEHIND_PAUSE):
                syncfs(fd)
        finally:
            os.close(fd)

    thread = threading.Thread(target=run, name="fsartifacts-write-behind", daemon=True)
    try:
        thread.start()
    except BaseException:
        os.close(fd)
        raise
    try:
        yield
    except BaseException:
        stop.set()  # not waited for: the block failed, nothing of it is to be kept
        raise
    stop.set()
    thread.join()  # its syncfs under way, which the sync after the block would wait for


def _syncfs_call() -> Callable[[int], int] | None:
    """The system's ``syncfs(2)`` (the interpreter lock released while it waits), or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only here: most commands never write a folder to a folder store

    syncfs: Callable[[int], int] | None = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    return syncfs


def _syncfs(folder: str | os.PathLike[str]) -> bool:
    """``syncfs(2)`` of the filesystem holding ``folder``; False where there is none."""
    syncfs = _syncfs_call()
    if syncfs is None:
        return False
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def install_temp(
    tmp: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    exclusive: bool = False,
    durable: bool = True,
) -> None:
    """Put the finished temporary ``tmp`` in the place of ``target``.

    ``exclusive``: create ``target`` only if absent (a hard link, which fails with
    ``FileExistsError`` when it exists), else replace it. ``tmp`` remains for the
    caller to remove after a link. ``durable`` fsyncs the folder afterwards.
    """
    if exclusive:
        os.link(tmp, target)
    else:
        os.replace(tmp, target)
    if durable:
        fsync_dir(Path(target).parent)


@contextlib.contextmanager
def atomic_write(
    target: str | os.PathLike[str],
    *,
    exclusive: bool = False,
    durable: bool = True,
    synced: bool = True,
) -> Iterator[IO[bytes]]:
    """A binary file whose content becomes ``target`` when the block ends without error.

    The folder must exist. ``exclusive`` and ``durable`` as for :func:`install_temp`.
    ``synced=False`` renames the file into place without flushing it to disk first: for
    a file whose reader can tell it cut short by a crash and does without it (a cache).
    """
    tmp = temp_beside(target)
    try:
        with open(tmp, "xb") as f:
            yield f
            if synced:
                flush_to_disk(f)
        install_temp(tmp, target, exclusive=exclusive, durable=durable)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(
    target: str | os.PathLike[str],
    data: bytes,
    *,
    exclusive: bool = False,
    durable: bool = True,
) -> None:
    """Write ``data`` as the whole of ``target`` (see :func:`atomic_write`)."""
    with atomic_write(target, exclusive=exclusive, durable=durable) as f:
        f.write(data)
