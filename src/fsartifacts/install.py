"""Atomic installation of pulled files and folders in the project.

Bytes are written to a hidden temporary name beside the destination and
renamed over it only once complete and verified, so an interrupted or
corrupted transfer leaves the destination as it was. Temporaries left by a
killed process are swept by the next pull of the same destination.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import IntegrityError
from .naming import has_control_characters
from .storeops import TEMP_MARKER, temp_name


def sweep_stale(dest: Path) -> None:
    """Remove temporaries an earlier, killed pull of ``dest`` left beside it."""
    if not dest.parent.is_dir():
        return
    for leftover in dest.parent.glob(f".{dest.name}{TEMP_MARKER}*.part"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


@contextlib.contextmanager
def staged_file(dest: Path) -> Iterator[IO[bytes]]:
    """A file object whose content replaces ``dest`` when the block ends without error."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / temp_name(dest.name)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if dest.is_dir() and not dest.is_symlink():
            _replace_dir_with(tmp, dest)
        else:
            os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def staging_dir(dest: Path) -> Path:
    """A new empty hidden folder beside ``dest`` to build its replacement in."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / temp_name(dest.name)
    staging.mkdir()
    return staging


def swap_dir(staging: Path, dest: Path) -> None:
    """Put the folder ``staging`` in the place of ``dest`` (a folder, a file or nothing)."""
    if not dest.exists() and not dest.is_symlink():
        os.rename(staging, dest)
        return
    _replace_dir_with(staging, dest)


def _replace_dir_with(new: Path, dest: Path) -> None:
    # Move the old one aside first: a rename onto a non-empty folder fails, and
    # this keeps the window without ``dest`` to two renames.
    old = dest.parent / temp_name(dest.name)
    os.rename(dest, old)
    try:
        os.rename(new, dest)
    except BaseException:
        os.rename(old, dest)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


def contained(base: Path, relative: str) -> Path:
    """``base / relative``, refusing any name that would land outside ``base``."""
    rel = PurePosixPath(relative)
    if not relative or rel.is_absolute() or ".." in rel.parts or "\\" in relative:
        problem = f"it would land outside {base}"
    elif has_control_characters(relative):
        problem = "it holds control characters"
    else:
        return base.joinpath(*rel.parts)
    raise IntegrityError(
        f"refusing remote name {relative!r}: {problem}. "
        "The remote copy is not one fsartifacts wrote; remove it from the store."
    )
