"""How Artifactory's answers and transport failures become exceptions.

One place, :func:`error_from_response`, applies this table:

=====================  =========================================================
HTTP status            exception (all are :class:`OSError` subclasses)
=====================  =========================================================
404                    :class:`ArtifactoryNotFoundError` (``FileNotFoundError``)
401, 403               :class:`ArtifactoryPermissionError` (``PermissionError``)
409                    :class:`ArtifactoryConflictError`: the server refused the
                       content (bytes that do not match our checksum headers, or
                       a file where a folder is or below a file); nothing was stored
other 4xx/5xx          :class:`ArtifactoryError` with ``status`` and the message
                       of the server's ``{"errors": [...]}`` body
HTML or no JSON from   :class:`ArtifactoryNotAnApiError`: the base URL is not an
the REST API           Artifactory's (401 and 403 keep their meaning)
no connection          :class:`ArtifactoryConnectionError` (``ConnectionError``)
timeout                :class:`ArtifactoryTimeoutError` (``TimeoutError``)
bad download           :class:`ArtifactoryIntegrityError`: size or checksum of
                       the received bytes differ from the server's headers
=====================  =========================================================
"""

from __future__ import annotations

import errno
from typing import Any, ClassVar

import requests
import urllib3.exceptions

from fsartifacts.redaction import without_query


class ArtifactoryError(OSError):
    """An error from the server or the transport; ``status`` is the HTTP status (0 if none)."""

    default_errno: ClassVar[int] = errno.EIO
    retries_exhausted = False  # urllib3 already retried this request as often as allowed

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.errno = self.default_errno
        self.strerror = message
        self.status = status

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Any:
        return _rebuild_error, (type(self), str(self), self.status)


def _rebuild_error(cls: type[ArtifactoryError], message: str, status: int) -> ArtifactoryError:
    return cls(message, status=status)


class ArtifactoryNotFoundError(ArtifactoryError, FileNotFoundError):
    """404: the item (or the repository) does not exist."""

    default_errno = errno.ENOENT


class ArtifactoryPermissionError(ArtifactoryError, PermissionError):
    """401 or 403: credentials missing, refused, or not allowed to do this."""

    default_errno = errno.EACCES


class ArtifactoryConflictError(ArtifactoryError):
    """409: the server refused the content (a checksum mismatch, or a file and a folder
    of one name); nothing was stored."""


class ArtifactoryIntegrityError(ArtifactoryError):
    """Downloaded bytes do not match the size or checksum the server announced."""


class ArtifactoryRangeError(ArtifactoryError):
    """A ranged GET was answered with less than the range asked: the file is shorter than
    it was when its size was known. ``detail`` says what the server sent."""

    def __init__(self, message: str, *, status: int = 0, detail: str | None = None) -> None:
        super().__init__(message, status=status)
        self.detail = detail or message


class ArtifactoryRangesIgnored(ArtifactoryRangeError):
    """A ranged GET was answered with the whole file (200) or another range: the server,
    or a proxy in front of it, does not serve ranges."""


class ArtifactoryConnectionError(ArtifactoryError, ConnectionError):
    """The server could not be reached, or the connection broke."""

    default_errno = errno.ECONNREFUSED


class ArtifactoryTimeoutError(ArtifactoryError, TimeoutError):
    """The server did not answer within ``timeout`` seconds."""

    default_errno = errno.ETIMEDOUT


class InterruptedTransfer(Exception):
    """The response started, then its body broke off (``error``): worth another GET.

    A request that never got an answer is not one: urllib3 already retried it.
    """

    def __init__(self, error: ArtifactoryError) -> None:
        super().__init__(str(error))
        self.error = error


def server_message(response: requests.Response) -> str:
    """The message of Artifactory's ``{"errors": [...]}`` body, or a short plain text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
            if any(messages):
                return "; ".join(m for m in messages if m)
        messages_list = body.get("messages")
        if isinstance(messages_list, list):
            return "; ".join(
                str(m.get("message", "")) for m in messages_list if isinstance(m, dict)
            )
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type:
        return response.reason or ""
    text = (response.text or "").strip()
    return text[:300] if text else (response.reason or "")


class ArtifactoryNotAnApiError(ArtifactoryError):
    """The REST API answered with something that is not Artifactory's: an HTML page, or
    a body that is not JSON. The base URL is most likely not an Artifactory's."""


def not_an_api_error(response: requests.Response, action: str) -> ArtifactoryNotAnApiError:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    where = without_query(response.url or "")
    return ArtifactoryNotAnApiError(
        f"{action}: {where} answered HTTP {response.status_code} with {kind}, not "
        "Artifactory's REST API: this is not an Artifactory base URL; check `url` (the "
        "base URL with its context path, e.g. https://host/artifactory)",
        status=response.status_code,
    )


def json_body(response: requests.Response, action: str) -> Any:
    """The JSON of a REST API answer; anything else means the server is not an Artifactory."""
    try:
        return response.json()
    except ValueError:
        raise not_an_api_error(response, action) from None


def _is_html(response: requests.Response) -> bool:
    return "html" in response.headers.get("Content-Type", "").lower()


def error_from_response(response: requests.Response, action: str) -> ArtifactoryError:
    """Turn an error status into the exception the table in the module docstring names."""
    status = response.status_code
    answers_for_it = status in (401, 403, 429) or status >= 500
    if not answers_for_it and _is_html(response) and "/api/" in (response.url or ""):
        # Artifactory's REST API answers errors in JSON: an HTML page comes from
        # something else (a web server) at that URL. A proxy's 429 or 5xx page is its
        # word for the failure of the Artifactory behind it: that server's failure.
        return not_an_api_error(response, action)
    message = f"{action}: HTTP {status}"
    detail = server_message(response)
    if detail:
        message += f": {detail}"
    if status == 404:
        return ArtifactoryNotFoundError(message, status=status)
    if status in (401, 403):
        return ArtifactoryPermissionError(message, status=status)
    if status == 409:
        return ArtifactoryConflictError(message, status=status)
    return ArtifactoryError(message, status=status)


def _reasons(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (requests -> urllib3 MaxRetryError -> the cause)."""
    chain = [exc]
    while True:
        last: Any = chain[-1]
        inner = getattr(last, "reason", None) or (last.args[0] if last.args else None)
        if not isinstance(inner, BaseException) or inner in chain:
            return chain
        chain.append(inner)


def transport_error(exc: requests.RequestException, action: str) -> ArtifactoryError:
    chain = _reasons(exc)
    # Without query strings: a presigned redirect target carries a signature in it.
    reason = without_query(str(chain[-1]) or type(chain[-1]).__name__)
    timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    refused = urllib3.exceptions.NewConnectionError  # a ConnectTimeoutError subclass, oddly
    error: ArtifactoryError
    if isinstance(exc, requests.exceptions.InvalidHeader):  # nothing was sent
        return ArtifactoryError(f"{action}: {reason}")
    if any(isinstance(e, timeouts) and not isinstance(e, refused) for e in chain):
        error = ArtifactoryTimeoutError(f"{action}: timed out ({reason})")
    else:
        error = ArtifactoryConnectionError(f"{action}: connection failed ({reason})")
    error.retries_exhausted = any(isinstance(e, urllib3.exceptions.MaxRetryError) for e in chain)
    return error


def after_tries(error: ArtifactoryError, tries: int) -> ArtifactoryError:
    """``error`` saying how often the request was tried, marked as retried already.

    The mark keeps the engine from trying the whole request ``attempts`` times more.
    """
    again = type(error)(f"{error} (after {tries} tries)", status=error.status)
    again.retries_exhausted = True
    return again
