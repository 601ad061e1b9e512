"""One pull of a destination at a time, and what a dead pull left beside it.

A pull holds an advisory lock (``flock``) on a hidden file beside the destination
while it installs. The kernel releases it when its process dies, however it dies,
so a temporary found beside the destination by the holder of the lock is provably a
leftover of a dead pull and is swept; a second pull of the same destination
meanwhile fails at once, touching nothing. What a later pull can still use (a
resumable download with its journal, the members a folder pull kept) stays a day.
A sync pull holds the lock too while it checks that the destination is current and
records it so, and a destination is written only once it resolves inside the project.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Iterator
from glob import escape
from pathlib import Path

from fsartifacts import locks
from fsartifacts.atomic import TEMP_MARKER
from fsartifacts.config.values import outside_root_problem
from fsartifacts.engine.install import OLD_TAG, local_writes
from fsartifacts.errors import ConfigError, LocalError

LOCK_SUFFIX = ".fsartifacts-lock"
PARTIAL_TAG = "partial"  # the staged file of a download that may resume
KEPT_TAG = "kept"  # the members of a folder pull kept for a later run
PARTIAL_FRESH_FOR = 24 * 3600  # seconds a resumable download is kept for a later run


@contextlib.contextmanager
def pull_lock(dest: Path) -> Iterator[None]:
    """Hold the lock of ``dest`` for the block; fail at once if another process holds it."""
    path = dest.parent / f".{dest.name}{LOCK_SUFFIX}"
    with local_writes(path):
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd = locks.take(path)
    if fd is None:
        raise LocalError(
            f"another pull of {dest} is under way ({locks.holder(path)} holds {path}); let "
            "it finish, then pull again."
        )
    try:
        yield
    finally:
        locks.release(path, fd)


def check_inside_project(root: Path, dest: Path) -> None:
    """Refuse to write ``dest`` unless it resolves inside the project root.

    The configuration was checked when it was loaded; this checks again just
    before the write, as a symlink may have appeared in between.
    """
    problem = outside_root_problem(root, dest)
    if problem:
        raise ConfigError(f"refusing to write {dest}: {problem}")


def checking(root: Path, dest: Path, dry_run: bool) -> contextlib.AbstractContextManager[object]:
    """Around the check that ``dest`` is current and the record of it: the lock of
    ``dest``, as an install holds it, so no other pull puts another copy there between
    the check and the record. A dry run writes nothing, not even that lock."""
    if dry_run:
        return contextlib.nullcontext()
    check_inside_project(root, dest)
    return pull_lock(dest)


def partial_paths(dest: Path) -> tuple[Path, Path]:
    """The staged file of a resumable download of ``dest``, and its journal."""
    base = f".{dest.name}{TEMP_MARKER}{PARTIAL_TAG}"
    return dest.parent / f"{base}.part", dest.parent / f"{base}.json"


def sweep_stale(dest: Path) -> None:
    """Remove temporaries a dead pull of ``dest`` left beside it; call with its lock held.

    A folder the dead pull had moved aside to swap in its replacement is put
    back when ``dest`` itself is missing: it is the copy that was there. A
    resumable download (its journal beside it), or the members a folder pull kept
    (:func:`kept_members_path`), is kept for a day, for the next pull to resume or
    discard.
    """
    if not dest.parent.is_dir():
        return
    partial, journal = partial_paths(dest)
    fresh = resumable_leftover(partial, journal)
    if not fresh:
        _remove_entry(journal)
    kept = kept_members_path(dest)
    for leftover in dest.parent.glob(f".{escape(dest.name)}{TEMP_MARKER}*.part"):
        if (leftover == partial and fresh) or (leftover == kept and kept_members_leftover(kept)):
            continue
        if leftover.name.endswith(f"{OLD_TAG}.part") and not os.path.lexists(dest):
            os.rename(leftover, dest)
        else:
            _remove_entry(leftover)
    # The journal is replaced whole, through a temporary of its own name: one a pull killed
    # during that write left matches no name above.
    for torn in dest.parent.glob(f".{escape(journal.name)}{TEMP_MARKER}*.part"):
        _remove_entry(torn)


def resumable_leftover(partial: Path, journal: Path) -> bool:
    """Whether a partial download and its journal may be resumed: both regular files
    (never a folder, a link or a file linked from elsewhere, which a resume would write
    through), the journal less than a day old."""
    try:
        staged, notes = partial.lstat(), journal.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISREG(staged.st_mode)
        and staged.st_nlink == 1
        and stat.S_ISREG(notes.st_mode)
        and time.time() - notes.st_mtime < PARTIAL_FRESH_FOR
    )


def kept_members_path(dest: Path) -> Path:
    """The folder where a pull of the folder ``dest`` keeps its verified members for a
    later run (:class:`~fsartifacts.engine.partial.KeptMembers`)."""
    return dest.parent / f".{dest.name}{TEMP_MARKER}{KEPT_TAG}.part"


def kept_members_leftover(path: Path) -> bool:
    """Whether ``path`` is the folder of members a folder pull kept for a later run: a
    real folder (never a link), changed less than a day ago."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and time.time() - st.st_mtime < PARTIAL_FRESH_FOR


def _remove_entry(path: Path) -> None:
    """Remove whatever is at ``path``: a folder with its content, else the entry itself."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
