"""Retries: how every layer announces them and bounds waits, and whole-file retries.

urllib3, botocore and s3fs retry a request that failed before its body
started; none of them can restart a download whose stream broke half way or
whose bytes arrived corrupted. The engine redoes those whole, within the same
``transfer.attempts`` budget, waiting :func:`retry_delay` as every layer does.

Every layer that waits before another try says so in one line on stderr
(:func:`pause_before_retry`), at the default verbosity: a user is never left
without output for longer than the timeout. A connection is given at most
:data:`CONNECT_TIMEOUT` seconds; a request that got no answer within the read
timeout is tried at most :data:`TIMEOUT_TRIES` times, so a server that accepts
connections and never answers fails in about twice ``transfer.timeout``.
"""

from __future__ import annotations

import errno
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from fsartifacts.errors import IntegrityError, TransferError
from fsartifacts.redaction import shown_url

log = logging.getLogger("fsartifacts")

T = TypeVar("T")

BACKOFF_FACTOR = 0.5  # seconds: the first backoff after an immediate retry, and the jitter
BACKOFF_MAX = 30.0
CONNECT_TIMEOUT = 10.0  # seconds to open a connection: a live server accepts at once
TIMEOUT_TRIES = 2  # tries of a request that got no answer within the read timeout


def connect_timeout(timeout: float) -> float:
    """Seconds to wait for a connection: :data:`CONNECT_TIMEOUT`, or less with a short timeout."""
    return min(CONNECT_TIMEOUT, timeout)


def announce_retry(what: str, delay: float, next_try: int, attempts: int, reason: str) -> None:
    """Say that ``what`` (e.g. "GET URL") is tried again in ``delay`` seconds, and why.

    The one announcement of every layer's retries; URLs lose passwords and queries.
    """
    log.warning("retrying %s in %.1f s (try %d of %d): %s", shown_url(what), delay, next_try,
                attempts, shown_url(reason))  # fmt: skip


def pause_before_retry(what: str, delay: float, next_try: int, attempts: int, reason: str) -> None:
    """:func:`announce_retry`, then wait ``delay`` seconds."""
    announce_retry(what, delay, next_try, attempts, reason)
    if delay > 0:
        time.sleep(delay)


# Local conditions that another try cannot fix.
_PERMANENT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT,
                     errno.EFBIG}  # fmt: skip
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


def retry_delay(retry_number: int) -> float:
    """Seconds before retry ``retry_number`` (1-based), the same in every layer: none
    before the first (most failures are one-offs), then exponential from 1 s with up to
    :data:`BACKOFF_FACTOR` seconds of jitter, at most :data:`BACKOFF_MAX`."""
    if retry_number <= 1:
        return 0.0
    value = BACKOFF_FACTOR * 2 ** (retry_number - 1) + random.random() * BACKOFF_FACTOR
    return min(BACKOFF_MAX, value)


def with_retries(what: str, attempts: int, action: Callable[[], T]) -> T:
    """Run ``action`` up to ``attempts`` times while it fails transiently."""
    attempts = max(1, attempts)
    last_received: str | None = None
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not is_transient(exc):
                raise
            if isinstance(exc, IntegrityError) and exc.received:
                # Corruption in transit differs from try to try; the same wrong
                # bytes twice in a row are what the store holds.
                if exc.received == last_received:
                    raise IntegrityError(exc.damaged or str(exc), transient=False) from exc
                last_received = exc.received
            if attempt == attempts:
                if isinstance(exc, IntegrityError):
                    raise IntegrityError(
                        f"{exc} (gave up after {attempts} tries)", transient=False
                    ) from exc
                detail = str(exc) or type(exc).__name__
                raise TransferError(f"{what} failed after {attempts} tries: {detail}") from exc
            pause_before_retry(what, retry_delay(attempt), attempt + 1, attempts,
                               str(exc) or type(exc).__name__)  # fmt: skip
    raise AssertionError("unreachable")
