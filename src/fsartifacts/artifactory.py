"""``artifactory://``: an fsspec filesystem for JFrog Artifactory over ``requests``.

Paths are ``repo/path/to/file`` (the s3fs ``bucket/key`` model); the server is
the storage option ``url``, the base URL with its context path
(``https://host/artifactory``; no scheme means https), else
``$ARTIFACTORY_URL``. ``fsspec.url_to_fs`` has a first parameter of its own
named ``url``, so there the server goes as ``base_url`` (an alias). Other
options: ``verify`` (bool or CA bundle), ``cert`` (path or (cert, key)),
``timeout`` (seconds, connect and read, may be below 1) and ``attempts``
(total tries of one request, default 5).

Credentials, in this order: the storage options ``user`` + ``password``,
``token`` (``Authorization: Bearer``, or the Basic password when ``user`` is
given) or ``api_key`` (``X-JFrog-Art-Api``); else ``$ARTIFACTORY_USER`` and
``$ARTIFACTORY_TOKEN`` (a Basic password with a user, a Bearer token without),
read inside ``__init__`` so they stay out of pickles and ``to_json``;
``anon=True`` ignores the environment. Explicit credentials travel in pickles
(so Dask and multiprocessing work, as with s3fs) but never appear in
``repr``, ``str``, ``to_json``, ``to_dict`` or exception messages, and no
credential header of any kind follows a redirect to another host.

One instance may be shared by many threads: each thread gets its own
``requests.Session`` (rebuilt after a fork), the listing cache is guarded by a
lock. Idempotent requests (GET, HEAD, DELETE, OPTIONS) are retried by urllib3
on 429/500/502/503/504 and connection errors, honouring ``Retry-After``;
uploads are retried here by re-reading their source, within the same
``attempts`` (total tries of one request).

How server answers become exceptions (one place, :func:`_error_from_response`):

=====================  =========================================================
HTTP status            exception (all are :class:`OSError` subclasses)
=====================  =========================================================
404                    :class:`ArtifactoryNotFoundError` (``FileNotFoundError``)
401, 403               :class:`ArtifactoryPermissionError` (``PermissionError``)
409                    :class:`ArtifactoryConflictError`: the server refused the
                       content; with our checksum headers this is a checksum
                       mismatch, and nothing was stored
other 4xx/5xx          :class:`ArtifactoryError` with ``status`` and the message
                       of the server's ``{"errors": [...]}`` body
no connection          :class:`ArtifactoryConnectionError` (``ConnectionError``)
timeout                :class:`ArtifactoryTimeoutError` (``TimeoutError``)
bad download           :class:`ArtifactoryIntegrityError`: size or checksum of
                       the received bytes differ from the server's headers
=====================  =========================================================

Exclusive writes (``open(..., "xb")``, ``mode="create"``) are a check then a
PUT: Artifactory has no conditional deploy, so two writers racing between
the check and the PUT can both succeed (the last one wins).

Listings: ``ls``/``find`` use the File List API (Pro: sizes, sha1, sha256 and
mtimes of a whole folder or tree in one request) and fall back to Folder Info
(one more request per file when details are wanted) on OSS or for anonymous
callers. Entries from listings carry ``name``, ``size``, ``type``, ``mtime``,
``sha1``, ``sha256``; ``info`` adds ``created``, ``md5`` and ``mimetype``.
Times are timezone-aware ``datetime`` objects.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import http.cookiejar
import io
import os
import random
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import requests.auth
import urllib3.exceptions
from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import isfilelike, tokenize
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = [
    "ArtifactoryConflictError",
    "ArtifactoryConnectionError",
    "ArtifactoryError",
    "ArtifactoryFile",
    "ArtifactoryFileSystem",
    "ArtifactoryIntegrityError",
    "ArtifactoryNotFoundError",
    "ArtifactoryPermissionError",
    "ArtifactoryTimeoutError",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# Every header that can carry a credential; none may follow a redirect to another host.
CREDENTIAL_HEADERS = ("Authorization", "X-JFrog-Art-Api", "X-Api-Key", "Cookie")
CHECKSUM_DEPLOY_MIN = 10 * 1024  # below this a full PUT costs no more (JFrog's own clients agree)
DOWNLOAD_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 120
_GLOB_CHARS = re.compile(r"[*?\[]")
_QUERY = re.compile(r"\?[^\s'\")]*")


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _Writer(Protocol):
    """Where a download goes (a restartable one must also seek and truncate)."""

    def write(self, data: bytes, /) -> int: ...


# -- errors -------------------------------------------------------------------


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
    """409: the server refused the content (a checksum mismatch); nothing was stored."""


class ArtifactoryIntegrityError(ArtifactoryError):
    """Downloaded bytes do not match the size or checksum the server announced."""


class ArtifactoryConnectionError(ArtifactoryError, ConnectionError):
    """The server could not be reached, or the connection broke."""

    default_errno = errno.ECONNREFUSED


class ArtifactoryTimeoutError(ArtifactoryError, TimeoutError):
    """The server did not answer within ``timeout`` seconds."""

    default_errno = errno.ETIMEDOUT


class _InterruptedTransfer(Exception):
    """The response started, then its body broke off (``error``): worth another GET.

    A request that never got an answer is not one: urllib3 already retried it.
    """

    def __init__(self, error: ArtifactoryError) -> None:
        super().__init__(str(error))
        self.error = error


def _server_message(response: requests.Response) -> str:
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


def _error_from_response(response: requests.Response, action: str) -> ArtifactoryError:
    """Turn an error status into the exception the table in the module docstring names."""
    status = response.status_code
    message = f"{action}: HTTP {status}"
    detail = _server_message(response)
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


def _transport_error(exc: requests.RequestException, action: str) -> ArtifactoryError:
    chain = _reasons(exc)
    # Without query strings: a presigned redirect target carries a signature in it.
    reason = _QUERY.sub("", str(chain[-1]) or type(chain[-1]).__name__)
    timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    refused = urllib3.exceptions.NewConnectionError  # a ConnectTimeoutError subclass, oddly
    error: ArtifactoryError
    if any(isinstance(e, timeouts) and not isinstance(e, refused) for e in chain):
        error = ArtifactoryTimeoutError(f"{action}: timed out ({reason})")
    else:
        error = ArtifactoryConnectionError(f"{action}: connection failed ({reason})")
    error.retries_exhausted = any(isinstance(e, urllib3.exceptions.MaxRetryError) for e in chain)
    return error


def _after_tries(error: ArtifactoryError, tries: int) -> ArtifactoryError:
    """``error`` saying how often the request was tried, marked as retried already.

    The mark keeps the engine from trying the whole request ``attempts`` times more.
    """
    again = type(error)(f"{error} (after {tries} tries)", status=error.status)
    again.retries_exhausted = True
    return again


# -- HTTP plumbing ------------------------------------------------------------


class _HeaderAuth(requests.auth.AuthBase):
    """Adds fixed credential headers; anonymous is an instance with none.

    Always giving requests an auth object also stops it from reading
    ``~/.netrc`` on its own: credentials come from one documented place.
    """

    def __init__(self, headers: dict[str, str], kind: str) -> None:
        self._headers = headers
        self.kind = kind

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self._headers)
        return request

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"


class _Session(requests.Session):
    """A Session that strips every credential header when a redirect leaves the host.

    requests itself strips only ``Authorization``; ``X-JFrog-Art-Api`` would
    follow a download redirect to a CDN or a presigned S3 URL.
    """

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        original = response.request.url or ""
        if self.should_strip_auth(original, prepared_request.url or ""):
            for name in CREDENTIAL_HEADERS:
                prepared_request.headers.pop(name, None)
        # Deliberately no netrc lookup for the new host (requests' default).


class _Retry(Retry):
    """urllib3's Retry, lenient about ``Retry-After``: a fractional number of seconds is
    honoured and an unreadable value means "back off as usual" (urllib3 would fail the
    request with InvalidHeader)."""

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                return super().parse_retry_after(retry_after)
            except urllib3.exceptions.InvalidHeader:
                return 0.0
        return max(0.0, seconds) if seconds == seconds else 0.0  # NaN: no delay


def _backoff(retry_number: int) -> float:
    """Seconds before retry ``retry_number`` (1-based): 0, then exponential with jitter."""
    if retry_number <= 1:
        return 0.0
    value = BACKOFF_FACTOR * 2 ** (retry_number - 1) + random.random() * BACKOFF_FACTOR
    return min(BACKOFF_MAX, value)


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(float(RETRY_AFTER_MAX), _Retry().parse_retry_after(value))
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime | None:
    """Artifactory's ISO 8601 timestamps (milliseconds, offset or Z) as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _normalise_url(url: str) -> tuple[str, str | None, str | None]:
    """(base URL without trailing slash or userinfo, user, password from the URL)."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    user = parts.username
    password = parts.password
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return clean, user, password


class _Progress:
    """Reports bytes to a callback, never twice: a retried transfer resumes the count."""

    def __init__(self, callback: Callback) -> None:
        self.callback = callback
        self.reported = 0

    def advance_to(self, total: int) -> None:
        if total > self.reported:
            self.callback.relative_update(total - self.reported)
            self.reported = total


class _UploadBody:
    """A file-like request body with a known length, so requests sends Content-Length."""

    def __init__(self, raw: _Reader, size: int, progress: _Progress) -> None:
        self._raw = raw
        self._size = size
        self._sent = 0
        self._progress = progress

    def read(self, amount: int = -1) -> bytes:
        data = self._raw.read(amount)
        self._sent += len(data)
        self._progress.advance_to(self._sent)
        return data

    def __len__(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._sent

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind, for urllib3's retry of a connection that never opened."""
        raw: Any = self._raw
        self._sent = raw.seek(offset, whence)
        return self._sent

    def close(self) -> None:
        self._raw.close()


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    """What changes when a file is written or replaced: size, mtime and inode."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _digests(stream: _Reader) -> tuple[int, str, str]:
    """(size, sha1, sha256) of a stream, read to its end."""
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    while chunk := stream.read(DOWNLOAD_CHUNK):
        sha1.update(chunk)
        sha256.update(chunk)
        size += len(chunk)
    return size, sha1.hexdigest(), sha256.hexdigest()


# -- the filesystem -----------------------------------------------------------


class ArtifactoryFileSystem(AbstractFileSystem):
    """JFrog Artifactory repositories as an fsspec filesystem (see the module docstring)."""

    protocol = "artifactory"
    root_marker = ""

    def __init__(
        self,
        url: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        api_key: str | None = None,
        anon: bool = False,
        verify: bool | str = True,
        cert: str | tuple[str, str] | list[str] | None = None,
        timeout: float = 60.0,
        attempts: int = 5,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Connect to ``url`` (or ``base_url``: ``fsspec.url_to_fs`` takes its own first
        argument named ``url``, so pass the server as ``base_url`` there)."""
        super().__init__(**kwargs)
        raw_url = url or base_url or os.environ.get("ARTIFACTORY_URL")
        if not raw_url:
            raise ValueError(
                "ArtifactoryFileSystem needs the server's base URL: pass url="
                "'https://host/artifactory' or set $ARTIFACTORY_URL"
            )
        if float(timeout) <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if int(attempts) < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts!r}")
        self.url, url_user, url_password = _normalise_url(raw_url)
        self.verify = verify
        self.cert = tuple(cert) if isinstance(cert, list) else cert
        self.timeout = float(timeout)
        self.attempts = int(attempts)
        self._auth = self._build_auth(
            user=user or url_user,
            password=password if password is not None else url_password,
            token=token,
            api_key=api_key,
            anon=anon,
        )
        self._local = threading.local()
        self._cache_lock = threading.RLock()
        self._file_list_api = True  # the Pro "?list" API; False once the server says it lacks it
        self._copy_api = True  # the Pro copy/move API; False once refused

    # -- credentials ------------------------------------------------------------

    @staticmethod
    def _build_auth(
        *,
        user: str | None,
        password: str | None,
        token: str | None,
        api_key: str | None,
        anon: bool,
    ) -> _HeaderAuth:
        secrets = [s for s in (password, token, api_key) if s]
        if len(secrets) > 1:
            raise ValueError("give only one of password, token and api_key")
        source = "given"
        if anon:
            return _HeaderAuth({}, "anonymous")
        if not secrets and not user:
            # Nothing explicit: the environment, read here so it never enters a pickle.
            user = os.environ.get("ARTIFACTORY_USER") or None
            token = os.environ.get("ARTIFACTORY_TOKEN") or None
            source = "from $ARTIFACTORY_TOKEN"
            if not token:
                return _HeaderAuth({}, "anonymous")
        elif user and not secrets:
            raise ValueError(f"user {user!r} given without a password or token")
        if api_key:
            return _HeaderAuth({"X-JFrog-Art-Api": api_key}, f"API key ({source})")
        secret = password or token or ""
        if user:
            pair = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
            return _HeaderAuth({"Authorization": f"Basic {pair}"}, f"user {user!r} ({source})")
        return _HeaderAuth({"Authorization": f"Bearer {secret}"}, f"bearer token ({source})")

    @property
    def auth_description(self) -> str:
        """How this instance authenticates, without the secret: for messages."""
        return self._auth.kind

    @property
    def anonymous(self) -> bool:
        return self._auth.kind == "anonymous"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, auth={self._auth.kind!r})"

    __str__ = __repr__

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """As fsspec's, but never with a secret, whatever ``include_password`` says.

        A filesystem rebuilt from it reads its credentials from the environment.
        """
        out = super().to_dict(include_password=False)
        for key in ("password", "token", "api_key"):
            out.pop(key, None)
        for key in ("url", "base_url"):
            if isinstance(out.get(key), str):
                out[key] = _normalise_url(out[key])[0]
        return out

    def to_json(self, *, include_password: bool = True) -> str:
        """JSON of :meth:`to_dict`: never with a secret."""
        return super().to_json(include_password=False)

    @property
    def fsid(self) -> str:
        return "artifactory_" + tokenize(self.url)

    # -- HTTP -------------------------------------------------------------------

    def _session(self) -> requests.Session:
        """This thread's Session (requests.Session is not thread-safe), rebuilt after fork."""
        local = self._local
        session: requests.Session | None = getattr(local, "session", None)
        if session is None or local.pid != os.getpid():
            session = self._new_session()
            local.session = session
            local.pid = os.getpid()
        return session

    def _new_session(self) -> requests.Session:
        session = _Session()
        session.auth = self._auth
        # No cookies: they would follow redirects to other ports of the same host.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        retry = _Retry(
            total=self.attempts - 1,
            redirect=False,
            backoff_factor=BACKOFF_FACTOR,
            backoff_jitter=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
            status_forcelist=sorted(RETRY_STATUSES),
            allowed_methods=IDEMPOTENT_METHODS,
            respect_retry_after_header=True,
            retry_after_max=RETRY_AFTER_MAX,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "fsartifacts " + requests.utils.default_user_agent()
        return session

    def _send(self, method: str, url: str, action: str, **kwargs: Any) -> requests.Response:
        """One request (urllib3 retries idempotent ones); transport errors become ours."""
        kwargs.setdefault("timeout", (self.timeout, self.timeout))
        # verify/cert per request: a Session-level verify=False loses to $REQUESTS_CA_BUNDLE.
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        try:
            return self._session().request(method, url, **kwargs)
        except requests.RequestException as exc:
            error = _transport_error(exc, action)
            raise _after_tries(error, self.attempts) if error.retries_exhausted else error from None

    def _call(
        self, method: str, url: str, action: str, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        response = self._send(method, url, action, **kwargs)
        if response.status_code not in ok:
            error = _error_from_response(response, action)
            if method in IDEMPOTENT_METHODS and response.status_code in RETRY_STATUSES:
                # urllib3 retried this answer already, as often as allowed.
                retries = getattr(response.raw, "retries", None)
                tries = len(retries.history) + 1 if retries is not None else self.attempts
                error = _after_tries(error, tries)
            response.close()
            raise error
        return response

    def _file_url(self, path: str) -> str:
        return f"{self.url}/{quote(path, safe='/')}"

    def _storage_url(self, path: str) -> str:
        return f"{self.url}/api/storage/{quote(path, safe='/')}"

    # -- paths ------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return super()._strip_protocol(path).lstrip("/")

    # -- metadata ---------------------------------------------------------------

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One ``GET /api/storage`` (or a cached listing): name, size, type, times, checksums."""
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        if not refresh:
            cached = self._cached_info(path)
            if cached is not None:
                return cached
        response = self._call("GET", self._storage_url(path), f"info {path}")
        return self._info_from_storage(path, response.json())

    def _cached_info(self, path: str) -> dict[str, Any] | None:
        with self._cache_lock:
            listing = self._ls_from_cache(path)  # FileNotFoundError: the parent listing lacks it
        if listing is None:
            return None
        for entry in listing:
            if entry["name"] == path:
                return dict(entry)
        # ``path`` is itself a cached listing's key: a directory.
        return {"name": path, "size": 0, "type": "directory"}

    @staticmethod
    def _info_from_storage(path: str, body: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": path}
        if "children" in body or "size" not in body:
            entry.update(size=0, type="directory")
        else:
            checksums = body.get("checksums") or {}
            entry.update(size=int(body["size"]), type="file")
            for key in ("sha1", "sha256", "md5"):
                if checksums.get(key):
                    entry[key] = str(checksums[key]).lower()
            if body.get("mimeType"):
                entry["mimetype"] = body["mimeType"]
        created = _parse_time(body.get("created"))
        modified = _parse_time(body.get("lastModified"))
        if created:
            entry["created"] = created
        if modified:
            entry["mtime"] = modified
        return entry

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Only a 404 means False: connection and auth errors raise."""
        try:
            self.info(path, **kwargs)
        except FileNotFoundError:
            return False
        return True

    lexists = exists

    def _exists_on_server(self, path: str) -> bool:
        """exists() without the listing cache: for checks that guard a write."""
        try:
            self.info(path, refresh=True)
        except FileNotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except FileNotFoundError:
            return False

    def created(self, path: str) -> datetime:
        return self._timestamp(path, "created")

    def modified(self, path: str) -> datetime:
        return self._timestamp(path, "mtime")

    def _timestamp(self, path: str, key: str) -> datetime:
        value = self.info(path).get(key)
        if value is None:  # listing entries lack some: ask the storage API
            value = self.info(path, refresh=True).get(key)
        if value is None:
            raise ValueError(f"the server gave no {key} time for {path}")
        return value

    def _sha256(self, path: str) -> str | None:
        info = self.info(path)
        if info["type"] == "file" and not info.get("sha256"):
            info = self.info(path, refresh=True)
        return info.get("sha256")

    def checksum(self, path: str) -> int:
        """The sha256 the server computed, as an int (directories: fsspec's default)."""
        digest = self._sha256(path)
        return int(digest, 16) if digest else super().checksum(path)

    def ukey(self, path: str) -> str:
        """The sha256 of the content: equal keys mean equal bytes."""
        return self._sha256(path) or super().ukey(path)

    # -- listings ---------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any) -> list[Any]:
        """Entries directly under ``path``; ``[info(path)]`` when ``path`` is a file."""
        path = self._strip_protocol(path)
        entries: list[dict[str, Any]] | None = None
        if not refresh:
            with self._cache_lock:
                # The exact key only: _ls_from_cache would answer a directory with itself.
                entries = self.dircache.get(path)
        if entries is None:
            listed = self._list_repositories() if not path else self._list_folder(path, detail)
            if isinstance(listed, dict):  # a file
                return [listed] if detail else [path]
            entries = listed
            if all(e["size"] is not None for e in entries):  # complete: worth caching
                self._remember_listing(path, entries)
        if detail:
            return [dict(e) for e in entries]
        return [e["name"] for e in entries]

    def _remember_listing(self, path: str, entries: list[dict[str, Any]]) -> None:
        with self._cache_lock:
            self.dircache[path] = entries

    def _list_repositories(self) -> list[dict[str, Any]]:
        action = "list repositories"
        response = self._send("GET", f"{self.url}/api/repositories", action)
        body = response.json() if response.status_code == 200 else None
        if response.status_code in (401, 403) or (body is None and response.status_code >= 500):
            raise _error_from_response(response, action)
        if not isinstance(body, list):
            raise ArtifactoryError(
                f"{action}: this server does not list its repositories "
                f"(HTTP {response.status_code}); name one: artifactory://<repo>/<path>",
                status=response.status_code,
            )
        entries = [
            {
                "name": repo["key"],
                "size": 0,
                "type": "directory",
                "repo_type": repo.get("type"),
                "package_type": repo.get("packageType"),
            }
            for repo in body
            if isinstance(repo, dict) and repo.get("key")
        ]
        return sorted(entries, key=lambda e: e["name"])

    def _list_folder(self, path: str, detail: bool = True) -> list[dict[str, Any]] | dict[str, Any]:
        """Entries directly under folder ``path``, or the info of ``path`` if it is a file.

        The File List API (Pro) gives sizes and checksums of every child in one
        request. Without it (OSS; anonymous callers; ``path`` is a file) the
        Folder Info API names the children, and each file costs one more
        request when ``detail`` is wanted (else its size is None).
        """
        entries = self._file_list(path, deep=False)
        if entries is not None:
            return entries
        response = self._call("GET", self._storage_url(path), f"list {path}")
        body = response.json()
        if "children" not in body and "size" in body:
            return self._info_from_storage(path, body)
        entries = []
        for child in body.get("children") or []:
            name = f"{path}/{str(child.get('uri', '')).strip('/')}"
            if child.get("folder") in (True, "true"):
                entries.append({"name": name, "size": 0, "type": "directory"})
            elif detail:
                entries.append(self.info(name, refresh=True))
            else:
                entries.append({"name": name, "size": None, "type": "file"})
        return sorted(entries, key=lambda e: e["name"])

    def _file_list(self, path: str, *, deep: bool) -> list[dict[str, Any]] | None:
        """``GET /api/storage/path?list``: the entries, or None where it cannot answer.

        None means: the server lacks the API (400 "only in Artifactory Pro",
        remembered), the caller may not use it (401/403: anonymous), or
        ``path`` is a file (400 "Expected a folder"). A 404 raises.
        """
        if not self._file_list_api:
            return None
        query = f"?list&deep={int(deep)}&listFolders=1&includeRootPath=0"
        action = f"list {path}"
        response = self._send("GET", self._storage_url(path) + query, action)
        with response:
            if response.status_code == 200:
                return self._entries_from_file_list(path, response.json())
            if response.status_code == 400:
                if "artifactory pro" in _server_message(response).lower():
                    self._file_list_api = False
                return None
            if response.status_code in (401, 403):
                return None
            raise _error_from_response(response, action)

    def _entries_from_file_list(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        entries = []
        for item in body.get("files") or []:
            uri = str(item.get("uri", "")).strip("/")
            if not uri:
                continue  # the folder itself (includeRootPath)
            folder = item.get("folder") in (True, "true")
            entry: dict[str, Any] = {
                "name": f"{path}/{uri}",
                "size": 0 if folder else int(item.get("size", 0)),
                "type": "directory" if folder else "file",
            }
            if not folder:
                if item.get("sha1"):
                    entry["sha1"] = str(item["sha1"]).lower()
                sha256 = item.get("sha2") or item.get("sha256")
                if sha256:
                    entry["sha256"] = str(sha256).lower()
            modified = _parse_time(item.get("lastModified"))
            if modified:
                entry["mtime"] = modified
            entries.append(entry)
        return sorted(entries, key=lambda e: e["name"])

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Everything below ``path`` in one File List request where the server allows it."""
        path = self._strip_protocol(path)
        if maxdepth is not None or not path or not self._file_list_api:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        try:
            entries = self._file_list(path, deep=True)
            if entries is None:
                info = self.info(path, refresh=True)
        except FileNotFoundError:
            return {} if detail else []
        out: dict[str, dict[str, Any]] = {}
        if entries is None and info["type"] == "directory":
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        if entries is None:
            out[path] = info
        else:
            self._cache_tree(path, entries)
            if withdirs:
                out[path] = {"name": path, "size": 0, "type": "directory"}
            for entry in entries:
                if withdirs or entry["type"] != "directory":
                    out[entry["name"]] = dict(entry)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def _cache_tree(self, root: str, entries: list[dict[str, Any]]) -> None:
        """A deep listing holds every folder's full listing: cache each of them."""
        folders: dict[str, list[dict[str, Any]]] = {root: []}
        for entry in entries:
            if entry["type"] == "directory":
                folders.setdefault(entry["name"], [])
        for entry in entries:
            parent = self._parent(entry["name"])
            if parent in folders:
                folders[parent].append(entry)
        with self._cache_lock:
            for folder, children in folders.items():
                self.dircache[folder] = children

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget ``path``, everything below it and every ancestor (a deploy makes parents)."""
        with self._cache_lock:
            if path is None:
                self.dircache.clear()
            else:
                path = self._strip_protocol(path)
                prefix = path + "/"
                for key in [k for k in self.dircache if k == path or k.startswith(prefix)]:
                    self.dircache.pop(key, None)
                ancestor = path
                while ancestor:
                    ancestor = self._parent(ancestor)
                    self.dircache.pop(ancestor, None)
        super().invalidate_cache(path)

    # -- reads ------------------------------------------------------------------

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of ``path`` in ``[start, end)``, with one ranged GET."""
        path = self._strip_protocol(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path)["size"]
            start = max(0, size + start) if start is not None and start < 0 else start
            end = max(0, size + end) if end is not None and end < 0 else end
        start = start or 0
        if end is not None and end <= start:
            return b""
        headers = {"Accept-Encoding": "identity"}
        if start or end is not None:
            # Explicit first-last only: 6.x reads a suffix range "-N" as "0-N".
            last = "" if end is None else str(end - 1)
            headers["Range"] = f"bytes={start}-{last}"
        action = f"read {path}"
        for attempt in range(1, self.attempts + 1):
            try:
                return self._read_once(path, headers, start, end, action)
            except _InterruptedTransfer as broken:
                if attempt == self.attempts:
                    raise broken.error from None
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_once(
        self, path: str, headers: dict[str, str], start: int, end: int | None, action: str
    ) -> bytes:
        response = self._send("GET", self._file_url(path), action, headers=headers, stream=True)
        with response:
            if response.status_code == 416:
                return b""  # start at or past the end (every range of an empty file is)
            if response.status_code not in (200, 206):
                raise _error_from_response(response, action)
            self._refuse_folder(response, path)
            try:
                data = response.content
            except requests.RequestException as exc:
                raise _InterruptedTransfer(_transport_error(exc, action)) from None
        if response.status_code == 200 and "Range" in headers:
            return data[start:end]  # the server ignored the range
        if response.status_code == 206:
            first = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if first and int(first.group(1)) != start:
                raise ArtifactoryError(
                    f"{action}: asked for bytes from {start}, the server sent them from "
                    f"{first.group(1)}"
                )
        return data

    @staticmethod
    def _refuse_folder(response: requests.Response, path: str) -> None:
        """A GET on a folder is redirected to ``folder/`` and answered with an HTML page."""
        if response.history and urlsplit(response.url).path.endswith("/"):
            response.close()
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)

    def get_file(
        self,
        rpath: str,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        """One streamed GET into a temporary file beside ``lpath``, verified, then renamed.

        The size and the checksum (``X-Checksum-Sha256``, else ``-Sha1``) of the
        response are checked; on a mismatch ``lpath`` is left untouched.
        """
        rpath = self._strip_protocol(rpath)
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        if outfile is not None:
            self.download(rpath, outfile, callback=callback)
            return
        lpath = os.fspath(lpath)
        with contextlib.suppress(FileNotFoundError):
            cached = self._cached_info(rpath)
            if cached is not None and cached["type"] == "directory":
                os.makedirs(lpath, exist_ok=True)
                return
        parent = os.path.dirname(os.path.abspath(lpath))
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(
            parent, f".{os.path.basename(lpath)}.fsartifacts-{uuid.uuid4().hex[:12]}.part"
        )
        try:
            with open(staging, "wb") as out:
                try:
                    self.download(rpath, out, callback=callback, restartable=True)
                except IsADirectoryError:
                    out.close()
                    os.makedirs(lpath, exist_ok=True)
                    return
            os.replace(staging, lpath)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging)

    def download(
        self,
        rpath: str,
        out: _Writer,
        *,
        callback: Callback = DEFAULT_CALLBACK,
        restartable: bool = False,
        verify: bool = True,
    ) -> None:
        """Stream ``rpath`` into ``out`` with one GET, checking size and checksum.

        A broken connection is retried (within ``attempts``) when ``restartable``
        says ``out`` may be rewound and truncated. ``verify=False`` skips the
        checksum (the size is still checked), for a caller that hashes what it
        receives and checks it itself: hashing twice costs a core's time.
        """
        rpath = self._strip_protocol(rpath)
        progress = _Progress(callback)
        action = f"download {rpath}"
        for attempt in range(1, self.attempts + 1):
            try:
                self._download_once(rpath, out, progress, action, verify=verify)
                return
            except _InterruptedTransfer as broken:
                if not restartable or attempt == self.attempts:
                    raise broken.error from None
            rewound: Any = out
            rewound.seek(0)
            rewound.truncate()
            time.sleep(_backoff(attempt))

    def _download_once(
        self, rpath: str, out: _Writer, progress: _Progress, action: str, *, verify: bool
    ) -> None:
        response = self._call(
            "GET",
            self._file_url(rpath),
            action,
            stream=True,
            headers={"Accept-Encoding": "identity"},
        )
        with response:
            self._refuse_folder(response, rpath)
            algorithm, expected = (
                self._announced_checksum(response, rpath) if verify else (None, None)
            )
            length = response.headers.get("Content-Length")
            expected_size = int(length) if length and length.isdigit() else None
            if expected_size is not None:
                progress.callback.set_size(expected_size)
            hasher = hashlib.new(algorithm) if algorithm else None
            received = 0
            try:
                for chunk in response.iter_content(DOWNLOAD_CHUNK):
                    out.write(chunk)
                    if hasher:
                        hasher.update(chunk)
                    received += len(chunk)
                    progress.advance_to(received)
            except requests.RequestException as exc:
                raise _InterruptedTransfer(_transport_error(exc, action)) from None
        if expected_size is not None and received != expected_size:
            raise _InterruptedTransfer(
                ArtifactoryConnectionError(
                    f"{action}: the connection ended after {received} of {expected_size} bytes"
                )
            )
        if hasher and hasher.hexdigest() != expected:
            raise ArtifactoryIntegrityError(
                f"{action}: the received bytes have {algorithm} {hasher.hexdigest()}, "
                f"the server announced {expected}; the download was discarded"
            )

    def _announced_checksum(
        self, response: requests.Response, rpath: str
    ) -> tuple[str | None, str | None]:
        for algorithm in ("sha256", "sha1"):
            value = response.headers.get(f"X-Checksum-{algorithm.capitalize()}")
            if value:
                return algorithm, value.strip().lower()
        if response.history:
            # Redirected to a CDN or presigned URL, which sends no checksum: ask Artifactory.
            info = self.info(rpath, refresh=True)
            for algorithm in ("sha256", "sha1"):
                if info.get(algorithm):
                    return algorithm, info[algorithm]
        return None, None

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ArtifactoryFile:
        path = self._strip_protocol(path)
        if "x" in mode and self._exists_on_server(path):
            # A check, not a guarantee: Artifactory has no conditional deploy.
            raise FileExistsError(errno.EEXIST, "already exists", path)
        return ArtifactoryFile(
            self,
            path,
            mode=mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    # -- writes -----------------------------------------------------------------

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        data = bytes(value)
        if mode == "create" and self._exists_on_server(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        size, sha1, sha256 = _digests(io.BytesIO(data))
        self._deploy(path, lambda: io.BytesIO(data), size, sha1, sha256)

    def put_file(
        self,
        lpath: Any,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        sha256: str | None = None,
        sha1: str | None = None,
        hashed_stat: os.stat_result | None = None,
        **kwargs: Any,
    ) -> None:
        """Deploy a local file with its sha1 and sha256, so a corrupted upload is refused.

        Files of 10 KiB or more are first offered by checksum alone: when the
        server already holds the content, no byte is sent.

        ``sha256`` (and ``sha1``), when given, are what the caller hashed
        earlier; a file changed since then is not uploaded
        (:class:`ArtifactoryIntegrityError`). With ``sha256`` alone the file
        is read once first, for its sha1 and to check its sha256. With both,
        it is not read before sending: the server checks every byte against
        them (409 on a mismatch, nothing stored), and ``hashed_stat``, the
        file's ``os.stat`` when it was hashed, refuses before any byte is sent
        a file whose size, mtime or inode changed since.
        """
        rpath = self._strip_protocol(rpath)
        lpath = os.fspath(lpath)
        if mode == "create" and self._exists_on_server(rpath):
            raise FileExistsError(errno.EEXIST, "already exists", rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        if sha256 is not None and sha1 is not None:
            now = os.stat(lpath)
            if hashed_stat is not None and _identity(now) != _identity(hashed_stat):
                raise ArtifactoryIntegrityError(
                    f"upload {rpath}: {lpath} changed since it was hashed (its size, "
                    "modification time or inode differ); nothing was uploaded"
                )
            size, sha1, actual_sha256 = now.st_size, sha1.lower(), sha256.lower()
        else:
            with open(lpath, "rb") as f:
                size, sha1, actual_sha256 = _digests(f)
            if sha256 is not None and sha256.lower() != actual_sha256:
                raise ArtifactoryIntegrityError(
                    f"upload {rpath}: {lpath} changed since it was hashed "
                    f"(sha256 {sha256.lower()}, now {actual_sha256}); nothing was uploaded"
                )

        def reopen() -> _Reader:
            return open(lpath, "rb")  # closed by _put_with_retries

        self._deploy(rpath, reopen, size, sha1, actual_sha256, callback=callback)

    def _deploy(
        self,
        path: str,
        open_body: Callable[[], _Reader],
        size: int,
        sha1: str,
        sha256: str,
        callback: Callback = DEFAULT_CALLBACK,
    ) -> None:
        """PUT a whole file (checksum deploy first when worth it), retrying by reopening."""
        if "/" not in path:
            raise ArtifactoryError(f"cannot write {path!r}: a file needs a repository and a name")
        callback.set_size(size)
        progress = _Progress(callback)
        headers = {"X-Checksum-Sha1": sha1, "X-Checksum-Sha256": sha256}
        url = self._file_url(path)
        action = f"upload {path}"
        try:
            if size >= CHECKSUM_DEPLOY_MIN:
                deployed = self._put_with_retries(
                    url,
                    action,
                    lambda: None,
                    {**headers, "X-Checksum-Deploy": "true"},
                    ok=(200, 201, 404),
                )
                if deployed:
                    progress.advance_to(size)
                    return

            def body() -> _UploadBody:
                return _UploadBody(open_body(), size, progress)

            self._put_with_retries(url, action, body, headers)
        finally:
            self.invalidate_cache(path)

    def _put_with_retries(
        self,
        url: str,
        action: str,
        make_body: Callable[[], _UploadBody | None],
        headers: dict[str, str],
        ok: tuple[int, ...] = (200, 201),
    ) -> bool:
        """PUT, retried on a broken connection or 429/5xx; True for 200/201, False for 404 in ok."""
        for attempt in range(1, self.attempts + 1):
            body = make_body()
            response: requests.Response | None = None
            try:
                response = self._send("PUT", url, action, data=body, headers=headers)
            except (ArtifactoryConnectionError, ArtifactoryTimeoutError) as exc:
                # Not after a failed connect: urllib3 retried that already.
                if exc.retries_exhausted:
                    raise  # a failed connect: urllib3 retried it, and said so
                if attempt == self.attempts:
                    raise _after_tries(exc, attempt) from None
            finally:
                if body is not None:
                    body.close()
            if response is not None:
                if response.status_code in ok:
                    response.close()
                    return response.status_code in (200, 201)
                if response.status_code not in RETRY_STATUSES or attempt == self.attempts:
                    error = _error_from_response(response, action)
                    response.close()
                    raise _after_tries(error, attempt) if attempt > 1 else error
            wait = _retry_after(response)
            if response is not None:
                response.close()
            time.sleep(wait if wait is not None else _backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """``PUT path/``; FileExistsError if it exists (parents are made by the server)."""
        path = self._strip_protocol(path)
        if self.exists(path):
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        if not create_parents and not self.exists(self._parent(path)):
            raise FileNotFoundError(errno.ENOENT, "parent folder does not exist", path)
        self._make_folder(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        try:
            info = self.info(path)
        except FileNotFoundError:
            info = None
        if info is not None:
            if exist_ok and info["type"] == "directory":
                return
            raise FileExistsError(errno.EEXIST, "already exists", path)
        if "/" not in path:
            raise ArtifactoryNotFoundError(
                f"repository {path!r} does not exist; repositories are created by an "
                "Artifactory administrator, not through the filesystem"
            )
        self._make_folder(path)

    def _make_folder(self, path: str) -> None:
        try:
            self._call(
                "PUT", self._file_url(path) + "/", f"create folder {path}", ok=(200, 201)
            ).close()
        finally:
            self.invalidate_cache(path)

    def rm_file(self, path: str) -> None:
        """Delete a file, or an empty folder (``rm(recursive=True)`` deletes full ones)."""
        path = self._strip_protocol(path)
        info = self.info(path)
        if info["type"] == "directory" and self.ls(path, detail=False, refresh=True):
            raise OSError(errno.ENOTEMPTY, "folder is not empty (use recursive=True)", path)
        self._delete(path)

    def _delete(self, path: str) -> None:
        if "/" not in path:
            raise ArtifactoryPermissionError(
                f"refusing to delete repository {path!r}: delete what is inside it instead "
                f"(rm('{path}/*', recursive=True))"
            )
        try:
            self._call("DELETE", self._file_url(path), f"delete {path}", ok=(200, 202, 204)).close()
        finally:
            self.invalidate_cache(path)

    def rmdir(self, path: str) -> None:
        """Delete an empty folder."""
        path = self._strip_protocol(path)
        if self.info(path)["type"] != "directory":
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", path)
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete; a recursive delete of one plain path is one request (the server recurses)."""
        if (
            isinstance(path, str)
            and recursive
            and maxdepth is None
            and not _GLOB_CHARS.search(path)
        ):
            stripped = self._strip_protocol(path)
            if "/" in stripped:
                self._delete(stripped)
                return
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        for p in paths:
            if "/" not in p:  # refuse before deleting anything, not after its contents
                self._delete(p)
        for p in reversed(paths):
            self.rm_file(p)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Server-side copy; else a checksum deploy; else download and upload."""
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        source = self.info(path1)
        if source["type"] == "directory":
            self.makedirs(path2, exist_ok=True)
            return
        try:
            if self._copy_api and self._server_side("copy", path1, path2):
                return
            if not source.get("sha256") or not source.get("sha1"):
                source = self.info(path1, refresh=True)
            if source.get("sha256") and source.get("sha1"):
                headers = {
                    "X-Checksum-Sha1": source["sha1"],
                    "X-Checksum-Sha256": source["sha256"],
                    "X-Checksum-Deploy": "true",
                }
                if self._put_with_retries(
                    self._file_url(path2),
                    f"copy to {path2}",
                    lambda: None,
                    headers,
                    ok=(200, 201, 404),
                ):
                    return
            self._copy_by_streaming(path1, path2)
        finally:
            self.invalidate_cache(path2)

    def _copy_by_streaming(self, path1: str, path2: str) -> None:
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            self.download(path1, spool, restartable=True)
            spool.seek(0)
            size, sha1, sha256 = _digests(spool)
            self._deploy(path2, lambda: _Reopened(spool), size, sha1, sha256)

    def _server_side(self, operation: str, path1: str, path2: str) -> bool:
        """POST /api/copy|move with the exact target; False when the server refuses the API."""
        url = (
            f"{self.url}/api/{operation}/{quote(path1, safe='/')}"
            f"?to=/{quote(path2, safe='/')}&suppressLayouts=1&failFast=1"
        )
        action = f"{operation} {path1} to {path2}"
        response = self._send("POST", url, action)
        with response:
            if response.status_code in (400, 403, 404, 405, 501):
                # OSS ("available only in Artifactory Pro"), or not allowed: do it by hand.
                if response.status_code in (400, 405, 501):
                    self._copy_api = False
                return False
            if response.status_code != 200:
                raise _error_from_response(response, action)
            try:
                body = response.json()
            except ValueError:
                body = {}
        failures = [
            str(m.get("message", ""))
            for m in (body.get("messages") or [])
            if isinstance(m, dict) and str(m.get("level", "")).lower() == "error"
        ]
        if failures:
            raise ArtifactoryError(f"{action}: {'; '.join(failures)}", status=200)
        return True

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Server-side move of one file (or folder, with ``recursive``) to a new name."""
        if (
            isinstance(path1, str)
            and isinstance(path2, str)
            and maxdepth is None
            and self._copy_api
            and not _GLOB_CHARS.search(path1)
        ):
            src = self._strip_protocol(path1)
            dst = self._strip_protocol(path2)
            if src == dst:
                return
            kind = self.info(src)["type"]
            # An existing target folder would receive the source inside it: only move
            # to a free name, so the result is exactly ``dst``.
            free = "/" in dst and not self._exists_on_server(dst)
            if (kind == "file" or recursive) and "/" in src and free:
                try:
                    if self._server_side("move", src, dst):
                        return
                finally:
                    self.invalidate_cache(src)
                    self.invalidate_cache(dst)
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)


class _Reopened(io.RawIOBase):
    """A view of a seekable file from its start whose close() leaves the file open."""

    def __init__(self, raw: Any) -> None:
        raw.seek(0)
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)

    def close(self) -> None:
        pass


class ArtifactoryFile(AbstractBufferedFile):
    """Ranged reads; writes spooled locally and deployed as ONE PUT on commit.

    ``ab`` starts the spool with the current content (Artifactory cannot append).
    A ``with`` block left by an exception discards the file: a half-written
    file is never deployed. (A handle never closed is still deployed when it
    is garbage-collected, as fsspec does: ``open(..., compression=...)``
    relies on that.)
    """

    fs: ArtifactoryFileSystem
    _spool: Any = None

    def _initiate_upload(self) -> None:
        self._spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0
        if self.mode == "ab":
            with contextlib.suppress(FileNotFoundError):
                self.fs.download(self.path, _HashingWriter(self), restartable=False)

    def _upload_chunk(self, final: bool = False) -> bool:
        self.buffer.seek(0)
        writer = _HashingWriter(self)
        shutil.copyfileobj(self.buffer, writer)
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        spool = self._spool
        if spool is None:
            return
        try:
            self.fs._deploy(
                self.path,
                lambda: _Reopened(spool),
                self._size,
                self._sha1.hexdigest(),
                self._sha256.hexdigest(),
            )
        finally:
            self.discard()

    def discard(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True
            return
        self.close()


class _HashingWriter:
    """Writes into a file's spool while hashing and counting."""

    def __init__(self, target: ArtifactoryFile) -> None:
        self._target = target

    def write(self, data: bytes) -> int:
        target = self._target
        target._spool.write(data)
        target._sha1.update(data)
        target._sha256.update(data)
        target._size += len(data)
        return len(data)
