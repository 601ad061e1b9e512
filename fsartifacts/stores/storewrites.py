"""A folder store's writes that find no room for their bytes: the store's disk full, a
quota, a file larger than the filesystem or the process's file size limit takes. The
system's words alone (``[Errno 28] No space left on device``) name neither the file nor
the way out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fsartifacts.errors import TransferError, no_room


@contextlib.contextmanager
def store_writes(rpath: str) -> Iterator[None]:
    """Run a write into the store at ``rpath``; one that found no room for its bytes is a
    :class:`~fsartifacts.errors.TransferError` naming ``rpath`` and the way out (any other
    failure passes as it is: the engine acts on FileExistsError and the like)."""
    try:
        yield
    except OSError as exc:
        room = no_room(exc)
        if room is None:
            raise
        raise TransferError(
            f"cannot write {rpath} on the store: {exc.strerror or exc}. {room}, and push again."
        ) from exc
