"""What a push reads: the artifact's local file or folder, checked before it is read
and again once it is uploaded.

- Only a regular file or a folder is an artifact. A FIFO would block the first read
  forever and ``/dev/zero`` would never end, so anything else is refused before a
  byte is read.
- A folder artifact holds only regular files and folders. A symbolic link inside it
  is refused, never followed: ``innocent.txt -> /etc/shadow`` would otherwise
  publish the shadow file.
- A file that is no longer the one that was hashed once its upload is done fails
  the push, whatever the store, and what the upload wrote is removed: the store
  could otherwise hold bytes that are not the sha256 recorded for them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import IO, NoReturn

from fsartifacts.config.model import Artifact
from fsartifacts.errors import LocalError, NotFoundError, NotPushable
from fsartifacts.hashcache import HashCache
from fsartifacts.hashing import DigestsOnUse, FileDigests, ReadFile
from fsartifacts.localfiles import file_kind

log = logging.getLogger("fsartifacts")


def artifact_source(artifact: Artifact, root: Path) -> tuple[Path, bool]:
    """The local path of ``artifact`` and whether it is a folder, refusing anything that
    is neither a regular file nor a folder before it is opened."""
    local = root / artifact.file
    try:
        mode = local.stat().st_mode
    except FileNotFoundError:
        raise NotFoundError(
            f"{artifact.name}: {artifact.file} does not exist in {root}; "
            "build it first, or fix its `file:` in the config."
        ) from None
    except OSError as exc:
        raise LocalError(f"{artifact.name}: cannot read {local}: {exc.strerror}") from None
    check_pushable(artifact, artifact.file, mode, "fix its `file:` in the config")
    return local, stat.S_ISDIR(mode)


def check_pushable(
    artifact: Artifact, shown: str, mode: int, way_out: str, link_to: str = ""
) -> None:
    """Refuse (:class:`NotPushable`, exit 2) what is neither a regular file nor a folder,
    by its lstat ``mode`` (a stat's, for the artifact's own path, whose link is followed):
    the one rule for an artifact's file and for every entry of its folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    if stat.S_ISLNK(mode):
        what = f"a symbolic link (to {link_to}); links inside a folder artifact are never followed"
    else:
        what = f"{file_kind(mode)}, not a file or a folder; only those can be pushed"
    raise NotPushable(f"{artifact.name}: {shown} is {what}: {way_out}.")


def walk_files(artifact: Artifact, folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Relative POSIX paths of the regular files below ``folder``, each with its lstat.

    A link, a FIFO, a socket or a device anywhere below it fails the push as the same
    thing given as the artifact's file does (:func:`check_pushable`: exit 2, the project
    holds what cannot be pushed); a folder that cannot be read fails it too (exit 1; it
    is not skipped, which would push a partial copy).
    """

    def unreadable(exc: OSError) -> NoReturn:
        raise LocalError(f"{artifact.name}: cannot read {exc.filename}: {exc.strerror}")

    # Strings and scandir entries, not a Path per file: a folder may hold 100,000 files.
    top = os.fspath(folder)
    pending = [""]  # folders still to list, relative to ``top``
    while pending:
        here = pending.pop()
        try:
            listing = os.scandir(os.path.join(top, here) if here else top)
        except OSError as exc:
            unreadable(exc)
        with listing:  # one folder open at a time: its subfolders wait in ``pending``
            for entry in listing:
                rel = f"{here}/{entry.name}" if here else entry.name
                try:
                    walked = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    unreadable(exc)
                mode = walked.st_mode
                if stat.S_ISREG(mode):
                    yield rel, walked
                elif stat.S_ISDIR(mode):
                    pending.append(rel)
                elif stat.S_ISLNK(mode):
                    way_out = "replace it with the file itself, or remove it"
                    check_pushable(artifact, f"{artifact.file}/{rel}", mode, way_out,
                                   os.readlink(entry.path))  # fmt: skip
                else:
                    way_out = f"remove it, or move it out of {artifact.file}"
                    check_pushable(artifact, f"{artifact.file}/{rel}", mode, way_out)


def read_digests(
    hashes: HashCache,
    artifact: Artifact,
    path: str | os.PathLike[str],
    algorithms: Iterable[str],
    *,
    resolved: bool = False,
    read: ReadFile | None = None,
) -> FileDigests:
    """The digests of a local file the push found, through the cache (``resolved`` and
    ``read``: as for :meth:`HashCache.digests`); its read fails as :func:`local_reads`
    says."""
    with local_reads(artifact, path):
        if resolved:
            return hashes.digests(path, algorithms, resolved=True, read=read)
        return hashes.digests(path, algorithms, read=read)


def open_source(artifact: Artifact, path: Path) -> IO[bytes]:
    """The local file ``path`` the push found, open for reading (as :func:`local_reads`)."""
    with local_reads(artifact, path):
        return open(path, "rb")


@contextlib.contextmanager
def local_reads(artifact: Artifact, path: str | os.PathLike[str]) -> Iterator[None]:
    """The block that reads the project's file ``path``: one gone or unreadable by then is
    a LocalError naming it, never an OSError that reads as the store's."""
    try:
        yield
    except FileNotFoundError:
        raise LocalError(
            f"{artifact.name}: {path} disappeared while it was being pushed (it was there "
            "when the push looked); nothing was published. Push again once it is back."
        ) from None
    except OSError as exc:
        raise LocalError(f"{artifact.name}: cannot read {path}: {exc.strerror or exc}") from None


