"""Reading local files only as regular files: fsartifacts' own small files, and the
entries of a folder store.

Only regular files are read. A FIFO would block the open or the read forever
and ``/dev/zero`` would never end, so anything that is not a regular file is
refused before a byte is read. Files are opened non-blocking, so that even
opening a FIFO with no writer returns at once.

- The small files fsartifacts keeps (config, lock file, hash cache, VERSION)
  are read whole, up to a bound: a file above it is refused rather than loaded.
- A folder store's entries are opened without following links. fsartifacts
  writes nothing but regular files and folders into a store, so a link, a FIFO
  or a device found there was put by someone else: following a link would copy
  a file from anywhere on this machine into the project (``pw -> /etc/passwd``).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import IO, Any

from fsartifacts.errors import IntegrityError, option
from fsartifacts.sizes import KiB, MiB

CONFIG_LIMIT = 1 * MiB  # fsartifacts.yaml, skelebot.yaml, their overlays, pyproject.toml
LOCK_LIMIT = 16 * MiB
CACHE_LIMIT = 256 * MiB  # the hash cache: one entry per local file ever hashed
VERSION_LIMIT = 64 * KiB  # the VERSION file


class UnreadableFile(OSError):
    """A local file fsartifacts will not read: not a regular file, or above its bound.

    ``strerror`` says which, in words a user can act on.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(errno.EINVAL, problem, os.fspath(path))


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, for messages: "a directory", "a FIFO (named pipe)", ..."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def not_regular_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` (which exists) is not a readable regular file, or None when it is one."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return f"is {file_kind(mode)}, not a regular file"


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing anything else or more than ``limit``.

    Raises :class:`UnreadableFile` (an OSError) for a FIFO, a device, a directory or
    a file above ``limit``, and the OSError of the system for a missing file.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFile(path, f"is {file_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, min(MiB, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(path, f"is larger than {_bound(limit)}, too large to be read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_small_file(path: str | os.PathLike[str], limit: int) -> IO[bytes]:
    """The regular file ``path`` open for reading, refused as :func:`read_small_file`
    refuses it, for a reader that takes it a line at a time."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(path, f"is {file_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise UnreadableFile(path, f"is larger than {_bound(limit)}, too large to be read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_small_text(path: str | os.PathLike[str], limit: int) -> str:
    """:func:`read_small_file` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_small_file(path, limit).decode("utf-8")


def _bound(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit >= MiB else f"{limit // KiB} KiB"


# -- a folder store's entries -------------------------------------------------

_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK}  # what O_NOFOLLOW answers on a link (Linux, BSD)


def not_a_copy(entry: Mapping[str, Any]) -> str | None:
    """Why an entry of a folder store's listing (an fsspec local ``ls`` entry) cannot be a
    copy, or None when it can: only a regular file or a folder, not a link to one, can be.
    Anything else was put there by someone else, and a pull refuses to read it
    (:func:`open_regular`), so a listing does not offer it as a version either."""
    if entry.get("islink"):
        kind = "a symbolic link"
    elif entry.get("type") in ("file", "directory"):
        return None
    else:
        kind = file_kind(int(entry.get("mode") or 0))
    return (
        f"ignoring {entry['name']} on the store: it is {kind}, and fsartifacts only ever "
        "writes regular files and folders, so someone else put it there; remove it"
    )


def not_regular(path: str, reason: str) -> IntegrityError:
    """The error for a store entry that is not a regular file (``reason`` says what it is)."""
    return IntegrityError(
        f"refusing {path} on the store: {reason}. fsartifacts only "
        "ever writes regular files, so someone else put it there; remove it from the store "
        f"(or push that version again with {option('force')}).",
        transient=False,
    )


def open_regular(path: str, within: str | None = None) -> IO[bytes]:
    """``path`` opened for reading, refused unless it is a regular file reached without links.

    With ``within`` (a folder that ``path`` lies in), neither ``within`` itself nor any
    folder between it and ``path`` may be a link either.
    """
    if within is None:
        fd = _open_leaf(None, path, path)
    else:
        parts = _parts_below(path, within)
        if not parts:
            raise not_regular(path, f"it is outside {within}")
        dir_fd = _open_dir(None, within, within)
        try:
            here = within
            for part in parts[:-1]:
                here = os.path.join(here, part)
                inner = _open_dir(dir_fd, part, here)
                os.close(dir_fd)
                dir_fd = inner
            fd = _open_leaf(dir_fd, parts[-1], path)
        finally:
            os.close(dir_fd)
    try:
        _check_regular(fd, path)
        # The buffer's size given: a regular file is no terminal, and ``open`` asks one
        # that is not given (an ioctl per file of a folder of 20,000).
        return os.fdopen(fd, "rb", io.DEFAULT_BUFFER_SIZE)
    except BaseException:
        os.close(fd)
        raise


def _check_regular(fd: int, path: str) -> os.stat_result:
    """The stat of the open ``fd``, made blocking, refused unless it is a regular file."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise not_regular(path, f"it is {file_kind(st.st_mode)}, not a regular file")
    os.set_blocking(fd, True)
    return st


class FolderReader:
    """The files below the folder ``within`` opened as :func:`open_regular` opens them,
    through descriptors of its folders kept open between files.

    Each folder on the way is opened once, without following a link, from the descriptor
    of the folder above it, and each file from its folder's descriptor: the same walk
    :func:`open_regular` takes for every file, done once a folder, so a folder of 20,000
    files costs one open a file instead of one a folder on its path. At most
    ``keep`` folders stay open (the files of a manifest come folder by folder); every
    descriptor is closed by :meth:`close`, and none is used after it (the opens are
    made under the lock that closes them, so no descriptor number is reused under one).
    """

    def __init__(self, within: str, keep: int = 32) -> None:
        self.within = within
        self.keep = max(1, keep)
        self._lock = threading.Lock()
        self._root: int | None = None  # opened with the first file: its failure is that file's
        self._closed = False
        self._dirs: OrderedDict[tuple[str, ...], int] = OrderedDict()

    def open(self, path: str) -> tuple[int, os.stat_result]:
        """``path`` (below ``within``) open for reading, and its stat; refused as
        :func:`open_regular` refuses it. The caller closes the descriptor."""
        parts = _parts_below(path, self.within)
        if not parts:
            raise not_regular(path, f"it is outside {self.within}")
        with self._lock:
            fd = _open_leaf(self._dir(tuple(parts[:-1]), path), parts[-1], path)
        try:
            return fd, _check_regular(fd, path)
        except BaseException:
            os.close(fd)
            raise

    def _dir(self, parts: tuple[str, ...], path: str) -> int:
        if self._closed:
            raise OSError(errno.EBADF, "the folder reader is closed", self.within)
        if not parts:
            if self._root is None:
                self._root = _open_dir(None, self.within, self.within)
            return self._root
        fd = self._dirs.get(parts)
        if fd is not None:
            self._dirs.move_to_end(parts)
            return fd
        parent = self._dir(parts[:-1], path)
        fd = _open_dir(parent, parts[-1], os.path.join(self.within, *parts))
        self._dirs[parts] = fd
        while len(self._dirs) > self.keep:
            os.close(self._dirs.popitem(last=False)[1])
        return fd

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for fd in self._dirs.values():
                os.close(fd)
            self._dirs.clear()
            if self._root is not None:
                os.close(self._root)
                self._root = None


def _parts_below(path: str, within: str) -> list[str]:
    """The names from ``within`` down to ``path``; none when ``path`` is not below it.

    Split as strings where ``path`` is plainly ``within`` and a relative path below it (a
    folder's every file is opened so), else through ``relpath``."""
    prefix = os.path.join(within, "")
    if os.sep == "/" and path.startswith(prefix):
        parts = path[len(prefix) :].split("/")
        if not any(part in ("", ".", "..") for part in parts):
            return parts
    rel = PurePosixPath(os.path.relpath(path, within).replace(os.sep, "/"))
    if rel.is_absolute() or ".." in rel.parts:
        return []
    return list(rel.parts)


def _open_leaf(dir_fd: int | None, name: str, path: str) -> int:
    try:
        return os.open(name, _FLAGS | _CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise not_regular(path, "it is a symbolic link") from None
        raise


def _open_dir(dir_fd: int | None, name: str, path: str) -> int:
    try:
        return os.open(name, _FLAGS | _CLOEXEC | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS | {errno.ENOTDIR}:
            raise
        # O_DIRECTORY | O_NOFOLLOW answers ENOTDIR on a link (Linux): say which it is.
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        kind = "a symbolic link" if stat.S_ISLNK(mode) else file_kind(mode)
        raise not_regular(path, f"it is {kind} where a folder should be") from None
