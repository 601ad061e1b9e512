"""Atomic installation of pulled files and folders in the project.

Bytes are written to a hidden temporary name beside the destination and
renamed over it only once complete and verified, so an interrupted or
corrupted transfer leaves the destination as it was. The lock a pull holds on
its destination meanwhile, and the sweep of what a dead pull left beside it,
are :mod:`fsartifacts.engine.pulllock`'s.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, NoReturn

from fsartifacts.atomic import (
    flush_to_disk,
    fsync_dir,
    install_temp,
    sync_tree,
    temp_beside,
    temp_name,
    write_all,
)
from fsartifacts.engine.manifest import ManifestEntry
from fsartifacts.errors import FsArtifactsError, IntegrityError, LocalError, no_room
from fsartifacts.escaping import has_control_characters

OLD_TAG = ".old"  # the destination moved aside during a folder swap
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
# A pulled file's write buffer, given: ``open`` without one asks the system whether the
# new file is a terminal (a system call per file of a folder) to choose line buffering.
WRITE_BUFFER = io.DEFAULT_BUFFER_SIZE
_NEW_MEMBER = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)

# What the rename that installs a copy runs inside, so that the install and its record are
# one step (``lockfile.InstallLog.installing``); by default, nothing.
Installing = Callable[[], contextlib.AbstractContextManager[object]]


def local_error(exc: OSError, path: Path) -> LocalError:
    """What a failed local write of ``path`` means, naming the path and the way out."""
    reason = exc.strerror or str(exc)
    if exc.errno in _NOT_WRITABLE:
        return LocalError(
            f"cannot write {path}: {reason}. The local folder is not writable: fix its "
            "permissions, or pull into a project folder you can write to."
        )
    room = no_room(exc)
    if room is not None:
        return LocalError(
            f"cannot write {path}: {reason}. {room}, and pull again; what was there is as it was."
        )
    return LocalError(f"cannot write {path}: {reason}.")


@contextlib.contextmanager
def local_writes(path: Path) -> Iterator[None]:
    """Run the block, reporting its OSErrors as a local failure to write ``path``."""
    try:
        yield
    except FsArtifactsError:
        raise
    except OSError as exc:
        raise local_error(exc, path) from exc


class NewFile:
    """A new file written through its descriptor, for a folder's staged members: no file
    object, whose opening asks the system for a stat and a position (two system calls a
    file of a folder of 20,000) and whose buffer a member written whole does not need."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        write_all(self.fd, data)
        return len(data)

    def flush(self) -> None:
        """Nothing: every write went to the system as it came."""

    def fileno(self) -> int:
        return self.fd


class Sink:
    """A local file being written: its write errors name the destination, not the store."""

    def __init__(self, f: IO[bytes] | NewFile, dest: Path) -> None:
        self.file = f
        self.dest = dest

    def write(self, data: bytes) -> int:
        with local_writes(self.dest):
            return self.file.write(data)

    def flush(self) -> None:
        with local_writes(self.dest):
            self.file.flush()

    def fileno(self) -> int:
        """The file's descriptor: a large local file is copied into it by the kernel."""
        return self.file.fileno()


