"""Keeping secrets out of sight: in the config fsartifacts shows, and in log records.

:func:`redacted` hides secret-looking values of configuration data (what
``fsartifacts validate`` prints); :func:`install_secret_filter` scrubs the
secret of the run's credentials from every log line of the process.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

REDACTED = "***"

# --------------------------------------------------------------------------- configuration data

_SECRET_WORDS = (
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "sessionkey",
    "signature",
)
# Names, not secrets: awsSecret is the id of a secret in Secrets Manager.
_NOT_SECRET = frozenset({"awssecret"})
# The user information of a URL: after a scheme (with or without its slashes, so that
# a mistyped ``s3:/u:pw@b`` is covered too) and up to the last "@" before the path.
_USERINFO = re.compile(r"(?P<lead>\b[A-Za-z][A-Za-z0-9+.-]*:/{0,2})(?P<info>[^/\s'\"]*)@")


_QUERY = re.compile(r"\?[^\s'\")]*")


def without_query(text: str) -> str:
    """``text`` with the query strings of its URLs removed: a presigned URL carries a
    signature in its query, which must not reach a message or a log."""
    return _QUERY.sub("", text)


def shown_url(url: str) -> str:
    """A URL as messages and logs show it: no password, no query string."""
    return without_query(_USERINFO.sub(lambda m: f"{m.group(1)}:{REDACTED}@", url))


def is_secret_key(key: object) -> bool:
    """Whether a mapping key looks like it holds a secret (token, password, *_key, ...)."""
    normal = re.sub(r"[^a-z0-9]", "", str(key).lower())
    if normal in _NOT_SECRET:
        return False
    return any(word in normal for word in _SECRET_WORDS) or normal.endswith(("key", "keyid"))


def redacted(data: Any) -> Any:
    """A copy of ``data`` with secret-looking values, and passwords inside URLs, as ``***``."""
    if isinstance(data, Mapping):
        return {
            key: (REDACTED if is_secret_key(key) and value is not None else redacted(value))
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redacted(item) for item in data]
    if isinstance(data, str):
        return redact_urls(data)
    if isinstance(data, Path):
        return str(data)
    return data


def redact_urls(text: str) -> str:
    """``text`` with the password of every URL in it as ``***`` (``u:***@``), or the
    whole user information when it has no password part (a token: ``***@``).

    The one redaction of configured values: what ``fsartifacts validate`` shows and
    every error message (:class:`fsartifacts.errors.FsArtifactsError`) pass through it.
    """

    def hide(match: re.Match[str]) -> str:
        user, colon, _ = match.group("info").partition(":")
        return (
            f"{match.group('lead')}{user}:{REDACTED}@"
            if colon
            else f"{match.group('lead')}{REDACTED}@"
        )

    return _USERINFO.sub(hide, text)


# --------------------------------------------------------------------------- log records


def redact(text: str, secrets: Iterable[str]) -> str:
    """text with every occurrence of each non-empty secret replaced by ``***``."""
    # Longest first, so a secret containing another is hidden whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class HoldsSecret(Protocol):
    """What redaction needs of credentials: the secret, and how it travels. Any store's
    credentials fit, so this module knows none of them."""

    @property
    def auth_type(self) -> str: ...

    @property
    def user(self) -> str | None: ...

    @property
    def secret(self) -> str | None: ...

    @property
    def anonymous(self) -> bool: ...


def secret_forms(credentials: HoldsSecret) -> set[str]:
    """Every spelling of the secret that could reach a log line."""
    secret = credentials.secret
    if credentials.anonymous or not secret:
        return set()
    forms = {secret, quote(secret, safe="")}
    if credentials.auth_type == "user_pass" and credentials.user:
        basic = f"{credentials.user}:{secret}".encode()
        forms.add(base64.b64encode(basic).decode("ascii"))
    return forms


# Credentials as library debug logs print them: request headers (botocore shows them as
# a dict; a session token or an SSE-C key is a secret in itself), and the secret of an
# AWS Secrets Manager answer, logged as botocore reads it, before fsartifacts knows it.
_CREDENTIAL_HEADER_VALUE = re.compile(
    r"""(?ix)
    (['"]?(?:authorization|x-jfrog-art-api|x-api-key|cookie|set-cookie|x-amz-security-token
          |x-amz-server-side-encryption-customer-key(?:-md5)?)['"]?\s*[:=]\s*b?['"]?)
    ([^'"\r\n]+)
    """
)
# Everything after the field to the end of the line: its JSON may be escaped once more
# (a bytes repr), so where the value ends cannot be told reliably.
_SECRET_FIELD_VALUE = re.compile(r'("Secret(?:String|Binary)"\s*:\s*).*')


def without_credential_fields(text: str) -> str:
    """``text`` with the value of every credential header and secret field replaced by ``***``."""
    text = _CREDENTIAL_HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_FIELD_VALUE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class LibraryLogFilter(logging.Filter):
    """Rewrites log records so that no credential header or secret field survives in them:
    for the debug logs of libraries (``-v -v``), which print requests and answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what logging would print
            message = f"{record.msg} {record.args!r}"
        cleaned = without_credential_fields(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class SecretFilter(logging.Filter):
    """Rewrites log records so that no known secret survives in them.

    It never drops a record. Usable on any handler or logger; the process-wide
    one is managed by :func:`install_secret_filter`.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset(s for s in secrets if s)

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def add(self, secrets: Iterable[str]) -> None:
        # Swap in a new set rather than mutate: other threads may be logging.
        self._secrets = self._secrets | {s for s in secrets if s}

    def clear(self) -> None:
        self._secrets = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        self.scrub(record)
        return True

    def scrub(self, record: logging.LogRecord) -> None:
        secrets = self._secrets
        if not secrets:
            return
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what logging would print, scrubbed
            message = f"{record.msg} {record.args!r}"
        cleaned = redact(message, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            text = _FORMATTER.formatException(record.exc_info)
            if redact(text, secrets) != text:
                record.exc_text = text  # formatters use exc_text when it is set
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)


_FORMATTER = logging.Formatter()
_PROCESS_FILTER = SecretFilter()
_factory_before_ours: Callable[..., logging.LogRecord] | None = None


def _scrubbing_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _factory_before_ours is not None
    record = _factory_before_ours(*args, **kwargs)
    _PROCESS_FILTER.scrub(record)
    return record


def _secret_bearing_loggers() -> list[logging.Logger]:
    return [logging.getLogger(), logging.getLogger("fsartifacts")]


def install_secret_filter(credentials: HoldsSecret) -> SecretFilter:
    """Keep credentials' secret out of every log line of this process, at any level.

    Records are scrubbed when they are made (a record factory: covers every
    logger, urllib3's and botocore's included, and handlers added later) and
    again by the handlers of the root and ``fsartifacts`` loggers (covers a
    record factory someone installs after ours). Idempotent; secrets add up.
    """
    global _factory_before_ours
    _PROCESS_FILTER.add(secret_forms(credentials))
    for logger in _secret_bearing_loggers():
        for handler in logger.handlers:
            if _PROCESS_FILTER not in handler.filters:
                handler.addFilter(_PROCESS_FILTER)
    if _factory_before_ours is None:
        _factory_before_ours = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_scrubbing_record_factory)
    return _PROCESS_FILTER


def uninstall_secret_filter() -> None:
    """Undo :func:`install_secret_filter` (for tests and long-lived library users)."""
    global _factory_before_ours
    for logger in _secret_bearing_loggers():
        for handler in logger.handlers:
            handler.removeFilter(_PROCESS_FILTER)
    # If someone wrapped our factory since, it stays in their chain, scrubbing nothing.
    if logging.getLogRecordFactory() is _scrubbing_record_factory:
        assert _factory_before_ours is not None
        logging.setLogRecordFactory(_factory_before_ours)
        _factory_before_ours = None
    _PROCESS_FILTER.clear()
