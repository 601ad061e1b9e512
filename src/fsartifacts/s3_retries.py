"""botocore's retries of an S3 client, announced and bounded as every layer's are.

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

from aiobotocore.retries.standard import register_retry_handler
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from .redaction import shown_url
from .retry import TIMEOUT_TRIES, announce_retry

log = logging.getLogger("fsartifacts")

_TIMEOUTS_KEY = "fsartifacts_timeouts"  # unanswered tries so far, in the request's context


def watch_requests(client: Any, attempts: int) -> None:
    """Replace ``client``'s retry handler by one that logs requests, announces and
    bounds retries."""
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    event, unique_id = f"needs-retry.{service}", f"retry-config-{service}"
    # botocore's own handler, rebuilt so that ours can ask it (it has no public getter).
    events.unregister(event, unique_id=unique_id)
    decide = register_retry_handler(client, max_attempts=attempts)
    events.unregister(event, unique_id=unique_id)

    async def needs_retry(**kwargs: Any) -> Any:
        error = kwargs.get("caught_exception")
        request = kwargs.get("request_dict") or {}
        what = f"{request.get('method', 'request')} {request.get('url', '')}"
        log.info("%s: %s", shown_url(what), _reason(kwargs))
        if isinstance(error, ReadTimeoutError):
            context = request.setdefault("context", {})
            context[_TIMEOUTS_KEY] = context.get(_TIMEOUTS_KEY, 0) + 1
            if context[_TIMEOUTS_KEY] >= TIMEOUT_TRIES:
                return None  # no answer twice: the server is not going to answer
        delay = await decide.needs_retry(**kwargs)
        if delay is not None and delay is not False:
            tried = int(kwargs.get("attempts") or 1)
            announce_retry(what, float(delay), tried + 1, attempts, _reason(kwargs))
        return delay

    events.register(event, needs_retry, unique_id=unique_id)


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