def folder_digests(
    hashes: HashCache,
    artifact: Artifact,
    folder: Path,
    algorithms: Iterable[str],
    wanted: Callable[[str], bool] | None = None,
) -> dict[str, FileDigests]:
    """{relative path: digests} of the files below ``folder`` (see :func:`walk_files`),
    those ``wanted`` takes (by relative path) if given, each file read now."""
    found = folder_files(hashes, artifact, folder, algorithms, wanted)
    for digests in found.values():
        digests.hashed()
    return dict(found)


def folder_files(
    hashes: HashCache,
    artifact: Artifact,
    folder: Path,
    algorithms: Iterable[str],
    wanted: Callable[[str], bool] | None = None,
) -> dict[str, DigestsOnUse]:
    """{relative path: its digests, computed when first read} of the files below
    ``folder`` (see :func:`walk_files`), in path order, those ``wanted`` takes if given.
    Nothing is read but the folders: a push hashes each file in the worker that sends it.

    Each is checked, when hashed, to be the file the walk found: hashing follows links,
    so an entry swapped for a link after the walk would otherwise be read through it.
    """
    names = tuple(algorithms)
    # Nothing below the folder is a link (the walk refuses them): its real path and the
    # relative one are each file's real path, without resolving every file again. Of
    # each walked file's lstat only its packed identity is kept (a folder may hold
    # 100,000 files), and the inode and device the check below needs.
    real = os.path.realpath(folder)

    def on_use(rel: str, st: os.stat_result) -> DigestsOnUse:
        walked = (st.st_ino, st.st_dev)
        return DigestsOnUse(
            st, partial(_hash_found, hashes, artifact, folder, real, rel, walked, names)
        )

    found = sorted(
        ((rel, on_use(rel, st)) for rel, st in walk_files(artifact, folder)
         if wanted is None or wanted(rel)),
        key=itemgetter(0),
    )  # fmt: skip
    return dict(found)


def _hash_found(
    hashes: HashCache,
    artifact: Artifact,
    folder: Path,
    real: str,
    rel: str,
    walked: tuple[int, int],
    algorithms: tuple[str, ...],
    read: ReadFile | None = None,
) -> FileDigests:
    """The digests of the walked file ``rel`` (``real`` the folder's real path), refused
    unless it is still the file the walk found (inode and device ``walked``); ``read``:
    its bytes as the upload just read them."""
    where = os.path.join(real, rel)
    digests = read_digests(hashes, artifact, where, algorithms, resolved=True, read=read)
    if (digests.identity.st_ino, digests.identity.st_dev) != walked:
        raise LocalError(
            f"{artifact.name}: {folder / rel} changed while it was being pushed (it was "
            "replaced after the folder was listed); nothing was published. Push again "
            "once the folder is complete."
        )
    return digests


@contextlib.contextmanager
def unchanged_while_uploading(
    artifact: Artifact,
    base: Path,
    files: Mapping[str, FileDigests],
    withdraw: Callable[[], object],
    *,
    partial: bool = False,
) -> Iterator[None]:
    """Fail the push when a file is no longer the one that was hashed once its upload
    is done: the store could hold bytes that are not the sha256 recorded for them.
    ``files``: {path relative to ``base``: its digests} (the folder's own mapping, not
    a copy of it). ``withdraw`` then removes what the upload wrote; ``partial``: a
    failed upload may have written some of it too (the files of a folder). Checked
    here, for every store."""
    try:
        yield
    except FileExistsError:
        raise  # another push won: nothing of ours is there, and the caller decides
    except LocalError:
        # A file the push was reading (to hash it as it sends it) is gone or unreadable:
        # that names the cause already; what the other files wrote goes.
        if partial:
            _withdrawn(artifact, withdraw)
        raise
    except Exception as exc:
        # A store that checks the file itself fails first: the cause to report is the change.
        if _first_changed(base, files) is not None:
            outcome = _withdrawn(artifact, withdraw) if partial else "nothing was published"
            _fail_if_changed(artifact, base, files, outcome, exc)
        raise
    if _first_changed(base, files) is not None:
        _fail_if_changed(artifact, base, files, _withdrawn(artifact, withdraw), None)


def _withdrawn(artifact: Artifact, withdraw: Callable[[], object]) -> str:
    """Call ``withdraw``; what became of the push's copy, for the message."""
    try:
        withdraw()
    except FileNotFoundError:
        pass  # nothing of it is left
    except Exception as exc:
        log.debug("removing the copy of %s failed", artifact.name, exc_info=True)
        return f"removing what it wrote failed ({exc}): delete it with `fsartifacts rm`"
    return "what it wrote was removed from the store"


def _first_changed(base: Path, files: Mapping[str, FileDigests]) -> Path | None:
    # Strings while checking (one stat a file, no Path of each of 20,000), a Path to name it.
    top = os.fspath(base)
    for rel, digests in files.items():
        if not digests.unchanged(os.path.join(top, rel)):
            return base / rel
    return None


def _fail_if_changed(
    artifact: Artifact,
    base: Path,
    files: Mapping[str, FileDigests],
    outcome: str,
    cause: BaseException | None,
) -> None:
    changed = _first_changed(base, files)
    if changed is not None and not os.path.lexists(changed):
        raise LocalError(
            f"{artifact.name}: {changed} disappeared while it was being pushed (it was there "
            f"when the push looked); {outcome}. Push again once it is back."
        ) from cause
    if changed is not None:
        raise LocalError(
            f"{artifact.name}: {changed} changed while it was being pushed, so the upload may "
            f"not match its sha256; {outcome}. Push again once the file is complete."
        ) from cause
