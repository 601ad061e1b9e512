"""Whole-file retries: what no inner layer can redo.

urllib3, botocore and s3fs retry a request that failed before its body
started; none of them can restart a download whose stream broke half way or
whose bytes arrived corrupted. The engine redoes those whole, within the same
``transfer.attempts`` budget, with exponential backoff and full jitter.
"""

from __future__ import annotations

import errno
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import IntegrityError, TransferError

log = logging.getLogger("fsartifacts")

T = TypeVar("T")

# Local conditions that another try cannot fix.
_PERMANENT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}
_PERMANENT = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
              NotADirectoryError)  # fmt: skip


def is_transient(exc: BaseException) -> bool:
    """Whether trying the whole transfer again may succeed."""
    if isinstance(exc, IntegrityError):
        return exc.transient  # bytes corrupted or cut short in transit
    if getattr(exc, "retries_exhausted", False):
        # urllib3 or botocore already spent the whole budget on this request:
        # trying again here would multiply ``attempts``, not honour it.
        return False
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, OSError):  # requests' and s3fs' network errors are OSErrors
        return exc.errno not in _PERMANENT_ERRNOS
    name = type(exc).__name__
    # Stream errors of urllib3 / aiohttp that reach us unwrapped.
    return name in {"ProtocolError", "IncompleteRead", "ClientPayloadError", "ReadTimeoutError"}


def backoff(attempt: int, timeout: float) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential, full jitter, capped."""
    base = min(0.5, max(0.01, timeout / 20))
    return random.uniform(0, min(10.0, base * 2**attempt))


def with_retries(what: str, attempts: int, timeout: float, action: Callable[[], T]) -> T:
    """Run ``action`` up to ``attempts`` times while it fails transiently."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if attempt == attempts:
                if isinstance(exc, IntegrityError):
                    raise IntegrityError(
                        f"{exc} (gave up after {attempts} tries)", transient=False
                    ) from exc
                detail = str(exc) or type(exc).__name__
                raise TransferError(f"{what} failed after {attempts} tries: {detail}") from exc
            delay = backoff(attempt, timeout)
            log.info("%s: try %d of %d failed (%s); again in %.2fs", what, attempt, attempts,
                     str(exc) or type(exc).__name__, delay)  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable")