@contextlib.contextmanager
def staged_file(dest: Path, install: Installing = contextlib.nullcontext) -> Iterator[Sink]:
    """A file whose content replaces ``dest`` when the block ends without error (the
    rename inside ``install()``)."""
    tmp = temp_beside(dest)
    with local_writes(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "wb", WRITE_BUFFER)  # noqa: SIM115 - closed below, after the fsync
    try:
        with f:
            yield Sink(f, dest)
            with local_writes(dest):
                flush_to_disk(f)
        with local_writes(dest), install():
            put_in_place(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def put_in_place(tmp: Path, dest: Path) -> None:
    """Rename the finished file ``tmp`` over ``dest`` (a file, a folder or nothing)."""
    if dest.is_dir() and not dest.is_symlink():
        _replace_dir_with(tmp, dest)
        fsync_dir(dest.parent)
    else:
        install_temp(tmp, dest)


def staging_dir(dest: Path) -> Path:
    """A new empty hidden folder beside ``dest`` to build its replacement in."""
    staging = dest.parent / temp_name(dest.name)
    with local_writes(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    return staging


@contextlib.contextmanager
def staged_member(staging: Path, relative: str, dest: Path) -> Iterator[Sink]:
    """A new file at ``relative`` inside the folder ``staging`` being built for ``dest``.

    Its folders are made inside ``staging`` only, when the first file in one finds it
    missing (not a ``mkdir`` of every parent for every file): if ``staging`` itself is
    gone, this fails instead of building a new, incomplete one.
    """
    target = contained(staging, relative)
    with local_writes(target):
        try:
            fd = os.open(target, _NEW_MEMBER, 0o666)
        except FileNotFoundError:
            _make_parents(staging, target)
            fd = os.open(target, _NEW_MEMBER, 0o666)
    # Not the block itself under local_writes: what fails there is often the store's (a
    # download cut part way is an OSError too), and must stay the store's, to be retried.
    # The Sink names the file for its own writes.
    try:
        yield Sink(NewFile(fd), dest)
    except BaseException:
        os.close(fd)
        raise
    with local_writes(target):
        os.close(fd)


def member_target(staging: Path, relative: str) -> Path:
    """Where the file ``relative`` goes in the folder ``staging``, its folders made there
    (inside ``staging`` only: if ``staging`` itself is gone, this fails)."""
    target = contained(staging, relative)
    if not os.path.isdir(target.parent):  # one stat, where most files find their folder made
        with local_writes(target):
            _make_parents(staging, target)
    return target


def _make_parents(staging: Path, target: Path) -> None:
    """The folders between ``staging`` and ``target``, made inside ``staging`` only."""
    for parent in reversed(target.relative_to(staging).parents[:-1]):
        (staging / parent).mkdir(exist_ok=True)


def check_tree(
    staging: Path,
    expected: Mapping[str, ManifestEntry],
    dest: Path,
    found: Callable[[str, os.stat_result], None] | None = None,
) -> None:
    """Refuse a staged folder that is not exactly ``expected`` ({relative path: its entry,
    of which the size is checked}); ``found(relative path, lstat)`` for each of its files
    as it is checked.

    Each file is checked as the walk meets it: nothing is kept per file beyond
    ``expected`` (a folder may hold 100,000), and only a tree that fails is walked again
    for the message.
    """
    matched = 0
    top = os.fspath(staging)
    pending = [""]  # folders still to list, relative to ``staging``
    while pending:
        here = pending.pop()
        with os.scandir(os.path.join(top, here) if here else top) as listing:
            for entry in listing:
                rel = f"{here}/{entry.name}" if here else entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    pending.append(rel)
                    continue
                want = expected.get(rel)
                size = st.st_size if stat.S_ISREG(st.st_mode) else -1
                if want is None or want.size != size:
                    _refuse_tree(staging, expected, dest)
                matched += 1
                if found is not None:
                    found(rel, st)
    if matched != len(expected):
        _refuse_tree(staging, expected, dest)


def _refuse_tree(staging: Path, expected: Mapping[str, ManifestEntry], dest: Path) -> NoReturn:
    """The refusal of a staged folder that is not ``expected``, naming the first problems."""
    present: dict[str, int] = {}
    for folder, dirs, files in os.walk(staging):
        for name in dirs + files:
            path = Path(folder, name)
            mode, size = (st := path.lstat()).st_mode, st.st_size
            if not stat.S_ISDIR(mode):
                present[path.relative_to(staging).as_posix()] = size if stat.S_ISREG(mode) else -1
    problems = [
        f"{path} {'missing' if path not in present else 'has the wrong size'}"
        for path, entry in sorted(expected.items())
        if present.get(path) != entry.size
    ] + [f"{path} not in the manifest" for path in sorted(set(present) - set(expected))]
    shown = ", ".join(problems[:5]) + (", ..." if len(problems) > 5 else "")
    raise LocalError(
        f"the folder built for {dest} does not match its manifest ({shown}): something "
        f"else changed it during the pull. Nothing was installed; {dest} is as it was. "
        "Pull again."
    )


def carry_over(dest: Path, staging: Path, paths: Iterable[str]) -> dict[str, int]:
    """Link the files ``paths`` (relative) of ``dest`` into the same places in ``staging``,
    so that they stay once it is swapped in; {path: size} of what was carried (-1 for a
    link or a special file, as :func:`check_tree` counts them).

    A hard link shares the file, costs no copy and leaves ``dest`` as it was should the
    pull fail; a copy where the two cannot share one (another filesystem).
    """
    carried: dict[str, int] = {}
    for relative in paths:
        source, target = contained(dest, relative), contained(staging, relative)
        with local_writes(target):
            _make_parents(staging, target)
            try:
                os.link(source, target, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                shutil.copy2(source, target, follow_symlinks=False)
            st = target.lstat()
        carried[relative] = st.st_size if stat.S_ISREG(st.st_mode) else -1
    return carried


def swap_dir(staging: Path, dest: Path, durable: Collection[str] = frozenset()) -> None:
    """Put the folder ``staging`` in the place of ``dest`` (a folder, a file or nothing).

    Durable like a pulled file: the staged files and names reach the disk before the
    rename (one ``syncfs`` where the system has it, not an fsync per file; only the
    folders when ``durable`` names every file, each fsynced once written), and the
    rename itself after, so a crash cannot leave empty files under the new name.
    """
    with local_writes(dest):
        sync_tree(staging, durable)
        if not dest.exists() and not dest.is_symlink():
            os.rename(staging, dest)
        else:
            _replace_dir_with(staging, dest)
        fsync_dir(dest.parent)


def _replace_dir_with(new: Path, dest: Path) -> None:
    # Move the old one aside first: a rename onto a non-empty folder fails, and
    # this keeps the window without ``dest`` to two renames. A pull killed in
    # that window leaves the old copy under an OLD_TAG name for sweep_stale.
    old = dest.parent / temp_name(dest.name, OLD_TAG)
    try:
        os.rename(dest, old)
        os.rename(new, dest)
    except BaseException:
        _settle_swap(new, old, dest)
        raise
    _discard(old)


def _settle_swap(new: Path, old: Path, dest: Path) -> None:
    """After a swap of ``dest`` for ``new`` stopped part way, leave one whole folder at ``dest``.

    What was done is read from the disk, not assumed from where the exception came: an
    interrupt (Ctrl-C, SIGTERM) is raised between two instructions, so it can arrive just
    after a rename took effect. The swap finished: the old copy goes. The old copy is
    aside and the new one was not put in: the old one goes back. Should that fail too, the
    old copy stays under its OLD_TAG name for sweep_stale, and the first error is the one
    raised (the interrupt stays an interrupt).
    """
    with contextlib.suppress(OSError):
        if os.path.lexists(dest):
            if not os.path.lexists(new) and os.path.lexists(old):
                _discard(old)
        elif os.path.lexists(old):
            os.rename(old, dest)


def _discard(old: Path) -> None:
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


def contained(base: Path, relative: str) -> Path:
    """``base / relative``, refusing any name that would land outside ``base``."""
    return base.joinpath(*contained_parts(base, relative))


def contained_parts(base: Path, relative: str) -> tuple[str, ...]:
    """The names of ``relative`` inside ``base``, refusing any that would land outside it
    (absolute, ``..``, a backslash) or hold control characters."""
    # Split as a string, as a POSIX path splits (empty and "." parts dropped): this runs
    # for every file of a folder of 100,000.
    parts = tuple(part for part in relative.split("/") if part and part != ".")
    if not relative or relative[0] == "/" or ".." in parts or "\\" in relative:
        problem = f"it would land outside {base}"
    elif has_control_characters(relative):
        problem = "it holds control characters"
    else:
        return parts
    raise IntegrityError(
        f"refusing remote name {relative!r}: {problem}. "
        "The remote copy is not one fsartifacts wrote; remove it from the store."
    )
