"""botocore's retries of an S3 (or other AWS) client, announced and bounded as every
layer's are.

botocore decides whether and when to try an S3 request again (its "standard"
mode, ``transfer.attempts`` tries in all). Its decision is wrapped here so that
each retry is announced by :func:`fsartifacts.retry.announce_retry`, a request
that got no answer within the read timeout is tried at most
:data:`fsartifacts.retry.TIMEOUT_TRIES` times, as on every other store, and
``-v`` shows each request's method, URL and outcome (botocore asks this
question after every try).
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from fsartifacts.redaction import shown_url
from fsartifacts.retry import TIMEOUT_TRIES, announce_retry

log = logging.getLogger("fsartifacts")

_TIMEOUTS_KEY = "fsartifacts_timeouts"  # unanswered tries so far, in the request's context


def watch_requests(client: Any, attempts: int, *, asynchronous: bool = True) -> None:
    """Replace ``client``'s retry handler by one that logs requests, announces and
    bounds retries. ``asynchronous``: an aiobotocore client (s3fs's), else botocore's."""
    if asynchronous:
        from aiobotocore.retries.standard import register_retry_handler
    else:
        from botocore.retries.standard import register_retry_handler
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    event, unique_id = f"needs-retry.{service}", f"retry-config-{service}"
    # botocore's own handler, rebuilt so that ours can ask it (it has no public getter).
    events.unregister(event, unique_id=unique_id)
    decide = register_retry_handler(client, max_attempts=attempts)
    events.unregister(event, unique_id=unique_id)

    def give_up(kwargs: dict[str, Any]) -> bool:
        """Log the try; True when it went unanswered too often to try again."""
        request = kwargs.get("request_dict") or {}
        if log.isEnabledFor(logging.INFO):  # asked after every request: words only for -v
            log.info("%s: %s", shown_url(_what(request)), _reason(kwargs))
        if not isinstance(kwargs.get("caught_exception"), ReadTimeoutError):
            return False
        context = request.setdefault("context", {})
        context[_TIMEOUTS_KEY] = context.get(_TIMEOUTS_KEY, 0) + 1
        return bool(context[_TIMEOUTS_KEY] >= TIMEOUT_TRIES)

    def said(kwargs: dict[str, Any], delay: Any) -> Any:
        if delay is not None and delay is not False:
            tried = int(kwargs.get("attempts") or 1)
            what = _what(kwargs.get("request_dict") or {})
            announce_retry(what, float(delay), tried + 1, attempts, _reason(kwargs))
        return delay

    async def needs_retry_async(**kwargs: Any) -> Any:
        return None if give_up(kwargs) else said(kwargs, await decide.needs_retry(**kwargs))

    def needs_retry(**kwargs: Any) -> Any:
        return None if give_up(kwargs) else said(kwargs, decide.needs_retry(**kwargs))

    events.register(event, needs_retry_async if asynchronous else needs_retry, unique_id=unique_id)


def _what(request: dict[str, Any]) -> str:
    return f"{request.get('method', 'request')} {request.get('url', '')}"


def _reason(kwargs: dict[str, Any]) -> str:
    error = kwargs.get("caught_exception")
    if isinstance(error, ReadTimeoutError):
        return "no answer in time (read timed out)"
    if isinstance(error, ConnectTimeoutError):
        return "connection timed out"
    if isinstance(error, EndpointConnectionError):
        return "cannot connect"
    if error is not None:
        return str(error) or type(error).__name__
    response = kwargs.get("response")
    if isinstance(response, tuple) and len(response) == 2:
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        status = getattr(http, "status_code", "?")
        return f"HTTP {status}" + (f" {code}" if code else "")
    return "failed"
